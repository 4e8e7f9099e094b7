package io.switchboard.wire;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * A peer's identity: 128 random bits, base64url without padding (22 characters). Assigned by the
 * server when a socket opens; clients never choose one, so ids cannot be guessed or spoofed.
 *
 * <p>The first bit tells whether the session can resume ({@link #resumable()}): every node can then
 * tell from an address alone whether a message to it must be numbered and stored, without asking
 * the backplane (docs/clustering.md, "Which messages are numbered").
 */
public record PeerId(String value) {
  private static final int LENGTH = 22;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  public PeerId {
    if (!isWellFormed(value)) {
      throw new IllegalArgumentException("not a peer id: " + value);
    }
  }

  /** A fresh, unguessable id of a session that cannot resume. Thread-safe: {@link SecureRandom} is. */
  public static PeerId random(SecureRandom random) {
    return random(random, false);
  }

  /** A fresh, unguessable id (127 random bits), marked {@link #resumable()} or not. Thread-safe. */
  public static PeerId random(SecureRandom random, boolean resumable) {
    byte[] bits = new byte[16];
    random.nextBytes(bits);
    bits[0] = (byte) (resumable ? bits[0] | 0x80 : bits[0] & 0x7f);
    return new PeerId(ENCODER.encodeToString(bits));
  }

  /**
   * Whether this id was given to a session that can resume: its first bit is set, so its first
   * character is one of the upper 32 of the alphabet ({@code g-z}, {@code 0-9}, {@code -}, {@code _}).
   */
  public boolean resumable() {
    char first = value.charAt(0);
    return first >= 'g' && first <= 'z' || first >= '0' && first <= '9' || first == '-' || first == '_';
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
