package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;
/** Application-level keep-alive; answered with a pong. */
public record Ping(RequestTag tag) implements Command {
  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.ping(this, argument);
  }
}
