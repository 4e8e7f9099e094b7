package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;

/** The client processed every numbered event up to {@code seq}; no reply. */
public record Ack(long seq) implements Command {
  @Override
  public RequestTag tag() {
    return null;
  }

  /**
   * Acks are cumulative and idempotent, and count only events this socket was already given: one
   * that overtakes a command in flight is as good as one behind it, and never fills the queue
   * (a refused ack would leave the client an error to explain).
   */
  @Override
  public boolean waitsForEarlier() {
    return false;
  }

  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.ack(this, argument);
  }
}
