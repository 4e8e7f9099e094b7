package io.switchboard.wire;

/**
 * A client request was refused with {@link #code()}. Carries the request's tag
 * (or null) so the error reply can echo it. Thrown without a stack trace: it is control flow on
 * bad input, which an abusive client can make frequent.
 */
public final class SignalingException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;
  private final RequestTag tag;

  public SignalingException(ErrorCode code, String message, RequestTag tag) {
    super(message, null, false, false);
    this.code = code;
    this.tag = tag;
  }

  public SignalingException(ErrorCode code, RequestTag tag) {
    this(code, code.defaultMessage(), tag);
  }

  public ErrorCode code() {
    return code;
  }

  /** The tag of the refused request, or null. */
  public RequestTag tag() {
    return tag;
  }
}
