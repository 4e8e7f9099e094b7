package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.Event;
import io.switchboard.wire.LeaveReason;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.event.PeerResumed;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * How a {@link BackplaneMessage} travels through a Redis channel: one header line of
 * space-separated fields, then the body bytes unchanged.
 *
 * <pre>
 * 1 ORIGIN KIND PEER TO SENT_MICROS [SEQS]\nBODY
 * </pre>
 * KIND is a relay type (body = the relayed data, byte for byte), {@code server} (a server
 * message; body = its data), {@code joined} (body = meta), {@code left} (body = the reason),
 * {@code reconnecting} or {@code resumed} (no body). PEER is the sender or the member, {@code -}
 * for a server message; TO is {@code -} for the whole room. SENT_MICROS is the publisher's wall
 * clock, for the cross-node latency histogram. SEQS, present only with resume on, is the number
 * publish.lua gave the event for each resumable recipient, {@code PEER:SEQ,PEER:SEQ}, or
 * {@code -} for none (publish.lua numbers the event, or the node with the number a store's reply
 * gave it). Every header field is from a safe character set (peer ids are base64url),
 * so no escaping is needed.
 *
 * <p>KIND {@code refetch} (PEER and TO {@code -}, no body) is not an event: it tells every node
 * with resumable members in the room to read their buffers again, for an event stored and not
 * yet published (a relay whose store was not answered, or with {@code REDIS_WAIT_REPLICAS} whose
 * wait for the replica failed).
 *
 * <p>An entry of a session's buffer is {@code ROOM MESSAGE}, MESSAGE as above with SEQS {@code -}:
 * the room is not in the message, which otherwise takes it from the channel's name. The entry's
 * number is its stream id.
 */
final class WireFormat {
  private static final String VERSION = "1";
  private static final String SERVER = "server";
  private static final String NONE = "-";
  private static final String REFETCH = "refetch";

  private WireFormat() {}

  /** A message cut where publish.lua inserts the seq list: the header line without it, and the body. */
  record Parts(String header, byte[] body, int bodyStart, int bodyLength) {}

  static Parts parts(BackplaneMessage message, long sentMicros) {
    Event event = message.event();
    String kind;
    String peer;
    byte[] body;
    int bodyStart = 0;
    int bodyLength;
    if (event instanceof Relayed r) {
      kind = r.kind().wire();
      peer = r.from().value();
      body = r.data().source();
      bodyStart = r.data().start();
      bodyLength = r.data().length();
    } else if (event instanceof ServerMessage s) {
      kind = SERVER;
      peer = NONE;
      body = s.data().source();
      bodyStart = s.data().start();
      bodyLength = s.data().length();
    } else if (event instanceof PeerJoined j) {
      kind = "joined";
      peer = j.member().peer().value();
      body = j.member().metaJson().getBytes(StandardCharsets.UTF_8);
      bodyLength = body.length;
    } else if (event instanceof PeerLeft l) {
      kind = "left";
      peer = l.peer().value();
      body = l.reason().wire().getBytes(StandardCharsets.US_ASCII);
      bodyLength = body.length;
    } else {
      kind = event instanceof PeerReconnecting ? "reconnecting" : "resumed";
      peer = message.subject().value();
      body = new byte[0];
      bodyLength = 0;
    }
    String header = VERSION + ' ' + message.originNode() + ' ' + kind + ' ' + peer + ' '
        + (message.to() == null ? NONE : message.to().value()) + ' ' + sentMicros;
    return new Parts(header, body, bodyStart, bodyLength);
  }

  /** The message as published with resume off: no seq list. */
  static Buffer encode(BackplaneMessage message, long sentMicros) {
    Parts parts = parts(message, sentMicros);
    return withHeaderLine(parts.header(), parts);
  }

  /** The message with its seq list, as publish.lua would have published it. */
  static Buffer numbered(Parts parts, String seqList) {
    return withHeaderLine(parts.header() + ' ' + seqList, parts);
  }

  /** The message as an entry of a session's buffer, exactly as publish.lua stores it. */
  static Buffer stored(RoomId room, Parts parts) {
    return withHeaderLine(room.value() + ' ' + parts.header() + " -", parts);
  }

  private static Buffer withHeaderLine(String headerLine, Parts parts) {
    byte[] head = headerLine.getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[head.length + 1 + parts.bodyLength()];
    System.arraycopy(head, 0, out, 0, head.length);
    out[head.length] = '\n';
    System.arraycopy(parts.body(), parts.bodyStart(), out, head.length + 1, parts.bodyLength());
    return Buffer.buffer(out);
  }

  /** A {@code refetch} notice from {@code origin}. */
  static Buffer refetch(String origin, long sentMicros) {
    return Buffer.buffer(VERSION + ' ' + origin + ' ' + REFETCH + " - - " + sentMicros + " -\n", "US-ASCII");
  }

