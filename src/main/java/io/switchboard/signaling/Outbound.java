package io.switchboard.signaling;

import io.switchboard.wire.CloseReason;

import io.switchboard.signaling.event.Event;

/**
 * The way back to one client, implemented by the edge for each socket.
 *
 * <p>Thread-safe: any thread may call any method. Both methods hand the work to the thread that
 * owns the socket and return at once; calls from one thread take effect in the order they were
 * made, which is what keeps a room's membership events and relays in order for each receiver.
 */
public interface Outbound {
  /** Queues {@code event} for the client. Silently dropped once the socket is closed. */
  void send(Event event);

  /** Closes the socket with {@code reason}; the hub is told through its normal close path. */
  void close(CloseReason reason);

  /**
   * Closes the socket because an operator asked to (the server API), with an application close
   * {@code code} (4000-4999) and {@code reason}; counted as {@link CloseReason#DISCONNECTED}. A
   * transport whose clients see no close codes closes as {@link CloseReason#DISCONNECTED}.
   */
  default void disconnect(int code, String reason) {
    close(CloseReason.DISCONNECTED);
  }

  /** Runs {@code task} on the thread that owns this socket, after work already queued there. */
  void execute(Runnable task);
}
