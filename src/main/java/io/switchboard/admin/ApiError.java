package io.switchboard.admin;

/**
 * A refusal of the server API: the HTTP status and the body {@code {"error":{"code","message"}}}
 * (docs/operations.md lists the codes).
 */
final class ApiError extends RuntimeException {
  private final int status;
  private final String code;

  ApiError(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, "bad-request", message);
  }

  int status() {
    return status;
  }

  String code() {
    return code;
  }
}
