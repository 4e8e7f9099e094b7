package io.switchboard.edge;

import java.util.concurrent.TimeUnit;

/**
 * What the log says of one event loop's overloads ({@link OverloadShedder}): a line when the loop
 * falls behind, and one when it has caught up that counts what it refused and closed meanwhile.
 * The metrics count every refusal, but an operator reading the log of a pod that took a
 * reconnect storm cold must also see that it turned sockets away, and when. A loop near its limit
 * may fall behind and catch up again every second, so at most one episode per {@link #QUIET_NANOS}
 * is logged; the closing line of a logged episode also counts the episodes left unlogged since
 * the last closing line. One instance per event loop, used on that loop only.
 */
final class OverloadReport {
  /** At most one logged episode in this time. */
  static final long QUIET_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** What a closing line says: everything since the last closing line. */
  record Summary(int episodes, long overloadedMillis, long refused, long closed) {}

  private long lastLoggedNanos;
  private boolean loggedBefore;
  private boolean logging;
  private long beganNanos;
  private int episodes;
  private long overloadedNanos;
  private long refused;
  private long closed;

  /** The loop fell behind at {@code nowNanos}. Returns whether to log it. */
  boolean began(long nowNanos) {
    beganNanos = nowNanos;
    episodes++;
    logging = !loggedBefore || nowNanos - lastLoggedNanos >= QUIET_NANOS;
    if (logging) {
      loggedBefore = true;
      lastLoggedNanos = nowNanos;
    }
    return logging;
  }

  /** A new socket refused while behind. */
  void refused() {
    refused++;
  }

  /** Sockets closed with 1013 while behind. */
  void closed(int sockets) {
    closed += sockets;
  }

  /**
   * The loop caught up at {@code nowNanos}. Returns the closing line's figures when the episode
   * was logged, else null (its figures go into the next closing line).
   */
  Summary ended(long nowNanos) {
    overloadedNanos += nowNanos - beganNanos;
    if (!logging) {
      return null;
    }
    Summary summary = new Summary(episodes, TimeUnit.NANOSECONDS.toMillis(overloadedNanos), refused, closed);
    episodes = 0;
    overloadedNanos = 0;
    refused = 0;
    closed = 0;
    logging = false;
    return summary;
  }
}
