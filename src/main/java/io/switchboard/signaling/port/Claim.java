package io.switchboard.signaling.port;

import io.switchboard.wire.RoomId;
import java.util.List;

/**
 * A session taken over by this node ({@link Backplane#claim}): its new epoch, the highest relay
 * number {@code n} it had accepted from the client, its rooms with its meta in each, and when
 * its gap began (epoch millis; 0 when it was not in one: its old socket was still thought open).
 */
public record Claim(long epoch, long acked, List<ClaimedRoom> rooms, long gapSinceMillis) {
  /** One room of a resumed session, with the session's own meta there (raw JSON object). */
  public record ClaimedRoom(RoomId room, String metaJson) {}
}
