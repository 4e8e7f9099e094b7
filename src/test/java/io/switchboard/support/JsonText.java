package io.switchboard.support;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Reads raw JSON text without re-serializing it, to check the server relays bytes unchanged. */
public final class JsonText {
  private static final JsonFactory FACTORY = new JsonFactory();

  private JsonText() {
  }

  /**
   * The exact source text of the top-level member {@code field} of the object {@code json}, as it
   * appears in {@code json} (whitespace inside the value kept), or null when there is no such member.
   */
  public static String member(String json, String field) {
    try (JsonParser p = FACTORY.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("not a JSON object: " + json);
      }
      for (int i = 0; i < 10_000; i++) {
        JsonToken t = p.nextToken();
        if (t == JsonToken.END_OBJECT || t == null) {
          return null;
        }
        String name = p.currentName();
        p.nextToken();
        int start = (int) p.currentTokenLocation().getCharOffset();
        p.skipChildren();
        p.finishToken();
        int end = (int) p.currentLocation().getCharOffset();
        if (field.equals(name)) {
          return json.substring(start, end);
        }
      }
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
