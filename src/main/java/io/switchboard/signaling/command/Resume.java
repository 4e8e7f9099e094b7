package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;

/**
 * Continue the session of {@code token} on this socket, after the numbered event {@code lastSeq}
 * the client processed last (docs/protocol.md, "Resume"). Only as a socket's first command.
 */
public record Resume(String token, long lastSeq, RequestTag tag) implements Command {
  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.resume(this, argument);
  }
}
