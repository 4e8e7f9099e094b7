package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;

/** The client processed every numbered event up to {@code seq}; no reply. */
public record Ack(long seq) implements Command {
  @Override
  public RequestTag tag() {
    return null;
  }

  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.ack(this, argument);
  }
}
