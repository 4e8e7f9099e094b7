/**
 * Sockets and HTTP only: the WebSocket endpoints, the Engine.IO endpoint, health probes and
 * metrics, and the dialects that turn each wire protocol's messages into hub commands and the
 * hub's events back into messages. No signaling rules live here.
 */
package io.switchboard.edge;
