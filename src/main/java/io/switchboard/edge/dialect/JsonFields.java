package io.switchboard.edge.dialect;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import io.switchboard.wire.RawJson;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The top-level fields of one JSON object, each kept as the exact bytes the client sent. Nested
 * values are checked to be well-formed and skipped over, never built into a tree, so a dialect
 * can read its envelope and pass the rest (an SDP, a candidate) along untouched.
 */
public final class JsonFields {
  private static final JsonFactory JSON = JsonLimits.FACTORY;

  /** One field: its name, the raw bytes of its value, and the string value when it is one. */
  public record Field(String name, RawJson value, String text) {}

  private final List<Field> fields;

  private JsonFields(List<Field> fields) {
    this.fields = fields;
  }

  /** Parses {@code source[start, end)}, which must hold exactly one JSON object. */
  public static JsonFields parse(byte[] source, int start, int end) throws MalformedJson {
    List<Field> fields = new ArrayList<>(8);
    try (JsonParser p = JSON.createParser(source, start, end - start)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new MalformedJson("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        String text = value == JsonToken.VALUE_STRING ? p.getText() : null;
        int valueStart = start + (int) p.currentTokenLocation().getByteOffset();
        if (value.isStructStart()) {
          p.skipChildren();
        } else {
          p.finishToken();
        }
        int valueEnd = start + (int) p.currentLocation().getByteOffset();
        fields.add(new Field(name, new RawJson(source, valueStart, valueEnd), text));
      }
      if (p.nextToken() != null) {
        throw new MalformedJson("trailing content after the JSON object");
      }
    } catch (StreamConstraintsException e) {
      throw new MalformedJson(JsonLimits.describe(e), true);
    } catch (IOException | RuntimeException e) {
      throw new MalformedJson("malformed JSON");
    }
    return new JsonFields(fields);
  }

  public static JsonFields parse(byte[] source) throws MalformedJson {
    return parse(source, 0, source.length);
  }

  public List<Field> all() {
    return fields;
  }

  /** The last field called {@code name} (as JSON.parse keeps the last duplicate), or null. */
  public Field get(String name) {
    for (int i = fields.size() - 1; i >= 0; i--) {
      if (fields.get(i).name().equals(name)) {
        return fields.get(i);
      }
    }
    return null;
  }

  /** The string value of {@code name}, or null when it is absent or not a string. */
  public String text(String name) {
    Field field = get(name);
    return field == null ? null : field.text();
  }

  /** The input was not one well-formed JSON object. */
  public static final class MalformedJson extends Exception {
    private final boolean tooComplex;

    public MalformedJson(String message) {
      this(message, false);
    }

    MalformedJson(String message, boolean tooComplex) {
      super(message, null, false, false);
      this.tooComplex = tooComplex;
    }

    /** Well-formed for all we know, but beyond a limit of {@link JsonLimits}: the message names it. */
    public boolean tooComplex() {
      return tooComplex;
    }
  }
}
