package io.switchboard.signaling;

import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.NumberedEvent;
import java.util.TreeMap;

/**
 * Puts a resumable session's numbered events on its socket in order, each once. They reach a
 * node on two paths whose order is not related (replies to its own stores, pushes from other
 * nodes, and after a resume the replay of the buffer), so an event that arrives ahead of its
 * turn waits here until the ones before it came; one seen before is dropped.
 *
 * <p>Thread-safe: events come from any thread. Sending under the lock keeps them in order on
 * the socket, since {@link Outbound#send} only queues.
 */
final class NumberGate {
  /**
   * Told, under the gate's lock, when the gate begins to hold something that may stall and when
   * it holds nothing any more: so that a periodic check visits only such gates, not every session.
   */
  interface Watcher {
    void waiting(boolean waiting);
  }

  private final Outbound outbound;
  private final Watcher watcher;
  private boolean watched;
  // The session closed: whatever the gate still holds will never stall anyone.
  private boolean retired;
  private long delivered;
  // Holds the gate shut while a join or a resume is in flight: their replies must come first.
  private int holds;
  private TreeMap<Long, Event> ahead;
  private long waitingSinceNanos;
  // A fetch from the buffer failed: what it should have brought may be the session's last
  // events, which no later one would show missing.
  private boolean fetchAgain;

  NumberGate(Outbound outbound, Watcher watcher) {
    this.outbound = outbound;
    this.watcher = watcher;
  }

  /** The last number put on the socket. */
  synchronized long delivered() {
    return delivered;
  }

  /** After a resume: the client processed everything up to {@code seq}. */
  synchronized void restartAfter(long seq) {
    delivered = seq;
    ahead = null;
    watch();
  }

  synchronized void hold() {
    holds++;
  }

  synchronized void release() {
    holds--;
    flush();
    watch();
  }

  synchronized void offer(long seq, Event event, long nowNanos) {
    if (seq <= delivered) {
      return;
    }
    if (ahead == null) {
      ahead = new TreeMap<>();
    }
    if (ahead.isEmpty()) {
      waitingSinceNanos = nowNanos;
    }
    ahead.putIfAbsent(seq, event);
    flush();
    watch();
  }

  /**
   * True when the session's buffer must be read again: an event has waited longer than
   * {@code patienceNanos} for one before it (a push lost while a connection to Redis was down),
   * or the last read of the buffer failed.
   */
  synchronized boolean stalled(long nowNanos, long patienceNanos) {
    return holds == 0 && (fetchAgain
        || ahead != null && !ahead.isEmpty() && nowNanos - waitingSinceNanos > patienceNanos);
  }

  /** A read of the session's buffer failed, or succeeded: whether the next tick reads it again. */
  synchronized void fetched(boolean ok) {
    fetchAgain = !ok;
    watch();
  }

  /** The session closed. */
  synchronized void retire() {
    retired = true;
    watch();
  }

  private void watch() {
    boolean waiting = !retired && (fetchAgain || ahead != null && !ahead.isEmpty());
    if (waiting != watched) {
      watched = waiting;
      watcher.waiting(waiting);
    }
  }

  private void flush() {
    if (holds > 0 || ahead == null) {
      return;
    }
    boolean progressed = false;
    while (!ahead.isEmpty() && ahead.firstKey() <= delivered + 1) {
      var next = ahead.pollFirstEntry();
      if (next.getKey() == delivered + 1) {
        delivered++;
        progressed = true;
        outbound.send(new NumberedEvent(next.getKey(), next.getValue()));
      }
    }
    if (progressed && !ahead.isEmpty()) {
      waitingSinceNanos = System.nanoTime();
    }
  }
}
