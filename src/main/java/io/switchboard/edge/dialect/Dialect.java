package io.switchboard.edge.dialect;

import io.switchboard.signaling.event.Event;

/**
 * One client's wire protocol: turns its messages into hub commands and the hub's events into
 * its messages. One instance per connection, so a dialect may keep per-client protocol state
 * (a login name, a pending join). Every method runs on the connection's own thread.
 *
 * <p>The connection has already applied the size and rate limits before {@link #receive}.
 */
public interface Dialect {
  /** The connection is open and the hub knows its session. */
  default void opened() {}

  /** One whole message from the client. */
  void receive(byte[] message, boolean binary);

  /** The message that tells this client about {@code event}, or null when it needs none. */
  byte[] encode(Event event);

  /** Whether {@link #encode}'s result for {@code event} goes out as a binary message. */
  default boolean binary(Event event) {
    return false;
  }

  /** The client is going away; runs before the hub takes the session out of its rooms. */
  default void closing() {}
}
