package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;

import io.switchboard.wire.RoomId;

/**
 * Deliver {@code data} to every member of {@code room}, which the sender need not be in: how a
 * dialect reaches a peer by something other than its peer id (the holder of a name is the one
 * member of that name's room). {@code data} goes out unchanged. Deliveries from one session
 * arrive in the order they were sent; with nobody in the room the sender gets
 * {@code peer-not-found}.
 */
public record Deliver(RelayKind kind, RoomId room, RawJson data, RequestTag tag) implements Command {
  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.deliver(this, argument);
  }
}
