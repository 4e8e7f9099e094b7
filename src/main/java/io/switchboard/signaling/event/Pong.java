package io.switchboard.signaling.event;

import io.switchboard.wire.RequestTag;
/** Reply to an application-level ping. */
public record Pong(RequestTag tag) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.pong(this);
  }
}
