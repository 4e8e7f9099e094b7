package io.switchboard.signaling.event;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;

/** A signal relayed from {@code from}; {@code data} is the sender's bytes, unchanged. */
public record Relayed(RelayKind kind, RoomId room, PeerId from, RawJson data) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.relayed(this);
  }
}
