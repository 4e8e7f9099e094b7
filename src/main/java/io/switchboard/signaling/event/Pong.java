package io.switchboard.signaling.event;

import io.switchboard.wire.RequestTag;
/**
 * Reply to an application-level ping; {@code acked} is the highest relay number accepted from a
 * resumable session, -1 for any other.
 */
public record Pong(RequestTag tag, long acked) implements Event {
  public Pong(RequestTag tag) {
    this(tag, -1);
  }

  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.pong(this);
  }
}
