package io.switchboard.wire;

/**
 * A client request was refused with {@link #code()}. Carries the request's {@code id} (raw JSON,
 * or null) so the error reply can echo it. Thrown without a stack trace: it is control flow on
 * bad input, which an abusive client can make frequent.
 */
public final class SignalingException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final String requestId;

  public SignalingException(ErrorCode code, String message, String requestId) {
    super(message, null, false, false);
    this.code = code;
    this.requestId = requestId;
  }

  public SignalingException(ErrorCode code, String requestId) {
    this(code, code.defaultMessage(), requestId);
  }

  public ErrorCode code() {
    return code;
  }

  /** The raw JSON text of the request's id, or null. */
  public String requestId() {
    return requestId;
  }
}
