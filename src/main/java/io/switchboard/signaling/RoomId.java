package io.switchboard.signaling;

/**
 * A room name: 1-128 characters of {@code A-Z a-z 0-9 . _ : -}. The safe set means a room name
 * never needs escaping in JSON, in a Redis key or in a log line.
 */
public record RoomId(String value) {
  public static final int MAX_LENGTH = 128;

  public RoomId {
    if (!isValid(value)) {
      throw new IllegalArgumentException("not a room name: " + value);
    }
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
