package io.switchboard.signaling.event;

import io.switchboard.wire.RequestTag;
import io.switchboard.wire.ErrorCode;

/** A request was refused. {@code message} is for humans; clients act on {@code code}. */
public record ErrorReply(ErrorCode code, String message, RequestTag tag) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.error(this);
  }
}
