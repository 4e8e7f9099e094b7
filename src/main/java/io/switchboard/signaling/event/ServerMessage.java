package io.switchboard.signaling.event;

import io.switchboard.wire.RawJson;
import io.switchboard.wire.RoomId;

/**
 * A message from the server itself (an operator or backend, through the server API) to the
 * members of {@code room}: {@code data} is any JSON value, carried as its bytes. No peer sent it,
 * so no dialect may present it as coming from one.
 */
public record ServerMessage(RoomId room, RawJson data) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.serverMessage(this);
  }
}
