package io.switchboard.wire;

/**
 * The relayed message types. They behave identically; the type is passed through. The native
 * protocol has the first four; {@code BINARY} carries a binary message of the relay dialect.
 */
public enum RelayKind {
  OFFER("offer"),
  ANSWER("answer"),
  CANDIDATE("candidate"),
  SIGNAL("signal"),
  BINARY("binary");

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
