package io.switchboard.security;

import io.switchboard.signaling.Identity;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An admitted client: who it is, when its connection must be closed because its token has
 * expired ({@link Long#MAX_VALUE} for never; epoch milliseconds), and the connection slot it
 * holds, given back by {@link #release} exactly once whatever calls it.
 */
public final class Ticket {
  private final Identity identity;
  private final long closeAtMillis;
  private final Runnable onRelease;
  private final AtomicBoolean released = new AtomicBoolean();

  public Ticket(Identity identity, long closeAtMillis, Runnable onRelease) {
    this.identity = identity;
    this.closeAtMillis = closeAtMillis;
    this.onRelease = onRelease;
  }

  public Identity identity() {
    return identity;
  }

  /** When the token has expired, grace period included: the connection must close then. */
  public long closeAtMillis() {
    return closeAtMillis;
  }

  /** Whether the token has expired (grace included) at {@code nowMillis}. */
  public boolean expired(long nowMillis) {
    return nowMillis >= closeAtMillis;
  }

  /** Gives back the connection's slots; later calls do nothing. Any thread. */
  public void release() {
    if (released.compareAndSet(false, true)) {
      onRelease.run();
    }
  }
}
