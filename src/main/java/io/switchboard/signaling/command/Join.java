package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RoomId;

/**
 * Join {@code room}; {@code metaJson} is the raw JSON object shown to other members, or null.
 * {@code capacity} caps the room's members when the join is the one that counts, or is 0 for
 * the configured room size (a dialect may use 1 to make a room a cluster-wide name lock).
 * {@code grantName} is the room's name as the client chose it, which the {@code rooms} claim of
 * its token must allow: a dialect whose rooms are scoped passes the client's name; by default it
 * is the room id itself, which for a scoped room no claim pattern but {@code *} matches.
 */
public record Join(RoomId room, String metaJson, RequestTag tag, int capacity, String grantName) implements Command {
  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.join(this, argument);
  }

  public Join(RoomId room, String metaJson, RequestTag tag) {
    this(room, metaJson, tag, 0, room.value());
  }

  public Join(RoomId room, String metaJson, RequestTag tag, int capacity) {
    this(room, metaJson, tag, capacity, room.value());
  }

  /** The same join with {@code metaJson} in place of the client's. */
  public Join withMeta(String metaJson) {
    return new Join(room, metaJson, tag, capacity, grantName);
  }
}
