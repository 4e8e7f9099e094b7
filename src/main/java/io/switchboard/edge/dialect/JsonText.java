package io.switchboard.edge.dialect;

import io.switchboard.wire.RawJson;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** A small builder of UTF-8 JSON text for the messages the server writes itself. */
public final class JsonText {
  private final ByteArrayOutputStream out;

  public JsonText(int capacity) {
    out = new ByteArrayOutputStream(capacity);
  }

  /** Appends text known to need no escaping. */
  public JsonText ascii(String s) {
    out.writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
    return this;
  }

  /** Appends raw JSON text (already valid JSON) as UTF-8. */
  public JsonText utf8(String json) {
    out.writeBytes(json.getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /** Appends {@code s} as a quoted, escaped JSON string. */
  public JsonText string(String s) {
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

  /** Appends a value exactly as a client sent it. */
  public JsonText raw(RawJson json) {
    out.write(json.source(), json.start(), json.length());
    return this;
  }

  @Override
  public String toString() {
    return out.toString(StandardCharsets.UTF_8);
  }

  public byte[] toBytes() {
    return out.toByteArray();
  }
}
