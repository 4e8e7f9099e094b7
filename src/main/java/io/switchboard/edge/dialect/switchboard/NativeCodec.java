package io.switchboard.edge.dialect.switchboard;

import io.switchboard.wire.RoomMeta;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import io.switchboard.edge.dialect.JsonLimits;
import io.switchboard.edge.dialect.JsonText;
import io.switchboard.wire.ClientRequestId;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Leave;
import io.switchboard.signaling.command.Ping;
import io.switchboard.signaling.command.Ack;
import io.switchboard.signaling.command.Resume;
import io.switchboard.wire.RawJson;
import io.switchboard.signaling.command.Relay;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RequestTag;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.Left;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Pong;
import io.switchboard.signaling.event.NumberedEvent;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.event.PeerResumed;
import io.switchboard.signaling.event.Resumed;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import io.switchboard.signaling.event.Welcome;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The native protocol's codec (docs/protocol.md): JSON text frames in, JSON text frames out.
 *
 * <p>Decoding reads only the envelope with a streaming parser; {@code data} is skipped over
 * (which still checks that it is well-formed JSON) and kept as a byte range of the frame, so the
 * relay path never builds a tree of it. Stateless and thread-safe.
 */
public final class NativeCodec {
  /** The largest {@code meta} object accepted, in bytes. */
  public static final int MAX_META_BYTES = 1024;
  /** The longest resume token accepted, in characters (a peer id, a dot and 43). */
  static final int MAX_TOKEN_CHARS = 128;
  /** The largest {@code n} and {@code seq}: what a JavaScript number holds exactly. */
  static final long MAX_COUNT = (1L << 53) - 1;
  /** The longest string {@code id} accepted, in characters. */
  public static final int MAX_ID_CHARS = 128;

  private static final JsonFactory JSON = JsonLimits.FACTORY;

  /** A decoded envelope before its fields are checked against its type. */
  private static final class Envelope {
    String type;
    boolean typeInvalid;
    String room;
    boolean roomInvalid;
    String to;
    boolean toInvalid;
    ClientRequestId id;
    boolean idInvalid;
    RawJson data;
    String meta;
    boolean metaInvalid;
    // -1: absent; -2: present but not an integer 0..2^53
    long n = -1;
    long seq = -1;
    String token;
  }

