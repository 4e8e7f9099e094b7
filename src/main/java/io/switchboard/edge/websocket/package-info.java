/**
 * RFC 6455 at the edge, for every transport that upgrades to a WebSocket (the dialects' sockets
 * and Engine.IO's): the checks of an upgrade request, the strictness of frames, the upgrade's
 * response sent with the first message, and what Vert.x keeps per socket that Switchboard lets go.
 */
package io.switchboard.edge.websocket;
