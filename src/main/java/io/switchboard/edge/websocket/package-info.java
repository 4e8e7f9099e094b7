/**
 * RFC 6455 at the edge, for every transport that upgrades to a WebSocket (the dialects' sockets
 * and Engine.IO's): the checks of an upgrade request and the strictness of frames.
 */
package io.switchboard.edge.websocket;
