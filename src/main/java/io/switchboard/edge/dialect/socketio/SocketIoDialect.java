package io.switchboard.edge.dialect.socketio;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.WithoutResume;
import io.switchboard.edge.dialect.JsonFields;
import io.switchboard.edge.dialect.JsonLimits;
import io.switchboard.edge.dialect.JsonText;
import io.switchboard.edge.dialect.Link;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Leave;
import io.switchboard.wire.RawJson;
import io.switchboard.signaling.command.Relay;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.wire.RequestTag;
import io.switchboard.signaling.event.Welcome;
import io.switchboard.signaling.event.Pong;
import io.switchboard.signaling.event.Joined;
import io.switchboard.wire.LeaveReason;
import io.switchboard.signaling.event.Left;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * peer-data's SocketChannel over Socket.IO at {@code /socket.io/} (docs/dialects.md), behind an
 * Engine.IO transport: {@link #receive} gets the data of one Engine.IO message packet (a
 * Socket.IO packet such as {@code 2["message",{...}]}), and {@link #encode} returns Socket.IO
 * packets, to which the transport adds the Engine.IO {@code 4}.
 *
 * <p>Engine.IO 3 carries Socket.IO protocol 4 (socket.io-client 2.x, bundled by peer-data), where
 * the server connects the client to the main namespace unasked; Engine.IO 4 carries protocol 5,
 * where the client asks with a CONNECT packet. Only the main namespace {@code /} exists.
 *
 * <p>The client emits {@code message} events holding a SignalingEvent
 * {@code {type, room:{id}, caller, callee, payload}}. Every event is forwarded with
 * {@code caller} set to {@code {"id":<peer id>}} and all other fields exactly as sent. Rooms are
 * {@code room.id} in the {@code sio} scope. {@code CONNECT} joins the room, and the event itself
 * is the member's meta, so it reaches the members present now and, as their
 * {@code peer-joined}, members who learn of it later; {@code DISCONNECT} goes to the room and
 * leaves it; {@code OFFER}, {@code ANSWER} and {@code CANDIDATE} go to {@code callee.id} only;
 * any other type goes to the room. Refusals arrive as a {@code signaling-error} event, which
 * peer-data ignores.
 */
public final class SocketIoDialect implements Dialect, WithoutResume {
  /**
   * The largest CONNECT event accepted, in bytes after the rewrite: it is kept as the member's
   * meta on every node (and in Redis) while the member stays, and repeated in every roster.
   */
  public static final int MAX_CONNECT_BYTES = 4096;
  /** Messages held while a join is in flight; more than this is refused as a flood. */
  static final int MAX_HELD = 32;
  // JavaScript numbers are exact up to 16 digits.
  private static final int MAX_ACK_DIGITS = 16;

  private static final String SCOPE = "sio";
  /** The tag of a CONNECT's join: the room.id it named, which a scoped room may hide. */
  record Connecting(String roomName) implements RequestTag {}

  /** The tag of every other event's commands: its type, so an error can name it. */
  record OfType(String type) implements RequestTag {}

  private static final JsonFactory JSON = JsonLimits.FACTORY;
  private static final byte[] MESSAGE_PREFIX = ascii("2[\"message\",");
  private static final byte[] MAIN_CONNECT = ascii("0");

  private final Link link;
  private final boolean protocol4;
  private final boolean disconnectOnDrop;
  // Protocol 4 connects implicitly; protocol 5 waits for the client's CONNECT.
  private boolean connected;
  // The rooms this client is in, each with the room.id it chose (a scoped name may be a hash).
  private final Map<RoomId, String> rooms = new HashMap<>();
  // peer-data sends CONNECT and never waits for an answer; what it sends next must not overtake
  // the join (a DISCONNECT would find no room, and the join would then strand it there).
  private int joinsInFlight;
  private final ArrayDeque<byte[]> held = new ArrayDeque<>();
  // The rewritten CONNECT of each join in flight, echoed to the client once it completes.
  private final Map<RoomId, byte[]> connecting = new HashMap<>();

  /**
   * @param engineIoVersion 3 or 4, from the {@code EIO} query parameter
   * @param disconnectOnDrop whether members of a room hear a {@code DISCONNECT} from a peer whose
   *     connection dropped (peer-data-server sends none)
   */
  public SocketIoDialect(Link link, int engineIoVersion, boolean disconnectOnDrop) {
    if (engineIoVersion != 3 && engineIoVersion != 4) {
      throw new IllegalArgumentException("unsupported Engine.IO version " + engineIoVersion);
    }
    this.link = link;
    this.protocol4 = engineIoVersion == 3;
    this.disconnectOnDrop = disconnectOnDrop;
    this.connected = protocol4;
  }

  @Override
  public void opened() {
    if (protocol4) {
      link.write(MAIN_CONNECT, false);
    }
  }

  @Override
  public Event.Visitor<byte[]> encoder() {
    return this;
  }

  @Override
  public void receive(byte[] message, boolean binary) {
    if (binary) {
      link.reject(ErrorCode.BINARY_NOT_SUPPORTED, "binary data is not supported; send JSON text", null);
    } else if (joinsInFlight == 0) {
      packet(message);
    } else if (held.size() < MAX_HELD) {
      held.add(message);
    } else {
      link.reject(ErrorCode.RATE_LIMITED, "too many messages while a room is being joined", null);
    }
  }

  // <type>[<attachments>-][<namespace>,][<ack id>][<json>]
  private void packet(byte[] m) {
    try {
      if (m.length == 0) {
        throw refusal(ErrorCode.BAD_MESSAGE, "empty Socket.IO packet");
      }
      switch (m[0]) {
        case '0' -> connect(m);
        case '1' -> {
          if (mainNamespace(m)) {
            link.close(CloseReason.NORMAL);
          }
        }
        case '2' -> event(m);
        case '5', '6' -> throw refusal(ErrorCode.BINARY_NOT_SUPPORTED, "binary events are not supported; send JSON");
        case '3', '4' -> throw refusal(ErrorCode.BAD_MESSAGE, "the server expects no ACK or CONNECT_ERROR packets");
        default -> throw refusal(ErrorCode.BAD_MESSAGE, "unknown Socket.IO packet type");
      }
    } catch (SignalingException e) {
      link.reject(e.code(), e.getMessage(), e.tag());
    }
  }

  private void connect(byte[] m) {
    int end = namespaceEnd(m);
    if (!mainNamespace(m)) {
      connectError(m, end);
      return;
    }
    if (protocol4) {
      return; // already connected in opened()
    }
    int data = afterNamespace(m, end);
    if (data < m.length) {
      try {
        JsonFields.parse(m, data, m.length); // the auth object: checked, not used
      } catch (JsonFields.MalformedJson e) {
        throw refusal(ErrorCode.BAD_JSON, "CONNECT data must be a JSON object");
      }
    }
    connected = true;
    link.write(new JsonText(40).ascii("0{\"sid\":\"").ascii(peer()).ascii("\"}").toBytes(), false);
  }

  private void connectError(byte[] m, int end) {
    for (int i = 1; i < end; i++) {
      if (m[i] >= 0 && m[i] < 0x20 || m[i] == 0x7f) {
        throw refusal(ErrorCode.BAD_MESSAGE, "invalid namespace");
      }
    }
    JsonText error = new JsonText(end + 48).ascii("4");
    error.raw(new RawJson(m, 1, end)).ascii(",");
    error.ascii(protocol4 ? "\"Invalid namespace\"" : "{\"message\":\"Invalid namespace\"}");
    link.write(error.toBytes(), false);
  }

  private void event(byte[] m) {
    if (!mainNamespace(m)) {
      throw refusal(ErrorCode.BAD_MESSAGE, "only the main namespace \"/\" is supported");
    }
    if (!connected) {
      throw refusal(ErrorCode.BAD_MESSAGE, "send CONNECT before any event");
    }
    int ackStart = afterNamespace(m, namespaceEnd(m));
    int json = ackStart;
    while (json < m.length && m[json] >= '0' && m[json] <= '9') {
      json++;
    }
    if (json - ackStart > MAX_ACK_DIGITS) {
      throw refusal(ErrorCode.BAD_MESSAGE, "ack id longer than " + MAX_ACK_DIGITS + " digits");
    }
    RawJson signalingEvent = messageArgument(m, json);
    try {
      signal(signalingEvent);
    } catch (SignalingException e) {
      link.reject(e.code(), e.getMessage(), e.tag());
    }
    if (json > ackStart) {
      JsonText ack = new JsonText(json - ackStart + 3).ascii("3");
      link.write(ack.raw(new RawJson(m, ackStart, json)).ascii("[]").toBytes(), false);
    }
  }

  /** The SignalingEvent of {@code ["message", {...}]} starting at {@code start}. */
  private static RawJson messageArgument(byte[] m, int start) {
    try (JsonParser p = JSON.createParser(m, start, m.length - start)) {
      if (p.nextToken() != JsonToken.START_ARRAY) {
        throw refusal(ErrorCode.BAD_MESSAGE, "an EVENT's data must be a JSON array");
      }
      if (p.nextToken() != JsonToken.VALUE_STRING) {
        throw refusal(ErrorCode.BAD_MESSAGE, "an EVENT's data must start with the event name");
      }
      String name = p.getText();
      if (!name.equals("message")) {
        throw refusal(ErrorCode.UNKNOWN_TYPE, "unknown event '" + printable(name) + "'; only 'message' is handled");
      }
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw refusal(ErrorCode.BAD_MESSAGE, "a 'message' event must carry a SignalingEvent object");
      }
      int from = start + (int) p.currentTokenLocation().getByteOffset();
      p.skipChildren();
      int to = start + (int) p.currentLocation().getByteOffset();
      for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
        if (t == null) {
          throw refusal(ErrorCode.BAD_JSON, "unterminated event array");
        }
        p.skipChildren();
      }
      if (p.nextToken() != null) {
        throw refusal(ErrorCode.BAD_JSON, "trailing content after the event array");
      }
      return new RawJson(m, from, to);
    } catch (StreamConstraintsException e) {
      throw refusal(ErrorCode.TOO_COMPLEX, JsonLimits.describe(e));
    } catch (IOException e) {
      throw refusal(ErrorCode.BAD_JSON, "malformed JSON");
    }
  }

  // ---- SignalingEvents ----

  private void signal(RawJson json) {
    JsonFields fields = fields(json);
    String type = fields.text("type");
    if (type == null) {
      throw refusal(ErrorCode.BAD_MESSAGE, "type must be a string");
    }
    RequestTag mark = new OfType(type);
    String roomName = id(fields, "room");
    if (roomName == null || roomName.isEmpty()) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE, "room must be an object with a non-empty string id", mark);
    }
    RoomId room = RoomId.scoped(SCOPE, roomName);
    byte[] event = rewrite(fields, json.length());
    switch (type) {
      case "CONNECT" -> {
        if (event.length > MAX_CONNECT_BYTES) {
          throw new SignalingException(ErrorCode.TOO_LARGE,
              "a CONNECT event may be at most " + MAX_CONNECT_BYTES + " bytes", mark);
        }
        joinsInFlight++;
        connecting.put(room, event);
        link.handle(new Join(room, new String(event, StandardCharsets.UTF_8), new Connecting(roomName), 0, roomName));
      }
      case "DISCONNECT" -> {
        if (!rooms.containsKey(room)) {
          throw new SignalingException(ErrorCode.NOT_IN_ROOM, "not a member of this room", mark);
        }
        link.handle(new Relay(RelayKind.SIGNAL, room, null, raw(event), mark));
        link.handle(new Leave(room, mark));
      }
      case "OFFER" -> toCallee(RelayKind.OFFER, room, fields, event, mark);
      case "ANSWER" -> toCallee(RelayKind.ANSWER, room, fields, event, mark);
      case "CANDIDATE" -> toCallee(RelayKind.CANDIDATE, room, fields, event, mark);
      default -> link.handle(new Relay(RelayKind.SIGNAL, room, null, raw(event), mark));
    }
  }

  private void toCallee(RelayKind kind, RoomId room, JsonFields fields, byte[] event, RequestTag mark) {
    String callee = id(fields, "callee");
    if (callee == null) {
      throw new SignalingException(ErrorCode.BAD_MESSAGE, "callee must be an object with a string id", mark);
    }
    if (!PeerId.isWellFormed(callee)) {
      throw new SignalingException(ErrorCode.PEER_NOT_FOUND, "no such peer in this room", mark);
    }
    link.handle(new Relay(kind, room, new PeerId(callee), raw(event), mark));
  }

  /** The string {@code id} of object field {@code name}, or null when there is none. */
  private static String id(JsonFields fields, String name) {
    JsonFields.Field field = fields.get(name);
    RawJson value = field == null ? null : field.value();
    if (value == null || value.source()[value.start()] != '{') {
      return null;
    }
    return fields(value).text("id");
  }

  private static JsonFields fields(RawJson object) {
    try {
      return JsonFields.parse(object.source(), object.start(), object.end());
    } catch (JsonFields.MalformedJson e) {
      throw refusal(e.tooComplex() ? ErrorCode.TOO_COMPLEX : ErrorCode.BAD_JSON,
          e.tooComplex() ? e.getMessage() : "malformed SignalingEvent");
    }
  }

  /**
   * {@code {"caller":{"id":<peer>}, <every other field as sent>}}; with authentication on and a
   * token that has a {@code sub}, {@code caller} also carries it as {@code "sub"}.
   */
  private byte[] rewrite(JsonFields fields, int length) {
    JsonText out = new JsonText(length + 40).ascii("{\"caller\":{\"id\":\"").ascii(peer()).ascii("\"");
    String subject = link.session().identity().subject();
    if (subject != null) {
      out.ascii(",\"sub\":").string(subject);
    }
    out.ascii("}");
    for (JsonFields.Field field : fields.all()) {
      if (!field.name().equals("caller")) {
        out.ascii(",").string(field.name()).ascii(":").raw(field.value());
      }
    }
    return out.ascii("}").toBytes();
  }

  // ---- events ----

  @Override
  public byte[] relayed(Relayed relayed) {
    return message(relayed.data());
  }

  @Override
  public byte[] peerJoined(PeerJoined joined) {
    byte[] meta = joined.member().metaJson().getBytes(StandardCharsets.UTF_8);
    return message(raw(meta));
  }

  @Override
  public byte[] peerLeft(PeerLeft left) {
    return dropped(left);
  }

  @Override
  public byte[] joined(Joined joined) {
    if (!(joined.tag() instanceof Connecting)) {
      return null;
    }
    // peer-data-server echoes each message to its sender in a 'log' event, which SocketChannel
    // hands to the app; echoing the CONNECT once joined tells a client its join is complete.
    byte[] connect = connecting.get(joined.room());
    return new JsonText(connect.length + 32).ascii("2[\"log\",\"SERVER_LOG\",").raw(raw(connect)).ascii("]").toBytes();
  }

  @Override
  public byte[] error(ErrorReply error) {
    return errorFrame(error);
  }

  // An event of its own, not a peer-data "message": peer-data ignores it, a socket.io-client app
  // listens with socket.on('server-message') (docs/dialects.md).
  @Override
  public byte[] serverMessage(ServerMessage serverMessage) {
    String roomName = rooms.get(serverMessage.room());
    if (roomName == null) {
      return null;
    }
    return new JsonText(serverMessage.data().length() + roomName.length() + 48)
        .ascii("2[\"server-message\",{\"room\":").string(roomName).ascii(",\"data\":").raw(serverMessage.data())
        .ascii("}]").toBytes();
  }

  // Welcome, pong and the replies to our own leaves carry nothing for a Socket.IO client.

  @Override
  public byte[] welcome(Welcome welcome) {
    return null;
  }

  @Override
  public byte[] left(Left left) {
    return null;
  }

  @Override
  public byte[] pong(Pong pong) {
    return null;
  }

  @Override
  public void delivered(Event event) {
    if (event instanceof Joined joined && joined.tag() instanceof Connecting connect) {
      rooms.put(joined.room(), connect.roomName());
      connecting.remove(joined.room());
      joinFinished();
    } else if (event instanceof Left left) {
      rooms.remove(left.room());
    } else if (event instanceof ErrorReply error && error.tag() instanceof Connecting connect) {
      // The error went out first, ahead of anything the packets it releases produce.
      connecting.remove(RoomId.scoped(SCOPE, connect.roomName()));
      joinFinished();
    }
  }

  private void joinFinished() {
    joinsInFlight--;
    while (joinsInFlight == 0 && !held.isEmpty()) {
      packet(held.poll());
    }
  }

  /** The DISCONNECT that peer-data needs to drop a peer whose connection ended, if wanted. */
  private byte[] dropped(PeerLeft left) {
    String roomName = rooms.get(left.room());
    if (left.reason() == LeaveReason.LEAVE || !disconnectOnDrop || roomName == null) {
      return null; // after a leave, the peer's own DISCONNECT has already been relayed
    }
    return new JsonText(160).ascii("2[\"message\",{\"type\":\"DISCONNECT\",\"room\":{\"id\":").string(roomName)
        .ascii("},\"caller\":{\"id\":\"").ascii(left.peer().value())
        .ascii("\"},\"callee\":null,\"payload\":null}]").toBytes();
  }

  private static byte[] errorFrame(ErrorReply error) {
    JsonText out = new JsonText(128).ascii("2[\"signaling-error\",{\"code\":\"").ascii(error.code().wire())
        .ascii("\",\"message\":").string(error.message());
    if (error.tag() instanceof Connecting) {
      out.ascii(",\"type\":\"CONNECT\"");
    } else if (error.tag() instanceof OfType ofType) {
      out.ascii(",\"type\":").string(ofType.type());
    }
    return out.ascii("}]").toBytes();
  }

  private static byte[] message(RawJson data) {
    byte[] out = new byte[MESSAGE_PREFIX.length + data.length() + 1];
    System.arraycopy(MESSAGE_PREFIX, 0, out, 0, MESSAGE_PREFIX.length);
    System.arraycopy(data.source(), data.start(), out, MESSAGE_PREFIX.length, data.length());
    out[out.length - 1] = ']';
    return out;
  }

  // ---- helpers ----

  private String peer() {
    return link.session().peer().value();
  }

  /** Where the namespace of packet {@code m} ends; 1 when it names none (the main one). */
  private static int namespaceEnd(byte[] m) {
    if (m.length < 2 || m[1] != '/') {
      return 1;
    }
    int end = 2;
    while (end < m.length && m[end] != ',') {
      end++;
    }
    return end;
  }

  private static int afterNamespace(byte[] m, int end) {
    return end < m.length && m[end] == ',' ? end + 1 : end;
  }

  // "/" with or without a query: protocol 4 clients put their query in the namespace.
  private static boolean mainNamespace(byte[] m) {
    int end = namespaceEnd(m);
    return end == 1 || end == 2 || m[2] == '?';
  }

  private static RawJson raw(byte[] bytes) {
    return new RawJson(bytes, 0, bytes.length);
  }

  private static SignalingException refusal(ErrorCode code, String message) {
    return new SignalingException(code, message, null);
  }

  private static String printable(String s) {
    String cut = s.length() > 32 ? s.substring(0, 32) + "..." : s;
    return cut.replaceAll("[^\\x20-\\x7e]", "?").replace("'", "?");
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
