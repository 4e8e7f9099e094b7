package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RoomId;

/** Leave {@code room}. */
public record Leave(RoomId room, RequestTag tag) implements Command {
  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.leave(this, argument);
  }
}
