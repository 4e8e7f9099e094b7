package io.switchboard.fuzz;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Makes hostile variants of valid messages from one {@link Random}, so a seed reproduces a run:
 * bit flips, byte edits, insertions of bytes that trouble parsers (quotes, braces, NUL, bytes
 * that are never UTF-8, lone surrogate escapes), deletions, duplications, truncations, splices
 * of two messages, and values made deep, long or numeric beyond the documented limits.
 */
final class Mutator {
  private static final byte[][] NASTY = {
      {'"'}, {'{'}, {'}'}, {'['}, {']'}, {','}, {':'}, {'\\'}, {0}, {(byte) 0xff}, {(byte) 0xfe}, {(byte) 0xc0, (byte) 0xaf},
      {(byte) 0xed, (byte) 0xa0, (byte) 0x80}, {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {(byte) 0xe2, (byte) 0x82},
      ascii("\\ud800"), ascii("\\u0000"), ascii("null"), ascii("-0e-9999"), ascii("1e999999"), ascii("\"type\":\"join\""),
      ascii("\"room\":\"#relay:x\""), ascii("\"to\":\"AAAAAAAAAAAAAAAAAAAAAA\""), ascii("\"id\":"), "\u2028\u00e9\ud83d\ude00".getBytes(StandardCharsets.UTF_8)};

  private final Random random;
  private final int maxBytes;

  Mutator(Random random, int maxBytes) {
    this.random = random;
    this.maxBytes = maxBytes;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** A variant of one of {@code corpus}, after one to four mutations. */
  byte[] mutate(List<byte[]> corpus) {
    byte[] m = corpus.get(random.nextInt(corpus.size())).clone();
    int rounds = 1 + random.nextInt(4);
    for (int i = 0; i < rounds; i++) {
      m = once(m, corpus);
    }
    return m.length > maxBytes ? Arrays.copyOf(m, maxBytes) : m;
  }

  private byte[] once(byte[] m, List<byte[]> corpus) {
    int at = m.length == 0 ? 0 : random.nextInt(m.length + 1);
    switch (random.nextInt(10)) {
      case 0 -> {
        if (m.length > 0) {
          int i = random.nextInt(m.length);
          m[i] ^= (byte) (1 << random.nextInt(8));
        }
        return m;
      }
      case 1 -> {
        if (m.length > 0) {
          m[random.nextInt(m.length)] = (byte) random.nextInt(256);
        }
        return m;
      }
      case 2 -> {
        return insert(m, at, NASTY[random.nextInt(NASTY.length)]);
      }
      case 3 -> {
        int end = Math.min(m.length, at + random.nextInt(16));
        return cut(m, at, end);
      }
      case 4 -> {
        int end = Math.min(m.length, at + random.nextInt(32));
        return insert(m, at, Arrays.copyOfRange(m, Math.min(at, end), end));
      }
      case 5 -> {
        return Arrays.copyOf(m, at);
      }
      case 6 -> {
        byte[] other = corpus.get(random.nextInt(corpus.size()));
        int from = other.length == 0 ? 0 : random.nextInt(other.length);
        return concat(Arrays.copyOf(m, at), Arrays.copyOfRange(other, from, other.length));
      }
      case 7 -> {
        int depth = random.nextBoolean() ? 60 + random.nextInt(10) : 1 + random.nextInt(3000);
        String open = random.nextBoolean() ? "[" : "{\"a\":";
        String close = open.equals("[") ? "]" : "}";
        return replaceValue(m, open.repeat(depth) + "1" + close.repeat(depth));
      }
      case 8 -> {
        int digits = random.nextBoolean() ? 995 + random.nextInt(10) : 1 + random.nextInt(5000);
        return replaceValue(m, "9".repeat(digits));
      }
      default -> {
        return replaceValue(m, "\"" + "s".repeat(random.nextInt(maxBytes)) + "\"");
      }
    }
  }

  /** {@code m} with the value after its first {@code :} (or all of it, when it has none) replaced by {@code value}. */
  private byte[] replaceValue(byte[] m, String value) {
    int colon = -1;
    for (int i = 0; i < m.length; i++) {
      if (m[i] == ':') {
        colon = i;
        if (random.nextInt(3) == 0) {
          break;
        }
      }
    }
    if (colon < 0) {
      return ascii(value);
    }
    int end = colon + 1;
    while (end < m.length && m[end] != ',' && m[end] != '}') {
      end++;
    }
    return concat(concat(Arrays.copyOf(m, colon + 1), ascii(value)), Arrays.copyOfRange(m, end, m.length));
  }

  private static byte[] insert(byte[] m, int at, byte[] what) {
    return concat(concat(Arrays.copyOf(m, at), what), Arrays.copyOfRange(m, at, m.length));
  }

  private static byte[] cut(byte[] m, int from, int to) {
    return concat(Arrays.copyOf(m, from), Arrays.copyOfRange(m, to, m.length));
  }

  static byte[] concat(byte[] a, byte[] b) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(a.length + b.length);
    out.writeBytes(a);
    out.writeBytes(b);
    return out.toByteArray();
  }
}
