package io.switchboard.signaling.command;

/** The four relayed message types. They behave identically; the type is passed through. */
public enum RelayKind {
  OFFER("offer"),
  ANSWER("answer"),
  CANDIDATE("candidate"),
  SIGNAL("signal");

  private final String wire;

  RelayKind(String wire) {
    this.wire = wire;
  }

  public String wire() {
    return wire;
  }
}
