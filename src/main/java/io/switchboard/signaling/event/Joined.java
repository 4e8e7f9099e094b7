package io.switchboard.signaling.event;

import io.switchboard.signaling.Member;
import io.switchboard.signaling.PeerId;
import io.switchboard.signaling.RoomId;
import java.util.List;

/** Reply to a join: the joiner's id and the members already in the room (never the joiner). */
public record Joined(RoomId room, PeerId peer, List<Member> peers, String requestId) implements Event {
  public Joined {
    peers = List.copyOf(peers);
  }
}
