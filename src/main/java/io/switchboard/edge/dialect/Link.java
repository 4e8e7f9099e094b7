package io.switchboard.edge.dialect;

import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RequestTag;
import io.switchboard.signaling.Session;
import io.switchboard.signaling.command.Command;

/**
 * What a {@link Dialect} may do to its connection and the hub. Implemented by each transport
 * (a plain WebSocket, an Engine.IO session). Call only on the connection's own thread.
 */
public interface Link {
  Session session();

  /** Hands a decoded command to the hub. */
  void handle(Command command);

  /** Refuses a request: the client gets {@code code} in its dialect's error form. */
  void reject(ErrorCode code, String message, RequestTag tag);

  /** Writes a protocol message of the dialect's own, after anything already queued. */
  void write(byte[] message, boolean binary);

  /** Closes the connection. */
  void close(CloseReason reason);
}
