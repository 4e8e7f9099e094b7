package io.switchboard.edge.dialect;

import io.switchboard.signaling.event.Event;

/**
 * One client's wire protocol: turns its messages into hub commands and the hub's events into
 * its messages. One instance per connection, so a dialect may keep per-client protocol state
 * (a login name, the rooms it was told of). Every method runs on the connection's own thread.
 *
 * <p>Its {@link #encoder} is an {@link Event.Visitor}: it must say, for every kind of event, which
 * message (or none) the client gets, so a new kind of event does not compile until each dialect
 * has decided. The encoder only encodes; what an event changes in the dialect's own state, or
 * makes it do, happens in {@link #delivered}, after the message went out.
 *
 * <p>The connection has already applied the size and rate limits before {@link #receive}.
 */
public interface Dialect {
  /** The connection is open and the hub knows its session. */
  default void opened() {}

  /** One whole message from the client. */
  void receive(byte[] message, boolean binary);

  /** For each kind of event, the message that tells this client of it, or null for none. No side effects. */
  Event.Visitor<byte[]> encoder();

  /** The message that tells this client about {@code event}, or null when it needs none. */
  default byte[] encode(Event event) {
    return event.accept(encoder());
  }

  /** Whether {@link #encode}'s result for {@code event} goes out as a binary message. */
  default boolean binary(Event event) {
    return false;
  }

  /**
   * After {@code event}'s message (if any) was written: what the event changes for this
   * dialect (a login completed, a room joined) and what it makes the dialect do next.
   */
  default void delivered(Event event) {}

  /** The client is going away; runs before the hub takes the session out of its rooms. */
  default void closing() {}
}
