package io.switchboard.signaling.command;

import io.switchboard.wire.RoomId;

/** Leave {@code room}. */
public record Leave(RoomId room, String requestId) implements Command {}
