package io.switchboard.wire;

/** Why a member left a room, as sent in {@code peer-left.reason}. */
public enum LeaveReason {
  /** The peer asked to leave. */
  LEAVE("leave"),
  /** The peer's socket closed. */
  DISCONNECT("disconnect"),
  /** The node holding the peer's socket stopped heartbeating (crash, kill, partition). */
  NODE_LOST("node-lost"),
  /** The peer's session was resumable, and its window passed without a resume. */
  EXPIRED("expired"),
  /** The peer's session overflowed its buffer while it was away. */
  OVERFLOW("overflow");

  private final String wire;

  LeaveReason(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }

  /** @throws IllegalArgumentException for an unknown reason */
  public static LeaveReason fromWire(String wire) {
    for (LeaveReason r : values()) {
      if (r.wire.equals(wire)) {
        return r;
      }
    }
    throw new IllegalArgumentException("unknown leave reason: " + wire);
  }
}
