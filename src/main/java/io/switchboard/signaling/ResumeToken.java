package io.switchboard.signaling;

import io.switchboard.wire.PeerId;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * A resume token: the peer id, a dot, and 256 random bits in base64url. Only the SHA-256 of the
 * secret part is stored, so a copy of Redis cannot be used to take sessions over.
 */
record ResumeToken(PeerId peer, String hash) {
  private static final int SECRET_BYTES = 32;

  /** A new token for {@code peer}: the text to give the client, and its hash to store. */
  record Issued(String text, String hash) {}

  static Issued issue(PeerId peer, SecureRandom random) {
    byte[] secret = new byte[SECRET_BYTES];
    random.nextBytes(secret);
    String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    return new Issued(peer.value() + "." + encoded, sha256(encoded));
  }

  /** The token's peer and hash, or null when {@code text} does not have a token's form. */
  static ResumeToken parse(String text) {
    int dot = text.indexOf('.');
    if (dot < 0 || text.length() - dot - 1 != 43 || !PeerId.isWellFormed(text.substring(0, dot))) {
      return null;
    }
    String secret = text.substring(dot + 1);
    for (int i = 0; i < secret.length(); i++) {
      char c = secret.charAt(i);
      if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
        return null;
      }
    }
    return new ResumeToken(new PeerId(text.substring(0, dot)), sha256(secret));
  }

  private static String sha256(String secret) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java has SHA-256", e);
    }
  }
}
