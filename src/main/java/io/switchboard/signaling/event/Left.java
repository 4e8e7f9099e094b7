package io.switchboard.signaling.event;

import io.switchboard.wire.RoomId;

/** Reply to a leave. */
public record Left(RoomId room, String requestId) implements Event {}
