package io.switchboard.wire;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * A room name: 1-128 characters of {@code A-Z a-z 0-9 . _ : -}. The safe set means a room name
 * never needs escaping in JSON, in a Redis key or in a log line.
 *
 * <p>Dialects other than the native one keep their rooms apart with {@link #scoped}: such names
 * start with {@code #}, which no client-chosen name can, so a native client can never join (and
 * read) a room of another protocol.
 */
public record RoomId(String value) {
  public static final int MAX_LENGTH = 128;

  public RoomId {
    if (!isValid(value) && !isScoped(value)) {
      throw new IllegalArgumentException("not a room name: " + value);
    }
  }

  /**
   * The room called {@code name} in {@code scope} (a dialect's own namespace of lower-case
   * letters): {@code #scope:name} when {@code name} is a valid room name, otherwise
   * {@code #scope=} and a hash of it, so any string can name a room.
   */
  public static RoomId scoped(String scope, String name) {
    if (isValid(name)) {
      return new RoomId("#" + scope + ":" + name);
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return new RoomId("#" + scope + "=" + Base64.getUrlEncoder().withoutPadding().encodeToString(digest));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** The room named {@code value}, client-chosen or scoped, or null when it names none. */
  public static RoomId parse(String value) {
    return isValid(value) || isScoped(value) ? new RoomId(value) : null;
  }

  private static boolean isScoped(String value) {
    if (value == null || value.length() < 3 || value.charAt(0) != '#') {
      return false;
    }
    int split = 1;
    while (split < value.length() && value.charAt(split) >= 'a' && value.charAt(split) <= 'z') {
      split++;
    }
    if (split == 1 || split == value.length()) {
      return false;
    }
    char separator = value.charAt(split);
    String rest = value.substring(split + 1);
    return (separator == ':' || separator == '=') && isValid(rest);
  }

  public static boolean isValid(String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
          || c == '.' || c == '_' || c == ':' || c == '-')) {
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
