/**
 * A small Engine.IO server (protocol versions 3 and 4) on Vert.x: the polling handshake,
 * long-polling, the upgrade to WebSocket and heartbeats. It carries message packets for a
 * dialect and knows nothing of Socket.IO above it.
 */
package io.switchboard.edge.engineio;
