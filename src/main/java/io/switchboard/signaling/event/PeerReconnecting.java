package io.switchboard.signaling.event;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

/** Another member's socket dropped and it may resume: it stays a member for now (docs/protocol.md, "Resume"). */
public record PeerReconnecting(RoomId room, PeerId peer) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.peerReconnecting(this);
  }
}
