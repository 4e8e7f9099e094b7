package io.switchboard.security;

/**
 * A new client is turned away with HTTP {@code status}; {@code reason} is the metric label
 * ({@code switchboard_connections_rejected_total}). The message is never sent to the client: it
 * gets the status and a fixed text.
 */
public final class Refused extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String reason;

  public Refused(int status, String reason) {
    super(reason, null, false, false);
    this.status = status;
    this.reason = reason;
  }

  public int status() {
    return status;
  }

  public String reason() {
    return reason;
  }
}
