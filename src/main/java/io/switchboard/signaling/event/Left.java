package io.switchboard.signaling.event;

import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RoomId;

/** Reply to a leave. */
public record Left(RoomId room, RequestTag tag) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.left(this);
  }
}
