package io.switchboard.edge.dialect.relay;

import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.WithoutResume;
import io.switchboard.edge.dialect.Link;
import io.switchboard.edge.dialect.switchboard.NativeCodec;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Relay;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.Left;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Pong;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import io.switchboard.signaling.event.Welcome;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RoomId;

/**
 * The broadcast relay at {@code /relay/{room}} (docs/dialects.md): every message a client sends,
 * text or binary, goes unchanged to every other client of the same room on any node. The socket
 * joins its room before its upgrade completes (the edge waits for the join), so for its client,
 * as for the seed server's, being connected is being in the room.
 */
public final class RelayDialect implements Dialect, WithoutResume {
  /** The tag of the join every relay socket makes when it opens. */
  enum Tag implements RequestTag { OPENING_JOIN }

  private static final NativeCodec ERRORS = new NativeCodec();

  private final Link link;
  private final RoomId room;
  private final String name;

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
    link.handle(new Join(room, null, Tag.OPENING_JOIN, 0, name));
  }

  @Override
  public Event.Visitor<byte[]> encoder() {
    return this;
  }

  @Override
  public void receive(byte[] message, boolean binary) {
    link.handle(new Relay(binary ? RelayKind.BINARY : RelayKind.SIGNAL, room, null,
        new RawJson(message, 0, message.length), null));
  }

  @Override
  public boolean binary(Event event) {
    return event instanceof Relayed r && r.kind() == RelayKind.BINARY;
  }

  @Override
  public void delivered(Event event) {
    if (event instanceof ErrorReply error && error.tag() == Tag.OPENING_JOIN) {
      link.close(error.code() == ErrorCode.ROOM_FULL ? CloseReason.ROOM_FULL : CloseReason.INTERNAL);
    }
  }

  // The seed's clients expect only relays: no welcome, roster or membership events.

  @Override
  public byte[] relayed(Relayed relayed) {
    return relayed.data().bytes();
  }

  // The relay protocol has no envelope, so the server's data arrives as a text frame like a
  // client's message (docs/dialects.md).
  @Override
  public byte[] serverMessage(ServerMessage serverMessage) {
    return serverMessage.data().bytes();
  }

  @Override
  public byte[] error(ErrorReply error) {
    return ERRORS.encode(new ErrorReply(error.code(), error.message(), null));
  }

  @Override
  public byte[] welcome(Welcome welcome) {
    return null;
  }

  @Override
  public byte[] joined(Joined joined) {
    return null;
  }

  @Override
  public byte[] peerJoined(PeerJoined peerJoined) {
    return null;
  }

  @Override
  public byte[] left(Left left) {
    return null;
  }

  @Override
  public byte[] peerLeft(PeerLeft peerLeft) {
    return null;
  }

  @Override
  public byte[] pong(Pong pong) {
    return null;
  }
}
