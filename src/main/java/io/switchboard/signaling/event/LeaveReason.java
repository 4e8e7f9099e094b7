package io.switchboard.signaling.event;

/** Why a member left a room, as sent in {@code peer-left.reason}. */
public enum LeaveReason {
  /** The peer asked to leave. */
  LEAVE("leave"),
  /** The peer's socket closed. */
  DISCONNECT("disconnect");

  private final String wire;

  LeaveReason(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }
}
