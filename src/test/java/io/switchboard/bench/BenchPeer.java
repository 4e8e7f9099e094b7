package io.switchboard.bench;

import io.vertx.core.http.WebSocket;
import java.util.BitSet;
import java.util.concurrent.CompletableFuture;

/**
 * One simulated client of the relay benchmark: one WebSocket, one room. All mutable state is
 * touched only on the event loop of {@link #loop}, except the futures (completed there, awaited by
 * the main thread) and the fields written once during set-up, before the load starts.
 */
final class BenchPeer {

  /** Fields of {@code data} the benchmark itself reads; no other key of data contains them. */
  static final String T_KEY = "\"bench_t\":";
  static final String S_KEY = "\"bench_s\":";
  static final String M_KEY = "\"bench_m\":";

  private static final String CANDIDATE_LINE =
      "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 192.0.2.10 rport 46154"
          + " generation 0 ufrag EsAw network-cost 999";

  final int index;
  final BenchLoop loop;
  final String room;
  /** The server this peer connects to; null means node 0. Written once during set-up. */
  ServerProcess node;
  /** The other member of the room for load peers; null for idle peers. */
  BenchPeer partner;
  /** A resumable session (--resume): its relays carry n, and it acknowledges what it received. */
  boolean numbered;
  // Relays received since the last ack (loop thread only).
  int unacked;
  /** Its TCP connection was cut by the benchmark on purpose (the gap probe). */
  volatile boolean cutByBench;

  WebSocket ws;
  volatile String selfId;
  volatile String partnerId;
  volatile boolean closed;
  /** The partner left (peer-left): like an application, this peer stops sending to it. */
  volatile boolean partnerGone;

  final CompletableFuture<Void> joined = new CompletableFuture<>();
  final CompletableFuture<Void> partnerKnown = new CompletableFuture<>();

  // Sending (loop thread only, after set-up).
  private String signalPrefix;
  private String candidatePrefix;
  long baseNs;     // scheduled time of message 0
  long nextSendNs; // scheduled time of message seq
  long seq;
  /** Seq of the current run's first message: --saturate's steps go on numbering, so a late frame stays distinct. */
  long seqBase;
  /** When the benchmark started this peer's TCP connect. */
  long connectStartNs;

  // Receiving (loop thread only).
  final BitSet measuredSeen = new BitSet();
  long lastSeq = -1;
  boolean firstRelayChecked;

  BenchPeer(int index, BenchLoop loop, String room) {
    this.index = index;
    this.loop = loop;
    this.room = room;
  }

  void learnPartner(String id) {
    if (partnerId == null && id != null) {
      partnerId = id;
      partnerKnown.complete(null);
    }
  }

  /** Builds the envelope prefixes once the partner's id is known; called before the load starts. */
  void prepareMessages() {
    signalPrefix = envelope(0) + "\"kind\":\"renegotiate\",\"muted\":false,";
    candidatePrefix = envelope(1) + "\"candidate\":\"" + CANDIDATE_LINE + "\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0,";
  }

  /** Message {@code seq}'s envelope up to its data object's opening brace. */
  private String envelope(long seq) {
    String address = switch (loop.protocol) {
      case PEERJS -> ",\"dst\":\"" + partnerId + "\"";
      case SOCKET_IO -> ",\"caller\":null,\"callee\":{\"id\":\"" + partnerId + "\"},\"room\":{\"id\":\"" + room + "\"}";
      case DIRECT -> ",\"name\":\"" + partnerId + "\"";
      case NATIVE -> ",\"room\":\"" + room + "\",\"to\":\"" + partnerId + "\"";
    };
    String open = loop.protocol == BenchLoop.Protocol.SOCKET_IO ? SOCKET_IO_EVENT + "{" : "{";
    return open + "\"type\":\"" + relayType(seq) + "\"" + address + ",\"" + dataField(seq) + "\":{";
  }

  /** A Socket.IO event packet's start, for peer-data's only event: {@code 42["message",EVENT]}. */
  private static final String SOCKET_IO_EVENT = "42[\"message\",";
  /** The start of the event in which peer-data-server echoes a client's own message to it. */
  private static final String SOCKET_IO_LOG = "42[\"log\"";

  /** peer-data's join of this peer's room, a SignalingEvent of type CONNECT. */
  String socketIoConnect() {
    return SOCKET_IO_EVENT + "{\"type\":\"CONNECT\",\"caller\":null,\"callee\":null,\"room\":{\"id\":\"" + room
        + "\"},\"payload\":null}]";
  }

  /** The type of message {@code seq}: alternately a signal and a candidate, in the server's protocol. */
  String relayType(long seq) {
    boolean signal = (seq & 1) == 0;
    return switch (loop.protocol) {
      case NATIVE -> signal ? "signal" : "candidate";
      case DIRECT -> signal ? "offer" : "candidate";
      case PEERJS, SOCKET_IO -> signal ? "OFFER" : "CANDIDATE";
    };
  }

  /** The envelope's field that carries what the benchmark sends in message {@code seq}. */
  String dataField(long seq) {
    return switch (loop.protocol) {
      case NATIVE -> "data";
      case DIRECT -> (seq & 1) == 0 ? "offer" : "candidate";
      case PEERJS, SOCKET_IO -> "payload";
    };
  }

  /** The tutorial's login of this peer's name (its id, chosen by the benchmark). */
  String directLogin() {
    return "{\"type\":\"login\",\"name\":\"" + selfId + "\"}";
  }

  /** What closes a frame after its envelope's brace: the Socket.IO packet's bracket. */
  private String frameEnd() {
    return loop.protocol == BenchLoop.Protocol.SOCKET_IO ? "]" : "";
  }

  /**
   * The text frame for message {@code seq}: alternately a {@code signal} and a {@code candidate},
   * whose {@code data} carries the send time, the sequence number and whether it belongs to the
   * measured window, padded so that the whole frame is {@code payload} bytes (when it fits).
   */
  String message(StringBuilder sb, long seq, long sentNs, boolean measured, int payload, char[] pad) {
    sb.setLength(0);
    String prefix = (seq & 1) == 0 ? signalPrefix : candidatePrefix;
    if (numbered) {
      sb.append("{\"n\":").append(seq + 1).append(',').append(prefix, 1, prefix.length());
    } else {
      sb.append(prefix);
    }
    sb
        .append(T_KEY).append(sentNs)
        .append(',').append(S_KEY).append(seq)
        .append(',').append(M_KEY).append(measured ? '1' : '0')
        .append(",\"pad\":\"");
    String end = frameEnd();
    int padLen = payload - sb.length() - 3 - end.length();
    if (padLen > 0) {
      sb.append(pad, 0, Math.min(padLen, pad.length));
    }
    sb.append("\"}}").append(end);
    return sb.toString();
  }

  /** The {@code data} JSON of {@link #message} (everything after {@code "data":}, minus the final brace). */
  String expectedData(StringBuilder sb, long seq, long sentNs, boolean measured, int payload, char[] pad) {
    String m = message(sb, seq, sentNs, measured, payload, pad);
    String key = "\"" + dataField(seq) + "\":";
    int d = m.indexOf(key);
    return m.substring(d + key.length(), m.length() - 1 - frameEnd().length());
  }

  void onText(String text) {
    long now = System.nanoTime();
    int t = text.indexOf(T_KEY);
    // peer-data-server echoes each relay to its sender in a log event.
    if (t >= 0 && !(loop.protocol == BenchLoop.Protocol.SOCKET_IO && text.startsWith(SOCKET_IO_LOG))) {
      loop.onRelay(this, text, t, now);
    } else {
      loop.onControl(this, text);
    }
  }
}
