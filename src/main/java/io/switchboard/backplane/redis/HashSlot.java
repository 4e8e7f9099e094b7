package io.switchboard.backplane.redis;

import java.nio.charset.StandardCharsets;

/** The slot Redis Cluster hashes a key or a sharded channel to. */
public final class HashSlot {
  /** How many slots a Redis Cluster has. */
  public static final int SLOTS = 16384;

  private HashSlot() {}

  /**
   * CRC16 (XMODEM) of the key's UTF-8 bytes modulo 16384; only the part between the first '{' and
   * the next '}' counts when that part is not empty (the hash tag).
   */
  public static int of(String key) {
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    int from = 0;
    int to = bytes.length;
    int open = indexOf(bytes, (byte) '{', 0);
    if (open >= 0) {
      int close = indexOf(bytes, (byte) '}', open + 1);
      if (close > open + 1) {
        from = open + 1;
        to = close;
      }
    }
    int crc = 0;
    for (int i = from; i < to; i++) {
      crc ^= (bytes[i] & 0xff) << 8;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
    }
    return (crc & 0xffff) % SLOTS;
  }

  private static int indexOf(byte[] bytes, byte b, int from) {
    for (int i = from; i < bytes.length; i++) {
      if (bytes[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
