package io.switchboard.edge.engineio;

import java.util.Objects;

/**
 * One Engine.IO packet. {@code data} is the text after the type digit ({@code ""} when there is
 * none). A binary packet keeps only its type: the server refuses binary data, so decoding it
 * only has to recognise it.
 */
public record EngineIoPacket(PacketType type, String data, boolean binary) {
  public EngineIoPacket {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(data, "data");
  }

  public static EngineIoPacket text(PacketType type, String data) {
    return new EngineIoPacket(type, data, false);
  }

  public static EngineIoPacket text(PacketType type) {
    return new EngineIoPacket(type, "", false);
  }

  static EngineIoPacket binary(PacketType type) {
    return new EngineIoPacket(type, "", true);
  }

  /** The packet types of Engine.IO versions 3 and 4, which share them. */
  public enum PacketType {
    OPEN('0'),
    CLOSE('1'),
    PING('2'),
    PONG('3'),
    MESSAGE('4'),
    UPGRADE('5'),
    NOOP('6');

    private static final PacketType[] BY_DIGIT = values();

    private final char code;

    PacketType(char code) {
      this.code = code;
    }

    /** The digit that starts an encoded packet of this type. */
    public char code() {
      return code;
    }

    /** The type whose digit is {@code c}, or null. */
    public static PacketType fromCode(char c) {
      return c >= '0' && c <= '6' ? BY_DIGIT[c - '0'] : null;
    }

    /** The type numbered {@code n}, as in the first byte of a version 3 binary frame, or null. */
    static PacketType fromNumber(int n) {
      return n >= 0 && n <= 6 ? BY_DIGIT[n] : null;
    }
  }
}
