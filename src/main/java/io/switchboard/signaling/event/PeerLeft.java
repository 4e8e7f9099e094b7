package io.switchboard.signaling.event;

import io.switchboard.wire.LeaveReason;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

/** Another member left a room the receiver is in. */
public record PeerLeft(RoomId room, PeerId peer, LeaveReason reason) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.peerLeft(this);
  }
}
