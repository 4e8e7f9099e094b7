package io.switchboard.signaling.port;

import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

/**
 * A member removed because its session ended in its gap ({@link Backplane#expire}): its rooms
 * hear {@code peer-left} with {@code reason} ({@code expired} or {@code overflow}).
 */
public record Expired(RoomId room, PeerId peer, LeaveReason reason) {}
