package io.switchboard.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The server API's key, checked in constant time. Both sides are hashed first, so neither the
 * time taken nor an early exit on a length mismatch says anything about the key.
 */
final class ApiKey {
  private final byte[] digest;

  /** @param key {@code ADMIN_API_KEY}; not empty */
  ApiKey(String key) {
    this.digest = sha256(key);
  }

  /** Whether an {@code Authorization} header value is {@code Bearer <the key>}. */
  boolean admits(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    return MessageDigest.isEqual(digest, sha256(authorization.substring(7).trim()));
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
