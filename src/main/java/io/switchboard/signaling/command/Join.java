package io.switchboard.signaling.command;

import io.switchboard.signaling.RoomId;

/** Join {@code room}; {@code metaJson} is the raw JSON object shown to other members, or null. */
public record Join(RoomId room, String metaJson, String requestId) implements Command {}
