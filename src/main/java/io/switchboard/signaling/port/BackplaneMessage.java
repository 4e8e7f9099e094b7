package io.switchboard.signaling.port;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;

/**
 * A room event crossing nodes: a relay or a server message (to one peer when {@code to} is set,
 * else to every member), or a membership change. {@code originNode} lets a node drop what it published itself.
 */
public record BackplaneMessage(String originNode, RoomId room, PeerId to, Event event) {
  public BackplaneMessage {
    if (!(event instanceof Relayed || event instanceof ServerMessage || event instanceof PeerJoined || event instanceof PeerLeft)) {
      throw new IllegalArgumentException("not a room event: " + event);
    }
  }
}
