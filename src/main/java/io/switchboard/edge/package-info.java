/**
 * Sockets and HTTP only: the WebSocket endpoint, health probes and metrics, and the dialects that
 * turn frames into commands and events into frames. No signaling rules live here.
 */
package io.switchboard.edge;
