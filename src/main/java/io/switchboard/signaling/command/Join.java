package io.switchboard.signaling.command;

import io.switchboard.signaling.RoomId;

/**
 * Join {@code room}; {@code metaJson} is the raw JSON object shown to other members, or null.
 * {@code capacity} caps the room's members when the join is the one that counts, or is 0 for
 * the configured room size (a dialect may use 1 to make a room a cluster-wide name lock).
 */
public record Join(RoomId room, String metaJson, String requestId, int capacity) implements Command {
  public Join(RoomId room, String metaJson, String requestId) {
    this(room, metaJson, requestId, 0);
  }
}
