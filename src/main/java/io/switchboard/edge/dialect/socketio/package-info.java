/**
 * Socket.IO packets carrying peer-data's {@code SignalingEvent}s, over the Engine.IO transport
 * of {@link io.switchboard.edge.engineio}.
 */
package io.switchboard.edge.dialect.socketio;
