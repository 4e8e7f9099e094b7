package io.switchboard.signaling.event;

import io.switchboard.wire.RoomMeta;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RequestTag;
import java.util.List;

/**
 * The reply to a successful resume: the session's peer id, its rooms with its meta, the highest
 * relay number accepted from the client and the token for the next resume.
 */
public record Resumed(PeerId peer, List<RoomMeta> rooms, long acked, String token, RequestTag tag)
    implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.resumed(this);
  }
}
