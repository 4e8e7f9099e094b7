package io.switchboard.security;

import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The ICE servers a client is given (docs/security.md): every {@code STUN_URLS} entry as is, and
 * the {@code TURN_URLS} with credentials of the TURN REST scheme that coturn checks with
 * {@code use-auth-secret} / {@code static-auth-secret}: the username is
 * {@code <expiry, Unix seconds>:<user id>}, the credential base64(HMAC-SHA1(secret, username)).
 * A TURN server holding the same secret accepts the pair until the expiry without asking anyone.
 * Thread-safe.
 */
public final class IceServers {
  private final SwitchboardConfig.Ice config;
  private final SecretKeySpec key;

  public IceServers(SwitchboardConfig.Ice config) {
    this.config = config;
    this.key = config.turnEnabled()
        ? new SecretKeySpec(config.turnSecret().getBytes(StandardCharsets.UTF_8), "HmacSHA1")
        : null;
  }

  /** Whether any ICE server is configured. */
  public boolean configured() {
    return config.configured();
  }

  /** How long a TURN credential stays valid, in seconds. */
  public int ttlSeconds() {
    return config.turnTtlSeconds();
  }

  /**
   * The RTCIceServer array for {@code userId} at {@code nowEpochSeconds}, or null when nothing is
   * configured.
   */
  public JsonArray forUser(String userId, long nowEpochSeconds) {
    if (!configured()) {
      return null;
    }
    JsonArray servers = new JsonArray();
    if (!config.stunUrls().isEmpty()) {
      servers.add(new JsonObject().put("urls", new JsonArray(config.stunUrls())));
    }
    if (config.turnEnabled()) {
      String username = (nowEpochSeconds + config.turnTtlSeconds()) + ":" + userId;
      servers.add(new JsonObject()
          .put("urls", new JsonArray(config.turnUrls()))
          .put("username", username)
          .put("credential", credential(username)));
    }
    return servers;
  }

  /** base64(HMAC-SHA1(TURN_SECRET, username)). */
  String credential(String username) {
    try {
      Mac mac = Mac.getInstance("HmacSHA1");
      mac.init(key);
      return Base64.getEncoder().encodeToString(mac.doFinal(username.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JVM has HmacSHA1", e);
    }
  }
}
