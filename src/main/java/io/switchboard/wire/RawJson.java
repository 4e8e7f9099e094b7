package io.switchboard.wire;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A JSON value kept as the UTF-8 bytes a client sent: the range {@code [start, end)} of
 * {@code source}. Carried from one socket to others without being parsed or copied.
 * The source array is never modified after decoding, so a RawJson may be shared across threads.
 */
public record RawJson(byte[] source, int start, int end) {
  public RawJson {
    if (start < 0 || end < start || end > source.length) {
      throw new IllegalArgumentException("bad range");
    }
  }

  public int length() {
    return end - start;
  }

  /** The bytes themselves: the source array when the range is all of it, else a copy. */
  public byte[] bytes() {
    return start == 0 && end == source.length ? source : Arrays.copyOfRange(source, start, end);
  }

  @Override
  public String toString() {
    return new String(source, start, end - start, StandardCharsets.UTF_8);
  }
}
