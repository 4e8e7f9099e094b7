package io.switchboard.signaling.event;

import io.switchboard.wire.RequestTag;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import java.util.List;

/** Reply to a join: the joiner's id and the members already in the room (never the joiner). */
public record Joined(RoomId room, PeerId peer, List<Member> peers, RequestTag tag) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.joined(this);
  }

  public Joined {
    peers = List.copyOf(peers);
  }
}
