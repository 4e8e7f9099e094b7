package io.switchboard.edge.dialect.direct;

import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.WithoutResume;
import io.switchboard.edge.dialect.JsonFields;
import io.switchboard.edge.dialect.JsonText;
import io.switchboard.edge.dialect.Link;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RoomId;
import io.switchboard.signaling.command.Deliver;
import io.switchboard.signaling.command.Join;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.wire.RequestTag;
import io.switchboard.signaling.event.Welcome;
import io.switchboard.signaling.event.Pong;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.Left;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import java.nio.charset.StandardCharsets;

/**
 * The tutorial's login protocol at {@code /direct} (docs/dialects.md): users log in with a name
 * and call each other by name.
 *
 * <p>A name is a room of capacity 1 in the {@code direct} scope, so the backplane's atomic join
 * makes names unique across the cluster, and the room's membership (released on close or when
 * the node dies) says who holds it. Messages to a name are {@link Deliver}ed to that room; the
 * sender builds the exact frame the receiver gets, so the receiving node only forwards bytes.
 */
public final class DirectDialect implements Dialect, WithoutResume {
  /** The longest name accepted, in characters. */
  public static final int MAX_NAME_CHARS = 128;

  // The tags of our own commands, so a reply can be told apart.
  private enum Login implements RequestTag { TAG }

  /** A call message ({@code offer}, {@code answer}, {@code candidate}) to {@code name}. */
  private record To(String name) implements RequestTag {}

  /** A {@code leave} to {@code name}. */
  private record HangUp(String name) implements RequestTag {}

  private static final byte[] LOGIN_SUCCESS =
      "{\"type\":\"login\",\"success\":true}".getBytes(StandardCharsets.US_ASCII);

  private final Link link;
  private String name;
  private String pendingName;
  // Whom this user last called or answered: told with 'leave' when this socket closes.
  private String otherName;

  public DirectDialect(Link link) {
    this.link = link;
  }

  @Override
  public Event.Visitor<byte[]> encoder() {
    return this;
  }

  @Override
  public void receive(byte[] message, boolean binary) {
    if (binary) {
      error(ErrorCode.BINARY_NOT_SUPPORTED, "Binary messages are not supported; send JSON text");
      return;
    }
    JsonFields fields;
    try {
      fields = JsonFields.parse(message);
    } catch (JsonFields.MalformedJson e) {
      if (e.tooComplex()) {
        error(ErrorCode.TOO_COMPLEX, e.getMessage());
      } else {
        error(ErrorCode.BAD_JSON, "Invalid JSON");
      }
      return;
    }
    String type = fields.text("type");
    if (type == null) {
      error(ErrorCode.BAD_MESSAGE, "Message has no type");
      return;
    }
    switch (type) {
      case "login" -> login(fields);
      case "offer" -> call(fields, RelayKind.OFFER, "offer", true);
      case "answer" -> call(fields, RelayKind.ANSWER, "answer", false);
      case "candidate" -> call(fields, RelayKind.CANDIDATE, "candidate", false);
      case "leave" -> leave(fields);
      default -> error(ErrorCode.UNKNOWN_TYPE, "Command not found: " + printable(type));
    }
  }

  private void login(JsonFields fields) {
    String wanted = fields.text("name");
    if (!validName(wanted)) {
      error(ErrorCode.BAD_MESSAGE, "name must be a string of 1-" + MAX_NAME_CHARS + " characters");
    } else if (pendingName != null) {
      error(ErrorCode.BAD_MESSAGE, "Login already in progress");
    } else if (name != null && !name.equals(wanted)) {
      error(ErrorCode.BAD_MESSAGE, "Already logged in as " + name);
    } else if (name != null) {
      link.write(LOGIN_SUCCESS, false);
    } else {
      pendingName = wanted;
      String meta = new JsonText(32).ascii("{\"name\":").string(wanted).ascii("}").toString();
      link.handle(new Join(nameRoom(wanted), meta, Login.TAG, 1, wanted));
    }
  }

  private void call(JsonFields fields, RelayKind kind, String payloadField, boolean withCaller) {
    String target = target(fields);
    if (target == null) {
      return;
    }
    JsonFields.Field payload = fields.get(payloadField);
    if (payload == null) {
      error(ErrorCode.BAD_MESSAGE, payloadField + " is required");
      return;
    }
    JsonText frame = new JsonText(payload.value().length() + 64)
        .ascii("{\"type\":\"").ascii(payloadField).ascii("\",\"").ascii(payloadField).ascii("\":")
        .raw(payload.value());
    if (withCaller) {
      frame.ascii(",\"name\":").string(name);
      String subject = link.session().identity().subject();
      if (subject != null) {
        frame.ascii(",\"sub\":").string(subject);
      }
    }
    if (kind != RelayKind.CANDIDATE) {
      otherName = target;
    }
    deliver(kind, target, frame.ascii("}").toBytes(), new To(target));
  }

