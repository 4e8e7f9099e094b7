package io.switchboard.metrics;

import io.switchboard.signaling.CloseReason;
import io.switchboard.signaling.ErrorCode;
import io.switchboard.signaling.command.RelayKind;

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
  };
}
