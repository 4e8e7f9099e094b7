package io.switchboard.edge.engineio;

import io.switchboard.edge.engineio.EngineIoPacket.PacketType;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Engine.IO framing for protocol versions 3 ({@code EIO=3}, socket.io-client 2.x) and 4
 * ({@code EIO=4}, socket.io-client 3 and later): single packets, as WebSocket frames carry them,
 * and the payloads of HTTP long-polling, which pack several packets into one body.
 *
 * <ul>
 *   <li>Version 3 payload: {@code <length>:<packet>...}, the length counted in UTF-16 code units
 *       as JavaScript's {@code String.length} counts them (so {@code €} is 1, an emoji 2), which
 *       is exactly Java's {@link String#length()}.
 *   <li>Version 4 payload: packets joined with the record separator {@code \u001e}.
 * </ul>
 *
 * The server only sends text. Binary packets (a {@code b}-prefixed base64 packet in a payload, a
 * binary WebSocket frame) are decoded just far enough to be recognised and refused.
 * Stateless and thread-safe.
 */
public final class EngineIoCodec {
  public static final EngineIoCodec V3 = new EngineIoCodec(3);
  public static final EngineIoCodec V4 = new EngineIoCodec(4);

  private static final char SEPARATOR = '\u001e';

  private final int version;

  private EngineIoCodec(int version) {
    this.version = version;
  }

  /**
   * The codec of the {@code EIO} query parameter's version.
   *
   * @throws IllegalArgumentException unless {@code version} is 3 or 4
   */
  public static EngineIoCodec forVersion(int version) {
    return switch (version) {
      case 3 -> V3;
      case 4 -> V4;
      default -> throw new IllegalArgumentException("unsupported Engine.IO version " + version);
    };
  }

  public int version() {
    return version;
  }

  // ---- single packets ----

  /**
   * One packet as text: its type digit, then its data.
   *
   * @throws IllegalArgumentException for a binary packet: the server sends text only
   */
  public String encodePacket(EngineIoPacket packet) {
    if (packet.binary()) {
      throw new IllegalArgumentException("the server sends text packets only");
    }
    return packet.type().code() + packet.data();
  }

  /** Decodes one text packet: a WebSocket text frame, or one packet of a polling payload. */
  public EngineIoPacket decodePacket(String text) throws EngineIoException {
    if (text.isEmpty()) {
      throw new EngineIoException("empty packet");
    }
    if (text.charAt(0) == 'b') {
      return decodeBase64(text);
    }
    return EngineIoPacket.text(type(text.charAt(0)), text.substring(1));
  }

  /** Decodes a binary WebSocket frame: version 3 starts it with the type as a byte (4, not '4'). */
  public EngineIoPacket decodeBinaryFrame(byte[] frame) throws EngineIoException {
    if (version == 4) {
      return EngineIoPacket.binary(PacketType.MESSAGE);
    }
    if (frame.length == 0) {
      throw new EngineIoException("empty packet");
    }
    PacketType type = PacketType.fromNumber(frame[0]);
    if (type == null) {
      throw new EngineIoException("unknown packet type " + frame[0]);
    }
    return EngineIoPacket.binary(type);
  }

  // Version 3: b<type digit><base64>; version 4: b<base64>, always a message.
  private EngineIoPacket decodeBase64(String text) throws EngineIoException {
    PacketType type = PacketType.MESSAGE;
    int base64 = 1;
    if (version == 3) {
      if (text.length() < 2) {
        throw new EngineIoException("binary packet without a type");
      }
      type = type(text.charAt(1));
      base64 = 2;
    }
    try {
      Base64.getDecoder().decode(text.substring(base64));
    } catch (IllegalArgumentException e) {
      throw new EngineIoException("malformed base64 in a binary packet");
    }
    return EngineIoPacket.binary(type);
  }

  private static PacketType type(char c) throws EngineIoException {
    PacketType type = PacketType.fromCode(c);
    if (type == null) {
      throw new EngineIoException("unknown packet type '" + (c >= 0x20 && c < 0x7f ? c : '?') + "'");
    }
    return type;
  }

  // ---- polling payloads ----

  /**
   * The body of a polling response carrying {@code packets}.
   *
   * @throws IllegalArgumentException for a binary packet, or in version 4 for data holding the
   *     record separator (JSON text never does: it must escape control characters)
   */
  public String encodePayload(List<EngineIoPacket> packets) {
    StringBuilder body = new StringBuilder();
    for (EngineIoPacket packet : packets) {
      String text = encodePacket(packet);
      if (version == 3) {
        body.append(text.length()).append(':').append(text);
      } else {
        if (text.indexOf(SEPARATOR) >= 0) {
          throw new IllegalArgumentException("packet data holds the record separator");
        }
        if (!body.isEmpty()) {
          body.append(SEPARATOR);
        }
        body.append(text);
      }
    }
    return body.toString();
  }

  /** The packets of a polling request's body; every packet must be well-formed. */
  public List<EngineIoPacket> decodePayload(String body) throws EngineIoException {
    if (body.isEmpty()) {
      throw new EngineIoException("empty payload");
    }
    return version == 3 ? decodeCounted(body) : decodeSeparated(body);
  }

  private List<EngineIoPacket> decodeSeparated(String body) throws EngineIoException {
    List<EngineIoPacket> packets = new ArrayList<>();
    int start = 0;
    while (true) {
      int end = body.indexOf(SEPARATOR, start);
      if (end < 0) {
        packets.add(decodePacket(body.substring(start)));
        return packets;
      }
      packets.add(decodePacket(body.substring(start, end)));
      start = end + 1;
    }
  }

  private List<EngineIoPacket> decodeCounted(String body) throws EngineIoException {
    List<EngineIoPacket> packets = new ArrayList<>();
    int at = 0;
    while (at < body.length()) {
      int colon = at;
      long length = 0;
      for (; colon < body.length() && body.charAt(colon) != ':'; colon++) {
        char c = body.charAt(colon);
        if (c < '0' || c > '9') {
          throw new EngineIoException("malformed packet length at character " + colon);
        }
        length = length * 10 + (c - '0');
        if (length > body.length()) {
          throw new EngineIoException("packet length past the end of the payload");
        }
      }
      if (colon == at || colon == body.length()) {
        throw new EngineIoException("malformed packet length at character " + at);
      }
      int start = colon + 1;
      if (start + length > body.length()) {
        throw new EngineIoException("packet length past the end of the payload");
      }
      int end = start + (int) length;
      packets.add(decodePacket(body.substring(start, end)));
      at = end;
    }
    return packets;
  }
}
