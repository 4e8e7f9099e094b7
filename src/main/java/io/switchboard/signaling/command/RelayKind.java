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

  /** @throws IllegalArgumentException for an unknown type */
  public static RelayKind fromWire(String wire) {
    for (RelayKind k : values()) {
      if (k.wire.equals(wire)) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown relay type: " + wire);
  }
}
