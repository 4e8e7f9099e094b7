package io.switchboard.security;

import io.netty.handler.codec.http.QueryStringDecoder;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.signaling.Identity;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the JWT a client presents (docs/security.md) with Vert.x's {@link JWTAuth}: the
 * signature with the one configured key and algorithm, so {@code alg: none} and a token signed
 * with another algorithm (an HS256 token "signed" with an RSA public key) are refused; {@code exp}
 * (required), {@code nbf} and {@code iat} with {@code AUTH_JWT_LEEWAY_SECONDS} of clock skew;
 * {@code iss} and {@code aud} when configured. Then Switchboard's own claims: {@code sub} (an
 * optional string) and {@code rooms} (an optional array of room patterns).
 *
 * <p>A client presents its token, first found wins, as an {@code Authorization: Bearer} header
 * (clients that can set headers), as the WebSocket subprotocol pair {@code access_token, <token>}
 * (browsers: {@code new WebSocket(url, ['access_token', token])}; the server selects
 * {@code access_token}), or as the query parameter {@code access_token} (Engine.IO handshakes,
 * and any client). Thread-safe.
 */
public final class TokenVerifier {
  /** The subprotocol the server selects when a client sends its token as the one after it. */
  public static final String SUBPROTOCOL = "access_token";
  /** The query parameter that may carry the token (RFC 6750 2.3). */
  public static final String QUERY_PARAMETER = "access_token";
  /** Longer tokens are refused unread. */
  static final int MAX_TOKEN_CHARS = 8192;
  static final int MAX_SUBJECT_CHARS = 256;
  static final int MAX_ROOM_PATTERNS = 256;
  static final int MAX_PATTERN_CHARS = 256;

  private final JWTAuth auth;

  public TokenVerifier(Vertx vertx, SwitchboardConfig.Auth config) {
    JWTOptions options = new JWTOptions().setLeeway(config.leewaySeconds());
    if (!config.issuer().isEmpty()) {
      options.setIssuer(config.issuer());
    }
    if (!config.audience().isEmpty()) {
      options.setAudience(new ArrayList<>(config.audience()));
    }
    this.auth = JWTAuth.create(vertx, new JWTAuthOptions()
        .setJWTOptions(options)
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm(config.algorithm()).setBuffer(config.key())));
  }

  /**
   * The token of a request: {@code Authorization: Bearer}, then the {@code Sec-WebSocket-Protocol}
   * pair {@code access_token, <token>}, then the {@code access_token} query parameter; null when
   * it has none.
   */
  public static String tokenOf(MultiMap headers, String query) {
    String authorization = headers.get("Authorization");
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return authorization.substring(7).trim();
    }
    List<String> protocols = new ArrayList<>();
    for (String header : headers.getAll("Sec-WebSocket-Protocol")) {
      for (String p : header.split(",")) {
        protocols.add(p.trim());
      }
    }
    int marker = protocols.indexOf(SUBPROTOCOL);
    if (marker >= 0 && marker + 1 < protocols.size()) {
      return protocols.get(marker + 1);
    }
    if (query != null && !query.isEmpty()) {
      List<String> values = new QueryStringDecoder(query, StandardCharsets.UTF_8, false).parameters().get(QUERY_PARAMETER);
      if (values != null && !values.isEmpty()) {
        return values.get(0);
      }
    }
    return null;
  }

  /**
   * The identity {@code token} proves.
   *
   * @throws Refused 401 for a missing, malformed, badly signed, expired or not yet valid token,
   *     one for another issuer or audience, or one whose claims are not of the documented form
   */
  public Identity verify(String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_CHARS) {
      throw unauthorized();
    }
    Future<User> checked;
    try {
      // JWTAuth checks in the calling thread and returns a completed future.
      checked = auth.authenticate(new TokenCredentials(token));
    } catch (RuntimeException e) {
      // A claim of the wrong type (an exp that is a string) can throw instead of failing.
      throw unauthorized();
    }
    if (!checked.isComplete() || checked.failed()) {
      throw unauthorized();
    }
    JsonObject claims = checked.result().attributes().getJsonObject("accessToken");
    if (claims == null) {
      throw unauthorized();
    }
    // Without exp a stolen token would work for ever.
    if (!(claims.getValue("exp") instanceof Number exp)) {
      throw unauthorized();
    }
    Object sub = claims.getValue("sub");
    if (sub != null && !(sub instanceof String s && !s.isEmpty() && s.length() <= MAX_SUBJECT_CHARS)) {
      throw unauthorized();
    }
    return new Identity(true, (String) sub, rooms(claims.getValue("rooms")), exp.longValue());
  }

  /** The {@code rooms} claim: absent means every room; otherwise an array of patterns. */
  private static List<String> rooms(Object claim) {
    if (claim == null) {
      return null;
    }
    if (!(claim instanceof JsonArray array) || array.size() > MAX_ROOM_PATTERNS) {
      throw unauthorized();
    }
    List<String> patterns = new ArrayList<>(array.size());
    for (Object pattern : array) {
      if (!(pattern instanceof String p) || p.isEmpty() || p.length() > MAX_PATTERN_CHARS) {
        throw unauthorized();
      }
      patterns.add(p);
    }
    return patterns;
  }

  private static Refused unauthorized() {
    return new Refused(401, "unauthorized");
  }
}
