package io.switchboard.edge.dialect.switchboard;

import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.Link;
import io.switchboard.wire.ErrorCode;
import io.switchboard.signaling.Identity;
import io.switchboard.wire.SignalingException;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.event.Event;
import io.vertx.core.json.JsonObject;

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
      link.reject(e.code(), e.getMessage(), e.tag());
      return;
    }
    if (command instanceof Join join) {
      Identity identity = link.session().identity();
      if (identity.verified()) {
        command = join.withMeta(withSubject(join.metaJson(), identity.subject()));
      }
    }
    link.handle(command);
  }

  /**
   * {@code meta} with {@code sub} set by the server: the token's subject first, or no
   * {@code sub} at all when the token has none, so that no client can claim to be someone else.
   * Only when authentication is on; a join is rare enough for a tree.
   */
  static String withSubject(String meta, String subject) {
    JsonObject given = meta == null ? new JsonObject() : new JsonObject(meta);
    JsonObject stamped = new JsonObject();
    if (subject != null) {
      stamped.put("sub", subject);
    }
    given.forEach(field -> {
      if (!field.getKey().equals("sub")) {
        stamped.put(field.getKey(), field.getValue());
      }
    });
    return stamped.encode();
  }

  @Override
  public Event.Visitor<byte[]> encoder() {
    return NativeCodec.ENCODER; // every event has a native message
  }
}
