package io.switchboard.edge.dialect.switchboard;

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
    return new Relay(kind, room, to, e.data, e.id);
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
      return id(new JsonText(32).ascii("{\"type\":\"pong\""), p.tag());
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
  };

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
