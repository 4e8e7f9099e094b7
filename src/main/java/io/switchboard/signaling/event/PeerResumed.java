package io.switchboard.signaling.event;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

/** A member that was reconnecting is back, with the same peer id. */
public record PeerResumed(RoomId room, PeerId peer) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.peerResumed(this);
  }
}
