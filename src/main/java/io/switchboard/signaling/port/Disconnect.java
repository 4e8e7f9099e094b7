package io.switchboard.signaling.port;

import io.switchboard.wire.PeerId;

/**
 * An operator's request to close {@code peer}'s connection, on whichever node holds it, with the
 * WebSocket close {@code code} and {@code reason} its client will see.
 */
public record Disconnect(PeerId peer, int code, String reason) {}
