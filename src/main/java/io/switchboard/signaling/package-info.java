/**
 * The signaling core, plain Java: sessions, rooms, routing rules, limits and error codes. No
 * sockets, HTTP or Redis types here; the edge feeds it commands and the backplane links nodes.
 */
package io.switchboard.signaling;
