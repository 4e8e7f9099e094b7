package io.switchboard.edge.dialect.switchboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A small builder of UTF-8 JSON text for the server's own (non-relayed) messages. */
final class JsonText {
  private final ByteArrayOutputStream out;

  JsonText(int capacity) {
    out = new ByteArrayOutputStream(capacity);
  }

  /** Appends text known to need no escaping. */
  JsonText ascii(String s) {
    out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
    return this;
  }

  /** Appends raw JSON text (already valid JSON) as UTF-8. */
  JsonText utf8(String json) {
    out.writeBytes(json.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /** Appends {@code s} as a quoted, escaped JSON string. */
  JsonText string(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || c == '\u2028' || c == '\u2029') {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return utf8(b.append('"').toString());
  }

  byte[] toBytes() {
    return out.toByteArray();
  }
}
