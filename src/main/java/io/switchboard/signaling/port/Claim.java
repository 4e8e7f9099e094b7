package io.switchboard.signaling.port;

import io.switchboard.wire.RoomMeta;
import java.util.List;

/**
 * A session taken over by this node ({@link Backplane#claim}): its new epoch, the highest relay
 * number {@code n} it had accepted from the client, its rooms with its meta in each, and when
 * its gap began (epoch millis; 0 when it was not in one: its old socket was still thought open).
 */
public record Claim(long epoch, long acked, List<RoomMeta> rooms, long gapSinceMillis) {}
