package io.switchboard.edge;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Decides, for one event loop, when it is overloaded and which of its sockets to close so that
 * it catches up (docs/operations.md, "Overload").
 *
 * <p>An event loop that receives more than it can relay does not fail: the kernel holds what it
 * has not read yet and TCP slows the senders. But every client then waits behind everyone else's
 * backlog, the well-behaved ones included (over a second at twice a loop's capacity,
 * docs/performance.md). Refusing each message with an error frame costs the loop about what
 * relaying it would have, so it frees nothing; closing a socket frees everything that socket
 * would still have sent. So an overloaded loop closes its heaviest senders with 1013 ("try
 * again later"), a share at a time, and refuses new sockets with 503 until it has caught up. A
 * resumable session closed so keeps its gap: its client resumes, through the Service, on a node
 * with room.
 *
 * <p>The loop's lag is measured by a timer that should fire every {@link #PROBE_MILLIS}: how late
 * it fires is how long everything else on the loop waits. A loop that has fallen behind may take
 * a second or more to get back to its timers (it reads everything that arrived meanwhile first),
 * so the sockets also look at the clock as they receive ({@link #behind}), and a socket that
 * finds the probe overdue by the limit makes the observation the timer could not. The verticle
 * owns the timer; this class is only the decision, so that tests can drive it observation by
 * observation. One instance per event loop, used on that loop only.
 */
final class OverloadShedder<S extends OverloadShedder.Sender> {
  /** What the shedder needs of a socket. */
  interface Sender {
    /** Messages received lately: over the last one or two sweeps of the verticle (about 1-2 s). */
    int recentMessages();

    /** False once the socket is closing: it is no longer a candidate. */
    boolean open();
  }

  /** How often the lag is measured while the loop keeps up. */
  static final long PROBE_MILLIS = 50;
  private static final long PROBE_NANOS = TimeUnit.MILLISECONDS.toNanos(PROBE_MILLIS);
  /**
   * Consecutive late probes that make the loop overloaded: a single GC pause never does. More
   * would be too slow: a loop that has fallen behind reads, in each turn, everything that arrived
   * during the turn before, so at twice its capacity the lag doubles with every turn.
   */
  static final int LATE_PROBES = 2;
  /** At most one round (a pass over the loop's sockets) in this time, however late the probes. */
  static final long ROUND_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  /** After closing sockets, how long the loop gets to show their effect before more are closed. */
  static final long SETTLE_NANOS = TimeUnit.SECONDS.toNanos(3);
  /** A round closes at most this share (1/n) of the sockets that sent anything in it. */
  static final int ROUND_SHARE = 4;
  /** Fewer recent messages than this never make a socket a candidate. */
  static final int MIN_MESSAGES = 4;

  private final long lagLimitNanos;
  private long dueNanos;
  private int lateProbes;
  private boolean overloaded;
  private long lastRoundNanos;
  private long lastShedLagNanos;
  private long lastShedNanos;

  /** @param lagLimitNanos a probe this late counts as late; 0 turns shedding off */
  OverloadShedder(long lagLimitNanos) {
    this.lagLimitNanos = lagLimitNanos;
  }

  boolean enabled() {
    return lagLimitNanos > 0;
  }

  /** Whether the loop is behind: new sockets are refused meanwhile. */
  boolean overloaded() {
    return overloaded;
  }

  /** The next probe is due at {@code nanos}. */
  void due(long nanos) {
    dueNanos = nanos;
  }

  /** Whether, at {@code nowNanos}, the probe is overdue by the limit: an observation to make now. */
  boolean behind(long nowNanos) {
    return enabled() && nowNanos - dueNanos >= lagLimitNanos;
  }

  /**
   * An observation at {@code nowNanos}, by the timer or by a socket that found the loop {@link
   * #behind}: as {@link #probe} with the lateness against the probe's due time, which then moves
   * {@link #PROBE_MILLIS} on, so that the next observation is another one.
   */
  List<S> observe(long nowNanos, Collection<S> senders) {
    if (nowNanos - dueNanos < 0) {
      // A socket has made an observation since the timer was armed: the timer, run at last in
      // the same turn, must not count as a probe that came on time.
      return List.of();
    }
    long late = nowNanos - dueNanos;
    dueNanos = nowNanos + PROBE_NANOS;
    return probe(late, nowNanos, senders);
  }

  /**
   * One probe that fired {@code lateNanos} after it was due, at {@code nowNanos}. Returns the
   * senders to close now, heaviest first; usually none.
   */
  List<S> probe(long lateNanos, long nowNanos, Collection<S> senders) {
    if (!enabled() || lateNanos < lagLimitNanos) {
      lateProbes = 0;
      overloaded = false;
      return List.of();
    }
    if (++lateProbes < LATE_PROBES) {
      return List.of();
    }
    if (!overloaded) {
      overloaded = true;
      lastRoundNanos = nowNanos - ROUND_NANOS;
      lastShedLagNanos = 0;
    }
    if (nowNanos - lastRoundNanos < ROUND_NANOS) {
      return List.of();
    }
    // A loop that sheds too little falls further behind with every turn: twice as far as when it
    // last closed sockets says so at once. Otherwise the closes get time to show, since the
    // backlog read meanwhile keeps the lag up for a while; after that, a loop that is less
    // behind than when it last closed sockets is working off its backlog, and closing more
    // would only overshoot.
    boolean fallingFurther = lateNanos >= 2 * lastShedLagNanos;
    boolean settled = nowNanos - lastShedNanos >= SETTLE_NANOS && lateNanos >= lastShedLagNanos;
    if (lastShedLagNanos > 0 && !fallingFurther && !settled) {
      return List.of();
    }
    lastRoundNanos = nowNanos;
    List<Counted<S>> active = new ArrayList<>();
    long total = 0;
    for (S sender : senders) {
      int recent = sender.open() ? sender.recentMessages() : 0;
      if (recent > 0) {
        active.add(new Counted<>(sender, recent));
        total += recent;
      }
    }
    if (active.isEmpty()) {
      return List.of();
    }
    long mean = total / active.size();
    int budget = (active.size() + ROUND_SHARE - 1) / ROUND_SHARE;
    List<S> shed = new ArrayList<>(budget);
    active.sort((a, b) -> Integer.compare(b.recent, a.recent));
    for (Counted<S> c : active) {
      // Only those sending at least their share: a client that sends little is never the cause.
      if (shed.size() == budget || c.recent < MIN_MESSAGES || c.recent < mean) {
        break;
      }
      shed.add(c.sender);
    }
    if (!shed.isEmpty()) {
      lastShedLagNanos = lateNanos;
      lastShedNanos = nowNanos;
    }
    return shed;
  }

  private record Counted<S>(S sender, int recent) {}
}
