package io.switchboard.wire;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * A peer's identity: 128 random bits, base64url without padding (22 characters). Assigned by the
 * server when a socket opens; clients never choose one, so ids cannot be guessed or spoofed.
 */
public record PeerId(String value) {
  private static final int LENGTH = 22;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  public PeerId {
    if (!isWellFormed(value)) {
      throw new IllegalArgumentException("not a peer id: " + value);
    }
  }

  /** A fresh, unguessable id. Thread-safe: {@link SecureRandom} is. */
  public static PeerId random(SecureRandom random) {
    byte[] bits = new byte[16];
    random.nextBytes(bits);
    return new PeerId(ENCODER.encodeToString(bits));
  }

  /** Whether {@code value} has the form of a peer id (says nothing about whether it exists). */
  public static boolean isWellFormed(String value) {
    if (value == null || value.length() != LENGTH) {
      return false;
    }
    for (int i = 0; i < LENGTH; i++) {
      char c = value.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return value;
  }
}
