package io.switchboard.edge.dialect.relay;

import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.Link;
import io.switchboard.edge.dialect.switchboard.NativeCodec;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RoomId;
import io.switchboard.signaling.command.Join;
import io.switchboard.wire.RawJson;
import io.switchboard.signaling.command.Relay;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.Relayed;
import java.util.ArrayList;
import java.util.List;

/**
 * The broadcast relay at {@code /relay/{room}} (docs/dialects.md): every message a client sends,
 * text or binary, goes unchanged to every other client of the same room on any node. The socket
 * joins its room when it opens; messages sent before the join completes are held and then sent.
 */
public final class RelayDialect implements Dialect {
  /** Messages held while the join is in flight; more than this is refused as a flood. */
  static final int MAX_HELD = 32;

  private static final String JOIN = "relay-join";
  private static final NativeCodec ERRORS = new NativeCodec();

  private final Link link;
  private final RoomId room;
  private final String name;
  private boolean joined;
  private List<Held> held = new ArrayList<>();

  /** @param room the room of the path segment {@code name} ({@link #room(String)}) */
  public RelayDialect(Link link, RoomId room, String name) {
    this.link = link;
    this.room = room;
    this.name = name;
  }

  /** The room of path segment {@code name}, or null when it is not a valid room name. */
  public static RoomId room(String name) {
    return RoomId.isValid(name) ? RoomId.scoped("relay", name) : null;
  }

  @Override
  public void opened() {
    link.handle(new Join(room, null, JOIN, 0, name));
  }

  @Override
  public void receive(byte[] message, boolean binary) {
    if (joined) {
      relay(message, binary);
    } else if (held.size() < MAX_HELD) {
      held.add(new Held(message, binary));
    } else {
      link.reject(ErrorCode.RATE_LIMITED, "too many messages before the room was joined", null);
    }
  }

  private void relay(byte[] message, boolean binary) {
    link.handle(new Relay(binary ? RelayKind.BINARY : RelayKind.SIGNAL, room, null,
        new RawJson(message, 0, message.length), null));
  }

  @Override
  public byte[] encode(Event event) {
    if (event instanceof Relayed relayed) {
      return relayed.data().bytes();
    }
    if (event instanceof Joined j && JOIN.equals(j.requestId())) {
      joined = true;
      for (Held message : held) {
        relay(message.bytes, message.binary);
      }
      held = List.of();
      return null;
    }
    if (event instanceof ErrorReply error) {
      if (JOIN.equals(error.requestId())) {
        link.close(error.code() == ErrorCode.ROOM_FULL ? CloseReason.ROOM_FULL : CloseReason.INTERNAL);
      }
      return ERRORS.encode(new ErrorReply(error.code(), error.message(), null));
    }
    return null; // no welcome and no membership events: the seed's clients expect only relays
  }

  @Override
  public boolean binary(Event event) {
    return event instanceof Relayed r && r.kind() == RelayKind.BINARY;
  }

  private record Held(byte[] bytes, boolean binary) {}
}
