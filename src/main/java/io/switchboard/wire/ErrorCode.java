package io.switchboard.wire;

/**
 * Every error a client can receive, with its wire code, default message and whether retrying the
 * same request later can succeed. docs/protocol.md lists the same set; a test keeps them in step.
 */
public enum ErrorCode {
  BAD_JSON("bad-json", "message is not a JSON object", false),
  BAD_MESSAGE("bad-message", "missing or invalid field", false),
  UNKNOWN_TYPE("unknown-type", "unknown message type", false),
  TOO_LARGE("too-large", "message too large", false),
  TOO_COMPLEX("too-complex", "message nested too deep or holding too long a number", false),
  BINARY_NOT_SUPPORTED("binary-not-supported", "binary frames are not supported; send JSON text", false),
  RATE_LIMITED("rate-limited", "too many messages; slow down", true),
  ROOM_FULL("room-full", "room is full", true),
  TOO_MANY_ROOMS("too-many-rooms", "too many rooms on this connection", false),
  NOT_IN_ROOM("not-in-room", "not a member of this room", false),
  PEER_NOT_FOUND("peer-not-found", "no such peer in this room", false),
  FORBIDDEN("forbidden", "not allowed by the rooms claim of your token", false),
  RESUME_REFUSED("resume-refused", "not a resume token of this server, or not yours", false),
  RESUME_EXPIRED("resume-expired", "no such session any more", false),
  RESUME_LOST("resume-lost", "events after your seq were dropped; the session has ended", false),
  BAD_SEQUENCE("bad-sequence", "seq is above the last event numbered for the session", false),
  UNAVAILABLE("unavailable", "the cluster could not accept the message; send it again", true),
  INTERNAL("internal", "internal error", true);

  private final String wire;
  private final String defaultMessage;
  private final boolean retryable;

  ErrorCode(String wire, String defaultMessage, boolean retryable) {
    this.wire = wire;
    this.defaultMessage = defaultMessage;
    this.retryable = retryable;
  }

  /** The code as sent in {@code error.code}. */
  public String wire() {
    return wire;
  }

  public String defaultMessage() {
    return defaultMessage;
  }

  public boolean retryable() {
    return retryable;
  }
}