  /**
   * Decodes one complete text message.
   *
   * @throws SignalingException with {@code bad-json}, {@code too-complex}, {@code bad-message},
   *     {@code unknown-type} or {@code peer-not-found}, carrying the request id when it could be read
   */
  public Command decode(byte[] frame) {
    Envelope e = parse(frame);
    if (e.idInvalid) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE,
          "id must be a string of at most " + MAX_ID_CHARS + " characters or an integer", null);
    }
    if (e.type == null || e.typeInvalid) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE, "type must be a string", e.id);
    }
    return switch (e.type) {
      case "offer" -> relay(RelayKind.OFFER, e);
      case "answer" -> relay(RelayKind.ANSWER, e);
      case "candidate" -> relay(RelayKind.CANDIDATE, e);
      case "signal" -> relay(RelayKind.SIGNAL, e);
      case "join" -> {
        if (e.metaInvalid) {
          throw new SignalingException(ErrorCode.BAD_MESSAGE,
              "meta must be a JSON object of at most " + MAX_META_BYTES + " bytes", e.id);
        }
        yield new Join(room(e), e.meta, e.id);
      }
      case "leave" -> new Leave(room(e), e.id);
      case "ping" -> new Ping(e.id);
      case "ack" -> new Ack(count(e.seq, "seq", e));
      case "resume" -> {
        if (e.token == null || e.token.length() > MAX_TOKEN_CHARS) {
          throw new SignalingException(ErrorCode.BAD_MESSAGE, "token must be the resume token string", e.id);
        }
        yield new Resume(e.token, count(e.seq, "seq", e), e.id);
      }
      default -> throw new SignalingException(ErrorCode.UNKNOWN_TYPE,
          "unknown type '" + printable(e.type) + "'", e.id);
    };
  }

  private static Relay relay(RelayKind kind, Envelope e) {
    RoomId room = room(e);
    if (e.data == null) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE, "data is required", e.id);
    }
    if (e.toInvalid) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE, "to must be a peer id string", e.id);
    }
    PeerId to = null;
    if (e.to != null) {
      if (!PeerId.isWellFormed(e.to)) {
        throw new SignalingException(ErrorCode.PEER_NOT_FOUND, "no such peer in this room", e.id);
      }
      to = new PeerId(e.to);
    }
    long n = e.n == -1 ? 0 : count(e.n, "n", e);
    if (e.n != -1 && n == 0) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE, "n must be a positive integer", e.id);
    }
    return new Relay(kind, room, to, e.data, e.id, n);
  }

  /** A required non-negative integer field. */
  private static long count(long value, String field, Envelope e) {
    if (value < 0) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE, field + " must be a non-negative integer", e.id);
    }
    return value;
  }

  private static long integerField(JsonParser p) throws IOException {
    if (p.currentToken() == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
      long v = p.getLongValue();
      return v >= 0 && v <= MAX_COUNT ? v : -2;
    }
    p.skipChildren();
    return -2;
  }

  private static RoomId room(Envelope e) {
    if (e.roomInvalid || !RoomId.isValid(e.room)) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE,
          "room must be 1-" + RoomId.MAX_LENGTH + " characters of A-Z a-z 0-9 . _ : -", e.id);
    }
    return new RoomId(e.room);
  }

  private static Envelope parse(byte[] frame) {
    Envelope e = new Envelope();
    try (JsonParser p = JSON.createParser(frame)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new SignalingException(ErrorCode.BAD_JSON, "message must be a JSON object", null);
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "type" -> {
            e.type = stringOrNull(p);
            e.typeInvalid = e.type == null;
          }
          case "room" -> {
            e.room = stringOrNull(p);
            e.roomInvalid = e.room == null;
          }
          case "to" -> {
            e.to = stringOrNull(p);
            e.toInvalid = e.to == null;
          }
          case "id" -> {
            if (value == JsonToken.VALUE_NUMBER_INT
                || value == JsonToken.VALUE_STRING && p.getTextLength() <= MAX_ID_CHARS) {
              e.id = new ClientRequestId(rawText(p, frame));
              e.idInvalid = false;
            } else {
              p.skipChildren();
              e.id = null;
              e.idInvalid = true;
            }
          }
          case "data" -> e.data = raw(p, frame);
          case "n" -> e.n = integerField(p);
          case "seq" -> e.seq = integerField(p);
          case "token" -> e.token = stringOrNull(p);
          case "meta" -> {
            if (value == JsonToken.START_OBJECT) {
              RawJson meta = raw(p, frame);
              e.metaInvalid = meta.length() > MAX_META_BYTES;
              e.meta = e.metaInvalid ? null : meta.toString();
            } else {
              p.skipChildren();
              e.metaInvalid = true;
            }
          }
          default -> p.skipChildren();
        }
      }
      if (p.nextToken() != null) {
        throw new SignalingException(ErrorCode.BAD_JSON, "trailing content after the JSON object", e.id);
      }
      return e;
    } catch (StreamConstraintsException ex) {
      throw new SignalingException(ErrorCode.TOO_COMPLEX, JsonLimits.describe(ex), e.id);
    } catch (JsonProcessingException ex) {
      throw new SignalingException(ErrorCode.BAD_JSON, "malformed JSON", e.id);
    } catch (IOException ex) {
      throw new SignalingException(ErrorCode.BAD_JSON, "unreadable message", e.id);
    }
  }

  /** The string value the parser is on, or null (having skipped the value) when it is not one. */
  private static String stringOrNull(JsonParser p) throws IOException {
    if (p.currentToken() == JsonToken.VALUE_STRING) {
      return p.getText();
    }
    p.skipChildren();
    return null;
  }

  /** The exact bytes of the value the parser is positioned on, skipping over its contents. */
  private static RawJson raw(JsonParser p, byte[] frame) throws IOException {
    int start = (int) p.currentTokenLocation().getByteOffset();
    if (p.currentToken().isStructStart()) {
      p.skipChildren();
    } else {
      p.finishToken();
    }
    int end = (int) p.currentLocation().getByteOffset();
    return new RawJson(frame, start, end);
  }

  private static String rawText(JsonParser p, byte[] frame) throws IOException {
    return raw(p, frame).toString();
  }

  private static String printable(String s) {
    String cut = s.length() > 32 ? s.substring(0, 32) + "..." : s;
    return cut.replaceAll("[^\\x20-\\x7e]", "?").replace("'", "?");
  }

  // ---- encoding ----

  /** The frame that carries {@code event} to a native client. */
  public byte[] encode(Event event) {
    return event.accept(ENCODER);
  }

  /** The native message of every kind of event. */
  public static final Event.Visitor<byte[]> ENCODER = new Event.Visitor<>() {
    @Override
    public byte[] relayed(Relayed r) {
      return encodeRelayed(r);
    }

    @Override
    public byte[] welcome(Welcome w) {
      JsonText out = new JsonText(128).ascii("{\"type\":\"welcome\",\"peer\":\"").ascii(w.peer().value()).ascii("\"");
      if (w.iceServersJson() != null) {
        out.ascii(",\"iceServers\":").utf8(w.iceServersJson());
      }
      if (w.resumeToken() != null) {
        out.ascii(",\"resume\":\"").ascii(w.resumeToken()).ascii("\",\"resumeWindow\":")
            .ascii(Integer.toString(w.resumeWindowSeconds()));
      }
      return out.ascii("}").toBytes();
    }

    @Override
    public byte[] joined(Joined j) {
      JsonText out = new JsonText(128).ascii("{\"type\":\"joined\",\"room\":\"").ascii(j.room().value())
          .ascii("\",\"peer\":\"").ascii(j.peer().value()).ascii("\",\"peers\":[");
      for (int i = 0; i < j.peers().size(); i++) {
        Member m = j.peers().get(i);
        out.ascii(i == 0 ? "{\"peer\":\"" : ",{\"peer\":\"").ascii(m.peer().value())
            .ascii("\",\"meta\":").utf8(m.metaJson()).ascii("}");
      }
      out.ascii("]");
      return id(out, j.tag());
    }

    @Override
    public byte[] peerJoined(PeerJoined pj) {
      return new JsonText(128).ascii("{\"type\":\"peer-joined\",\"room\":\"").ascii(pj.room().value())
          .ascii("\",\"peer\":\"").ascii(pj.member().peer().value())
          .ascii("\",\"meta\":").utf8(pj.member().metaJson()).ascii("}").toBytes();
    }

    @Override
    public byte[] left(Left l) {
      return id(new JsonText(64).ascii("{\"type\":\"left\",\"room\":\"").ascii(l.room().value()).ascii("\""), l.tag());
    }

    @Override
    public byte[] peerLeft(PeerLeft pl) {
      return new JsonText(128).ascii("{\"type\":\"peer-left\",\"room\":\"").ascii(pl.room().value())
          .ascii("\",\"peer\":\"").ascii(pl.peer().value())
          .ascii("\",\"reason\":\"").ascii(pl.reason().wire()).ascii("\"}").toBytes();
    }

    @Override
    public byte[] pong(Pong p) {
      JsonText out = new JsonText(48).ascii("{\"type\":\"pong\"");
      if (p.acked() >= 0) {
        out.ascii(",\"acked\":").ascii(Long.toString(p.acked()));
      }
      return id(out, p.tag());
    }

    @Override
    public byte[] error(ErrorReply er) {
      JsonText out = new JsonText(128).ascii("{\"type\":\"error\",\"code\":\"").ascii(er.code().wire())
          .ascii("\",\"message\":").string(er.message());
      return id(out, er.tag());
    }

    @Override
    public byte[] serverMessage(ServerMessage sm) {
      return new JsonText(sm.data().length() + 64).ascii("{\"type\":\"server-message\",\"room\":\"")
          .ascii(sm.room().value()).ascii("\",\"data\":").raw(sm.data()).ascii("}").toBytes();
    }

    @Override
    public byte[] peerReconnecting(PeerReconnecting pr) {
      return new JsonText(96).ascii("{\"type\":\"peer-reconnecting\",\"room\":\"").ascii(pr.room().value())
          .ascii("\",\"peer\":\"").ascii(pr.peer().value()).ascii("\"}").toBytes();
    }

    @Override
    public byte[] peerResumed(PeerResumed pr) {
      return new JsonText(96).ascii("{\"type\":\"peer-resumed\",\"room\":\"").ascii(pr.room().value())
          .ascii("\",\"peer\":\"").ascii(pr.peer().value()).ascii("\"}").toBytes();
    }

    @Override
    public byte[] numbered(NumberedEvent numbered) {
      return withSeq(numbered.event().accept(this), numbered.seq());
    }

    @Override
    public byte[] resumed(Resumed r) {
      JsonText out = new JsonText(160).ascii("{\"type\":\"resumed\",\"peer\":\"").ascii(r.peer().value())
          .ascii("\",\"rooms\":[");
      for (int i = 0; i < r.rooms().size(); i++) {
        RoomMeta room = r.rooms().get(i);
        out.ascii(i == 0 ? "{\"room\":\"" : ",{\"room\":\"").ascii(room.room().value())
            .ascii("\",\"meta\":").utf8(room.metaJson()).ascii("}");
      }
      out.ascii("],\"acked\":").ascii(Long.toString(r.acked()))
          .ascii(",\"resume\":\"").ascii(r.token()).ascii("\"");
      return id(out, r.tag());
    }
  };

  /** {@code message}, a JSON object, with {@code "seq":N} added as its last field. */
  static byte[] withSeq(byte[] message, long seq) {
    byte[] field = (",\"seq\":" + seq + "}").getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[message.length - 1 + field.length];
    System.arraycopy(message, 0, out, 0, message.length - 1);
    System.arraycopy(field, 0, out, message.length - 1, field.length);
    return out;
  }

  /** Closes the object, with the client's request id when the tag is one. */
  private static byte[] id(JsonText out, RequestTag tag) {
    if (tag instanceof ClientRequestId id) {
      out.ascii(",\"id\":").utf8(id.json());
    }
    return out.ascii("}").toBytes();
  }

  // The hot path: sized exactly, one allocation, data copied once.
  private static final byte[] RELAY_TYPE = ascii("{\"type\":\"");
  private static final byte[] RELAY_ROOM = ascii("\",\"room\":\"");
  private static final byte[] RELAY_FROM = ascii("\",\"from\":\"");
  private static final byte[] RELAY_DATA = ascii("\",\"data\":");

  private static byte[] encodeRelayed(Relayed r) {
    String kind = r.kind().wire();
    String room = r.room().value();
    String from = r.from().value();
    RawJson data = r.data();
    int length = RELAY_TYPE.length + kind.length() + RELAY_ROOM.length + room.length()
        + RELAY_FROM.length + from.length() + RELAY_DATA.length + data.length() + 1;
    byte[] out = new byte[length];
    int at = put(out, 0, RELAY_TYPE);
    at = putAscii(out, at, kind);
    at = put(out, at, RELAY_ROOM);
    at = putAscii(out, at, room);
    at = put(out, at, RELAY_FROM);
    at = putAscii(out, at, from);
    at = put(out, at, RELAY_DATA);
    System.arraycopy(data.source(), data.start(), out, at, data.length());
    out[length - 1] = '}';
    return out;
  }

  private static int put(byte[] out, int at, byte[] bytes) {
    System.arraycopy(bytes, 0, out, at, bytes.length);
    return at + bytes.length;
  }

  // Only for strings already validated to be ASCII (room names, peer ids, type names).
  @SuppressWarnings("deprecation")
  private static int putAscii(byte[] out, int at, String s) {
    s.getBytes(0, s.length(), out, at);
    return at + s.length();
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
