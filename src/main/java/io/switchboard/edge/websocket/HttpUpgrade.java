package io.switchboard.edge.websocket;

import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The checks RFC 6455 section 4.2.1 asks of an opening handshake, which Netty's handshaker leaves
 * out (it accepted an empty or non-base64 key, two keys, and version 8), and the refusals every
 * WebSocket endpoint answers with.
 */
public final class HttpUpgrade {
  /** The one version spoken, answered in {@code Sec-WebSocket-Version} when a client asks for another. */
  public static final String VERSION = "13";
  // base64 of exactly 16 bytes: 22 characters, the last holding 2 bits, then "==".
  private static final Pattern KEY = Pattern.compile("[A-Za-z0-9+/]{21}[AQgw]==");

  private HttpUpgrade() {}

  /** Whether the client asks for a WebSocket: {@code Upgrade} names {@code websocket}. */
  public static boolean requested(HttpServerRequest request) {
    return hasToken(request.headers().getAll("Upgrade"), "websocket");
  }

  /**
   * 0 when the handshake is well-formed; otherwise the status to refuse it with: 426 for a version
   * other than 13 (sent with {@code Sec-WebSocket-Version: 13}), 400 for anything else.
   */
  public static int problem(HttpServerRequest request) {
    if (request.method() != HttpMethod.GET || request.version() != HttpVersion.HTTP_1_1
        || request.headers().getAll("Host").size() != 1
        || !hasToken(request.headers().getAll("Connection"), "upgrade")) {
      return 400;
    }
    List<String> versions = request.headers().getAll("Sec-WebSocket-Version");
    if (versions.isEmpty()) {
      return 400;
    }
    if (versions.size() != 1 || !VERSION.equals(versions.get(0).trim())) {
      return 426;
    }
    List<String> keys = request.headers().getAll("Sec-WebSocket-Key");
    if (keys.size() != 1 || !KEY.matcher(keys.get(0).trim()).matches()) {
      return 400;
    }
    return 0;
  }

  /**
   * Ends {@code response} as a refusal with {@code status}, its reason phrase as the body and the
   * headers the status calls for.
   */
  public static void refuse(HttpServerResponse response, int status) {
    switch (status) {
      case 401 -> response.putHeader("WWW-Authenticate", "Bearer");
      case 426 -> response.putHeader("Sec-WebSocket-Version", VERSION);
      case 429 -> response.putHeader("Retry-After", "1");
      default -> { }
    }
    response.setStatusCode(status).end(HttpResponseStatus.valueOf(status).reasonPhrase());
  }

  private static boolean hasToken(List<String> values, String token) {
    for (String value : values) {
      for (String part : value.split(",")) {
        if (part.trim().toLowerCase(Locale.ROOT).equals(token)) {
          return true;
        }
      }
    }
    return false;
  }
}
