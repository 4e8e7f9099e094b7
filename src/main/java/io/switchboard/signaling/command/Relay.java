package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

/**
 * Relay {@code data} to peer {@code to} of {@code room}, or to every other member when
 * {@code to} is null. {@code data} is the sender's exact bytes, never parsed.
 */
public record Relay(RelayKind kind, RoomId room, PeerId to, RawJson data, RequestTag tag, long n) implements Command {
  /** A relay without a number {@code n} (docs/protocol.md, "Numbered relays"). */
  public Relay(RelayKind kind, RoomId room, PeerId to, RawJson data, RequestTag tag) {
    this(kind, room, to, data, tag, 0);
  }

  @Override
  public <A> void accept(Command.Visitor<A> visitor, A argument) {
    visitor.relay(this, argument);
  }
}
