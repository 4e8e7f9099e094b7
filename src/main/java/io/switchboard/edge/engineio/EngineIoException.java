package io.switchboard.edge.engineio;

/**
 * A client sent something that is not a valid Engine.IO packet or payload. Thrown without a stack
 * trace: it is control flow on bad input, which an abusive client can make frequent.
 */
public final class EngineIoException extends Exception {
  private static final long serialVersionUID = 1L;

  public EngineIoException(String message) {
    super(message, null, false, false);
  }
}
