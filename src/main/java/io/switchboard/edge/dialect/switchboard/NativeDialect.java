package io.switchboard.edge.dialect.switchboard;

import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.Link;
import io.switchboard.signaling.ErrorCode;
import io.switchboard.signaling.SignalingException;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.event.Event;

/** The native protocol at {@code /ws} (docs/protocol.md). */
public final class NativeDialect implements Dialect {
  private static final NativeCodec CODEC = new NativeCodec();

  private final Link link;

  public NativeDialect(Link link) {
    this.link = link;
  }

  @Override
  public void receive(byte[] message, boolean binary) {
    if (binary) {
      link.reject(ErrorCode.BINARY_NOT_SUPPORTED, ErrorCode.BINARY_NOT_SUPPORTED.defaultMessage(), null);
      return;
    }
    Command command;
    try {
      command = CODEC.decode(message);
    } catch (SignalingException e) {
      link.reject(e.code(), e.getMessage(), e.requestId());
      return;
    }
    link.handle(command);
  }

  @Override
  public byte[] encode(Event event) {
    return CODEC.encode(event);
  }
}