  private void leave(JsonFields fields) {
    String target = target(fields);
    if (target == null) {
      return;
    }
    if (target.equals(otherName)) {
      otherName = null;
    }
    deliver(RelayKind.SIGNAL, target, leaveFrame(), new HangUp(target));
  }

  /** The name a call message is for, or null after telling the client what is wrong. */
  private String target(JsonFields fields) {
    if (name == null) {
      error(ErrorCode.BAD_MESSAGE, "Not logged in: send login first");
      return null;
    }
    String target = fields.text("name");
    if (!validName(target)) {
      error(ErrorCode.BAD_MESSAGE, "name must be a string of 1-" + MAX_NAME_CHARS + " characters");
      return null;
    }
    if (target.equals(name)) {
      error(ErrorCode.BAD_MESSAGE, "Cannot call yourself");
      return null;
    }
    return target;
  }

  private void deliver(RelayKind kind, String target, byte[] frame, RequestTag tag) {
    link.handle(new Deliver(kind, nameRoom(target), new RawJson(frame, 0, frame.length), tag));
  }

  private byte[] leaveFrame() {
    return new JsonText(32).ascii("{\"type\":\"leave\",\"name\":").string(name).ascii("}").toBytes();
  }

  @Override
  public void closing() {
    if (name != null && otherName != null) {
      deliver(RelayKind.SIGNAL, otherName, leaveFrame(), new HangUp(otherName));
      otherName = null;
    }
  }

  // ---- events ----

  @Override
  public byte[] relayed(Relayed relayed) {
    return relayed.data().bytes();
  }

  @Override
  public byte[] joined(Joined joined) {
    return joined.tag() == Login.TAG ? LOGIN_SUCCESS : null;
  }

  @Override
  public byte[] error(ErrorReply error) {
    RequestTag tag = error.tag();
    if (tag == Login.TAG) {
      String why = switch (error.code()) {
        case ROOM_FULL -> "Name is taken";
        case FORBIDDEN -> "Name not allowed by your token";
        default -> error.message();
      };
      return new JsonText(64).ascii("{\"type\":\"login\",\"success\":false,\"message\":").string(why)
          .ascii("}").toBytes();
    }
    if (tag instanceof HangUp) {
      // Hanging up on someone who is already gone is not an error.
      return error.code() == ErrorCode.PEER_NOT_FOUND ? null : errorFrame(error.code(), error.message());
    }
    if (tag instanceof To to && error.code() == ErrorCode.PEER_NOT_FOUND) {
      return errorFrame(error.code(), "User " + to.name() + " is not logged in");
    }
    return errorFrame(error.code(), error.message());
  }

  // A type the tutorial's client does not know, so it cannot be mistaken for a call message;
  // clients that ignore unknown types ignore it (docs/dialects.md).
  @Override
  public byte[] serverMessage(ServerMessage serverMessage) {
    return new JsonText(serverMessage.data().length() + 32).ascii("{\"type\":\"server\",\"data\":")
        .raw(serverMessage.data()).ascii("}").toBytes();
  }

  // The tutorial protocol has no welcome, roster, membership events or pongs.

  @Override
  public byte[] welcome(Welcome welcome) {
    return null;
  }

  @Override
  public byte[] peerJoined(PeerJoined peerJoined) {
    return null;
  }

  @Override
  public byte[] left(Left left) {
    return null;
  }

  @Override
  public byte[] peerLeft(PeerLeft peerLeft) {
    return null;
  }

  @Override
  public byte[] pong(Pong pong) {
    return null;
  }

  @Override
  public void delivered(Event event) {
    if (event instanceof Relayed relayed && relayed.kind() == RelayKind.SIGNAL) {
      hungUpBy(relayed.data());
    } else if (event instanceof Joined joined && joined.tag() == Login.TAG) {
      name = pendingName;
      pendingName = null;
    } else if (event instanceof ErrorReply error && error.tag() == Login.TAG) {
      pendingName = null;
    }
  }

  /** A 'leave' from the user we were talking to ends that call on this side too. */
  private void hungUpBy(RawJson leave) {
    if (otherName == null) {
      return;
    }
    try {
      if (otherName.equals(JsonFields.parse(leave.source(), leave.start(), leave.end()).text("name"))) {
        otherName = null;
      }
    } catch (JsonFields.MalformedJson e) {
      // Built by a Switchboard node, so never malformed; nothing to clear either way.
    }
  }

  private void error(ErrorCode code, String message) {
    link.reject(code, message, null);
  }

  private static byte[] errorFrame(ErrorCode code, String message) {
    return new JsonText(64).ascii("{\"type\":\"error\",\"code\":\"").ascii(code.wire())
        .ascii("\",\"message\":").string(message).ascii("}").toBytes();
  }


  static RoomId nameRoom(String name) {
    return RoomId.scoped("direct", name);
  }

  private static boolean validName(String name) {
    return name != null && !name.isEmpty() && name.length() <= MAX_NAME_CHARS;
  }

  private static String printable(String s) {
    String cut = s.length() > 32 ? s.substring(0, 32) + "..." : s;
    return cut.replaceAll("[\\p{Cntrl}]", "?");
  }
}
