package io.switchboard.signaling.port;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.event.PeerResumed;
import java.util.Map;

/**
 * A room event crossing nodes: a relay or a server message (to one peer when {@code to} is set,
 * else to every member), or a membership change. {@code originNode} lets a node drop what it
 * published itself.
 *
 * @param senderSeq the relay's number {@code n} from a resumable sender, 0 for none
 *     (docs/protocol.md, "Numbered relays")
 * @param seqs the number the backplane gave the event for each registered recipient; empty
 *     when there was none, and always empty in what the hub hands to {@link Backplane#publish}
 */
public record BackplaneMessage(String originNode, RoomId room, PeerId to, Event event, long senderSeq,
    Map<PeerId, Long> seqs) {
  public BackplaneMessage {
    if (!(event instanceof Relayed || event instanceof ServerMessage || event instanceof PeerJoined
        || event instanceof PeerLeft || event instanceof PeerReconnecting || event instanceof PeerResumed)) {
      throw new IllegalArgumentException("not a room event: " + event);
    }
  }

  public BackplaneMessage(String originNode, RoomId room, PeerId to, Event event) {
    this(originNode, room, to, event, 0, Map.of());
  }

  /** The same message with the numbers the backplane gave it. */
  public BackplaneMessage numbered(Map<PeerId, Long> numbers) {
    return new BackplaneMessage(originNode, room, to, event, senderSeq, numbers);
  }

  /**
   * The peer the event is about, which never receives it: the sender of a relay, the member of a
   * membership event; null for a server message.
   */
  public PeerId subject() {
    if (event instanceof Relayed r) {
      return r.from();
    } else if (event instanceof PeerJoined j) {
      return j.member().peer();
    } else if (event instanceof PeerLeft l) {
      return l.peer();
    } else if (event instanceof PeerReconnecting r) {
      return r.peer();
    } else if (event instanceof PeerResumed r) {
      return r.peer();
    }
    return null;
  }

  /**
   * Whether a backplane with resume on must number and store this message: a relay numbered by
   * its sender, anything for the whole room (any member may be resumable, including one whose
   * arrival this node has not heard of yet), or anything to a resumable peer. The rest, relays
   * from and to sessions that cannot resume, are sent as they were before resume existed.
   */
  public boolean needsNumbering() {
    return senderSeq > 0 || to == null || to.resumable();
  }
}
