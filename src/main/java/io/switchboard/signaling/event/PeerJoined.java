package io.switchboard.signaling.event;

import io.switchboard.wire.Member;
import io.switchboard.wire.RoomId;

/** Another member joined a room the receiver is in. */
public record PeerJoined(RoomId room, Member member) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.peerJoined(this);
  }
}
