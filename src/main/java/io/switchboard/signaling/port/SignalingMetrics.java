package io.switchboard.signaling.port;

import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RelayKind;

/**
 * What the signaling and edge layers report, without knowing how it is recorded. Every method is
 * called on hot paths from any thread: implementations must be thread-safe, non-blocking and
 * allocation-free. {@link #NOOP} records nothing.
 */
public interface SignalingMetrics {
  void connectionOpened();

  void connectionClosed();

  /** An upgrade was refused; {@code reason} is one of origin, capacity, draining. */
  void connectionRejected(String reason);

  /** The server closed a socket for {@code reason}. */
  void closedBy(CloseReason reason);

  void joined();

  void left();

  void relayed(RelayKind kind);

  void error(ErrorCode code);

  void bytesIn(int bytes);

  void bytesOut(int bytes);

  /** One message published to other nodes. */
  void backplanePublished();

  /** One message received from another node. */
  void backplaneReceived();

  /** A backplane operation failed; {@code operation} names it (publish, join, heartbeat...). */
  void backplaneError(String operation);

  /** The backplane reconnected after losing its connection. */
  void backplaneReconnected();

  /**
   * The periodic reconciliation found this node's view of a room wrong (a member missing or one
   * that is gone) and repaired it. Stays at zero in a healthy cluster.
   */
  void membershipRepaired();

  /** Time from PUBLISH on the sending node to receipt on this one (wall clocks; skew counts). */
  void crossNodeLatencyMicros(long micros);

  /**
   * A resume's outcome ({@code ok}, {@code expired}, {@code refused}), or a session that ended
   * in its gap ({@code timeout}, {@code overflow}).
   */
  void resume(String outcome);

  /** Events replayed from a session's buffer after a resume. */
  void replayed(int events);

  /** How long a resumed session was away. */
  void gapMillis(long millis);

  /** Numbered events stored for resumable sessions, and their bytes. */
  void buffered(int events, long bytes);

  SignalingMetrics NOOP = new SignalingMetrics() {
    @Override public void connectionOpened() {}
    @Override public void connectionClosed() {}
    @Override public void connectionRejected(String reason) {}
    @Override public void closedBy(CloseReason reason) {}
    @Override public void joined() {}
    @Override public void left() {}
    @Override public void relayed(RelayKind kind) {}
    @Override public void error(ErrorCode code) {}
    @Override public void bytesIn(int bytes) {}
    @Override public void bytesOut(int bytes) {}
    @Override public void backplanePublished() {}
    @Override public void backplaneReceived() {}
    @Override public void backplaneError(String operation) {}
    @Override public void backplaneReconnected() {}
    @Override public void membershipRepaired() {}
    @Override public void crossNodeLatencyMicros(long micros) {}
    @Override public void resume(String outcome) {}
    @Override public void replayed(int events) {}
    @Override public void gapMillis(long millis) {}
    @Override public void buffered(int events, long bytes) {}
  };
}
