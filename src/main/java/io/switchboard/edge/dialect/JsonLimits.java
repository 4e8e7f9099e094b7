package io.switchboard.edge.dialect;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;

/**
 * The limits on the JSON a client may send, whole message included (docs/protocol.md): stated
 * here rather than left to Jackson's defaults, which refused valid JSON as "malformed" at 1,000
 * levels. 64 levels is far beyond any signaling payload and shallow enough for the recursive
 * parsers receivers use.
 */
public final class JsonLimits {
  /** Arrays and objects nested in one message, the message's own object counting as one. */
  public static final int MAX_DEPTH = 64;
  /** Characters of one number (sign, digits, fraction, exponent). */
  public static final int MAX_NUMBER_CHARS = 1000;

  /** Every parser of client JSON comes from here. Thread-safe. */
  public static final JsonFactory FACTORY = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder()
          .maxNestingDepth(MAX_DEPTH)
          .maxNumberLength(MAX_NUMBER_CHARS)
          .build())
      .build();

  private JsonLimits() {}

  /** What the client is told: the limit it broke. */
  public static String describe(StreamConstraintsException e) {
    String what = String.valueOf(e.getOriginalMessage());
    if (what.contains("nesting depth")) {
      return "message nests deeper than " + MAX_DEPTH + " levels of arrays and objects";
    }
    if (what.contains("Number value length")) {
      return "number longer than " + MAX_NUMBER_CHARS + " characters";
    }
    return "message exceeds a JSON limit";
  }
}
