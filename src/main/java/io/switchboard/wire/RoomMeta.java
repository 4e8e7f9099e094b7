package io.switchboard.wire;

/** A room a session is in, with the session's own meta there (a raw JSON object). */
public record RoomMeta(RoomId room, String metaJson) {}