  /** A decoded message and the publisher's send time; the message is null for a {@code refetch} notice. */
  record Decoded(BackplaneMessage message, long sentMicros) {}

  /** @throws IllegalArgumentException when the payload is not a message of this format */
  static Decoded decode(RoomId room, Buffer payload) {
    return decode(room, payload.getBytes(), 0);
  }

  /**
   * An entry of a session's buffer, numbered {@code seq}, with that number as the message's only
   * seq.
   *
   * @throws IllegalArgumentException when it is not an entry of this format
   */
  static Numbered decodeStored(PeerId peer, long seq, byte[] entry) {
    int afterRoom = indexOf(entry, (byte) ' ', 0);
    if (afterRoom < 0) {
      throw new IllegalArgumentException("not a buffer entry");
    }
    RoomId room = new RoomId(new String(entry, 0, afterRoom, StandardCharsets.US_ASCII));
    BackplaneMessage message = decode(room, entry, afterRoom + 1).message();
    if (message == null) {
      throw new IllegalArgumentException("a notice, not a buffer entry");
    }
    return new Numbered(seq, message.numbered(Map.of(peer, seq)));
  }

  private static Decoded decode(RoomId room, byte[] bytes, int start) {
    int newline = indexOf(bytes, (byte) '\n', start);
    if (newline < 0) {
      throw new IllegalArgumentException("no header");
    }
    String[] f = new String(bytes, start, newline - start, StandardCharsets.US_ASCII).split(" ");
    if (f.length < 6 || f.length > 7 || !VERSION.equals(f[0])) {
      throw new IllegalArgumentException("bad header");
    }
    String origin = f[1];
    PeerId to = NONE.equals(f[4]) ? null : new PeerId(f[4]);
    long sentMicros = Long.parseLong(f[5]);
    if (REFETCH.equals(f[2])) {
      return new Decoded(null, sentMicros);
    }
    int bodyStart = newline + 1;
    Event event = switch (f[2]) {
      case SERVER -> new ServerMessage(room, new RawJson(bytes, bodyStart, bytes.length));
      case "joined" -> new PeerJoined(room, new Member(new PeerId(f[3]), body(bytes, bodyStart)));
      case "left" -> new PeerLeft(room, new PeerId(f[3]), LeaveReason.fromWire(body(bytes, bodyStart)));
      case "reconnecting" -> new PeerReconnecting(room, new PeerId(f[3]));
      case "resumed" -> new PeerResumed(room, new PeerId(f[3]));
      default -> new Relayed(RelayKind.fromWire(f[2]), room, new PeerId(f[3]), new RawJson(bytes, bodyStart, bytes.length));
    };
    BackplaneMessage message = new BackplaneMessage(origin, room, to, event);
    if (f.length == 7 && !NONE.equals(f[6])) {
      message = message.numbered(seqs(f[6]));
    }
    return new Decoded(message, sentMicros);
  }

  private static Map<PeerId, Long> seqs(String list) {
    Map<PeerId, Long> seqs = new HashMap<>();
    for (String item : list.split(",")) {
      int colon = item.indexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("bad seq list");
      }
      seqs.put(new PeerId(item.substring(0, colon)), Long.parseLong(item.substring(colon + 1)));
    }
    return seqs;
  }

  /**
   * A message on the control channel: {@code 1 ORIGIN KIND ID ARG1 ARG2\nBODY}, where ID names
   * the request. A {@code disconnect} has the peer and the close code as arguments and the close
   * reason as body; a {@code reply} has the requesting node and {@code 1} (done here) or
   * {@code 0} (no such peer here), and no body.
   */
  record Control(String origin, String kind, String id, String arg1, String arg2, String body) {
    static final String DISCONNECT = "disconnect";
    static final String FENCE = "fence";
    static final String REPLY = "reply";
  }

  static Buffer encode(Control control) {
    // Every header field is from a safe set: node ids, peer ids, digits and fixed words.
    String header = VERSION + ' ' + control.origin() + ' ' + control.kind() + ' ' + control.id() + ' '
        + control.arg1() + ' ' + control.arg2() + '\n';
    return Buffer.buffer(header, "US-ASCII").appendString(control.body(), "UTF-8");
  }

  /** @throws IllegalArgumentException when the payload is not a control message */
  static Control decodeControl(Buffer payload) {
    byte[] bytes = payload.getBytes();
    int newline = indexOf(bytes, (byte) '\n', 0);
    if (newline < 0) {
      throw new IllegalArgumentException("no header");
    }
    String[] f = new String(bytes, 0, newline, StandardCharsets.US_ASCII).split(" ");
    if (f.length != 6 || !VERSION.equals(f[0])) {
      throw new IllegalArgumentException("bad header");
    }
    return new Control(f[1], f[2], f[3], f[4], f[5], body(bytes, newline + 1));
  }

  private static String body(byte[] bytes, int start) {
    return new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
  }

  /** The wall clock in microseconds, for SENT_MICROS. */
  static long nowMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
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
