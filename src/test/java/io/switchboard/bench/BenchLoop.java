package io.switchboard.bench;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * The benchmark's state for one client event loop: the peers whose sockets live on it, the send
 * schedule, and the receive-side counters and histograms. Everything here runs on {@link #context}
 * only (no locks); the main thread reads it through {@code context.runOnContext} after the run.
 */
final class BenchLoop extends Counters {

  final int index;
  final Context context;
  final String threadName;
  /** What its peers' clients speak. */
  enum Protocol {
    /** Switchboard's own, at /ws. */
    NATIVE,
    /** PeerJS's (--peerjs): no rooms, ids of the clients' choosing. */
    PEERJS,
    /** peer-data's SocketChannel over Socket.IO (--socket-io): Engine.IO 3 on a WebSocket only. */
    SOCKET_IO,
    /** The WebRTC tutorial's login protocol (--direct): names of the clients' choosing, no rooms. */
    DIRECT
  }

  final Protocol protocol;

  /** Shared with the main thread for progress lines only. */
  final LongAdder progressSent;
  final LongAdder progressReceived;
  final LongAdder progressMeasuredSent;
  final LongAdder progressMeasuredDelivered;

  final List<BenchPeer> senders = new ArrayList<>();
  private final StringBuilder sb = new StringBuilder(1024);

  // Schedule, set on this loop before the timer starts.
  long measureStartNs;
  long measureEndNs;
  /** Nanoseconds between two sends of one peer (1e9 / its rate). */
  double periodNs;
  int payload;
  char[] pad;
  long timerId = -1;

  boolean closingAll;
  String firstProblem;

  private final Handler<Throwable> onWriteFailure = e -> writeFailures++;

  BenchLoop(int index, Context context, String threadName, LongAdder sent, LongAdder received,
      LongAdder measuredSent, LongAdder measuredDelivered, Protocol protocol) {
    this.index = index;
    this.context = context;
    this.threadName = threadName;
    this.protocol = protocol;
    this.progressSent = sent;
    this.progressReceived = received;
    this.progressMeasuredSent = measuredSent;
    this.progressMeasuredDelivered = measuredDelivered;
  }

  private void problem(String what) {
    if (firstProblem == null) {
      firstProblem = what;
    }
  }

  /**
   * The 1 ms periodic tick: sends every message whose scheduled time has passed, for every peer
   * of this loop, without waiting for anything (open loop). Messages scheduled at or after the end
   * of the measured window are not sent.
   */
  void tick() {
    long now = System.nanoTime();
    for (int i = 0, n = senders.size(); i < n; i++) {
      BenchPeer p = senders.get(i);
      int burst = 0;
      while (p.nextSendNs <= now && p.nextSendNs < measureEndNs) {
        long scheduled = p.nextSendNs;
        long seq = p.seq++;
        p.nextSendNs = p.baseNs + (long) ((p.seq - p.seqBase) * periodNs);
        boolean measured = scheduled >= measureStartNs;
        long t = System.nanoTime();
        if (p.closed || p.partnerGone) {
          closedSkips++; // counted as sent (it was due) and so as lost
        } else {
          String msg = p.message(sb, seq, t, measured, payload, pad);
          try {
            p.ws.writeTextMessage(msg).onFailure(onWriteFailure);
            if (p.ws.writeQueueFull()) {
              writeQueueFullSeen++;
            }
          } catch (RuntimeException e) { // Vert.x throws when the socket has just closed
            writeFailures++;
          }
        }
        long lagNs = t - scheduled;
        if (lagNs > maxLagAllNs) {
          maxLagAllNs = lagNs;
        }
        sentTotal++;
        progressSent.increment();
        if (measured) {
          sentMeasured++;
          progressMeasuredSent.increment();
          lag.recordNanos(lagNs);
        }
        if (++burst >= 10_000) { // bound one tick; the rest goes out on the next one
          tickCapHits++;
          break;
        }
      }
    }
  }

  /** As switchboard.js does: an ack after every 16 numbered events. */
  private static final int ACK_EVERY = 16;

  /** A relayed benchmark message arrived at {@code p}; {@code t} is the index of the time key. */
  void onRelay(BenchPeer p, String text, int t, long nowNs) {
    long sentNs;
    long seq;
    boolean measured;
    try {
      sentNs = parseLong(text, t + BenchPeer.T_KEY.length());
      int s = text.indexOf(BenchPeer.S_KEY, t);
      seq = parseLong(text, s + BenchPeer.S_KEY.length());
      int m = text.indexOf(BenchPeer.M_KEY, s);
      measured = text.charAt(m + BenchPeer.M_KEY.length()) == '1';
    } catch (RuntimeException e) {
      badEnvelope++;
      problem("unparsable relay: " + abbreviate(text));
      return;
    }
    progressReceived.increment();
    if (p.numbered && ++p.unacked == ACK_EVERY) {
      p.unacked = 0;
      int at = text.lastIndexOf("\"seq\":");
      if (at > 0) {
        p.ws.writeTextMessage("{\"type\":\"ack\",\"seq\":" + text.substring(at + 6, text.length() - 1) + "}");
      }
    }
    if (!p.firstRelayChecked || seq % 64 == 0) {
      checkEnvelope(p, text, seq, sentNs, measured);
      p.firstRelayChecked = true;
    }
    if (seq <= p.lastSeq) {
      outOfOrder++;
    } else {
      p.lastSeq = seq;
    }
    if (nowNs >= measureStartNs && nowNs < measureEndNs) {
      receivedInWindow++;
    }
    if (measured) {
      if (p.measuredSeen.get((int) seq)) {
        duplicates++;
      } else {
        p.measuredSeen.set((int) seq);
        deliveredMeasured++;
        progressMeasuredDelivered.increment();
        latency.recordNanos(nowNs - sentNs);
        if (sentNs >= measureStartNs + (measureEndNs - measureStartNs) / 2) {
          latencyLastHalf.recordNanos(nowNs - sentNs);
        }
      }
    }
  }

  /** Full check of one relayed frame: envelope fields, and data byte for byte as the partner wrote it. */
  private void checkEnvelope(BenchPeer p, String text, long seq, long sentNs, boolean measured) {
    try {
      JsonObject j = protocol == Protocol.SOCKET_IO ? socketIoMessage(text) : new JsonObject(text);
      String type = String.valueOf(j.getValue("type"));
      String expectedType = p.relayType(seq);
      boolean envelope = switch (protocol) {
        case PEERJS -> String.valueOf(p.partnerId).equals(j.getValue("src")) && String.valueOf(p.selfId).equals(j.getValue("dst"));
        case SOCKET_IO -> String.valueOf(p.partnerId).equals(idOf(j, "caller")) && String.valueOf(p.selfId).equals(idOf(j, "callee"))
            && p.room.equals(idOf(j, "room"));
        case NATIVE -> p.room.equals(j.getValue("room")) && String.valueOf(p.partnerId).equals(j.getValue("from"));
        // The tutorial names the caller of an offer only.
        case DIRECT -> (seq & 1) == 1 || String.valueOf(p.partnerId).equals(j.getValue("name"));
      };
      if (!expectedType.equals(type) || !envelope || !(j.getValue(p.dataField(seq)) instanceof JsonObject)) {
        badEnvelope++;
        problem("unexpected relay envelope (want type=" + expectedType
            + (protocol == Protocol.PEERJS || protocol == Protocol.DIRECT ? "" : " room=" + p.room)
            + " from=" + p.partnerId + "): " + abbreviate(text));
        return;
      }
    } catch (RuntimeException e) {
      badEnvelope++;
      problem("relay is not a JSON object: " + abbreviate(text));
      return;
    }
    String expected = p.partner.expectedData(sb, seq, sentNs, measured, payload, pad);
    String key = "\"" + p.dataField(seq) + "\":";
    int d = text.indexOf(key);
    if (d < 0 || !text.startsWith(expected, d + key.length())) {
      dataMismatch++;
      problem("data not relayed byte for byte: got " + abbreviate(text) + " expected data " + abbreviate(expected));
    }
  }

  /** The event of a Socket.IO {@code message} packet: {@code 42["message",{...}]}. */
  private static JsonObject socketIoMessage(String text) {
    JsonArray packet = new JsonArray(text.substring(2));
    if (!"message".equals(packet.getValue(0)) || !(packet.getValue(1) instanceof JsonObject event)) {
      throw new IllegalArgumentException("not a message event");
    }
    return event;
  }

  /** {@code event.field.id}: a peer-data SignalingEvent names its caller, callee and room so. */
  private static Object idOf(JsonObject event, String field) {
    return event.getValue(field) instanceof JsonObject named ? named.getValue("id") : null;
  }

  /** Any non-benchmark frame: welcome, joined, peer-joined, peer-left, error... */
  void onControl(BenchPeer p, String text) {
    if (protocol == Protocol.SOCKET_IO) {
      onSocketIoControl(p, text);
      return;
    }
    JsonObject j;
    try {
      j = new JsonObject(text);
    } catch (RuntimeException e) {
      unexpectedFrames++;
      problem("non-JSON frame: " + abbreviate(text));
      return;
    }
    if (protocol == Protocol.DIRECT) {
      onDirectControl(p, j, text);
      return;
    }
    String type = String.valueOf(j.getValue("type"));
    switch (type) {
      case "welcome" -> {
        if (p.selfId == null && j.getValue("peer") instanceof String id) {
          p.selfId = id;
        }
      }
      case "joined" -> {
        if (j.getValue("peer") instanceof String id) {
          p.selfId = id;
        }
        if (j.getValue("peers") instanceof JsonArray peers) {
          for (Object o : peers) {
            if (o instanceof JsonObject member && member.getValue("peer") instanceof String other) {
              p.learnPartner(other);
              break;
            }
          }
        }
        p.joined.complete(null);
      }
      case "peer-joined" -> {
        if (j.getValue("peer") instanceof String other) {
          p.learnPartner(other);
        }
      }
      // What the gap probe's cut makes the server tell its partner (protocol.md, "Resume").
      case "peer-reconnecting" -> {
        if (p.partner == null || !p.partner.cutByBench) {
          unexpectedFrames++;
          problem("unexpected frame: " + abbreviate(text));
        }
      }
      case "peer-left" -> {
        peerLeft++;
        if (p.partnerId != null && p.partnerId.equals(j.getValue("peer"))) {
          p.partnerGone = true;
        }
      }
      case "error" -> {
        String code = String.valueOf(j.getValue("code"));
        errors.merge(code, 1L, Long::sum);
        problem("error frame: " + abbreviate(text));
        if (!p.joined.isDone() && "join".equals(String.valueOf(j.getValue("id")))) {
          p.joined.completeExceptionally(new IllegalStateException("join refused: " + text));
        }
      }
      case "pong" -> { }
      // PeerJS: set up; a partner gone; refused.
      case "OPEN" -> p.joined.complete(null);
      case "LEAVE", "EXPIRE" -> {
        peerLeft++;
        if (p.partnerId != null && p.partnerId.equals(j.getValue("src"))) {
          p.partnerGone = true;
        }
      }
      case "ERROR", "ID-TAKEN" -> {
        errors.merge(type, 1L, Long::sum);
        problem("error frame: " + abbreviate(text));
        p.joined.completeExceptionally(new IllegalStateException("refused: " + text));
      }
      default -> {
        unexpectedFrames++;
        problem("unexpected frame: " + abbreviate(text));
      }
    }
  }

  /**
   * peer-data over Socket.IO: the open packet and the server's CONNECT of the main namespace (the
   * client then joins its room), the echo of the join in a {@code log} event (set up: the server
   * has the peer in its room; peer-data-server echoes every message so, Switchboard the join),
   * the partner's CONNECT (its id), a DISCONNECT, a refusal.
   */
  private void onSocketIoControl(BenchPeer p, String text) {
    if (text.startsWith("0{") || text.equals("3")) {
      return; // Engine.IO's open packet (the bench asks for no heartbeat), a pong
    }
    if (text.equals("40")) {
      p.ws.writeTextMessage(p.socketIoConnect());
      return;
    }
    JsonArray packet;
    try {
      packet = text.startsWith("42") ? new JsonArray(text.substring(2)) : null;
    } catch (RuntimeException e) {
      packet = null;
    }
    Object name = packet == null ? null : packet.getValue(0);
    if ("log".equals(name) && packet.getValue(2) instanceof JsonObject logged) {
      // The echo of the peer's own messages: its relays' only on peer-data-server.
      if ("CONNECT".equals(logged.getValue("type")) && idOf(logged, "caller") instanceof String id) {
        p.selfId = id;
        p.joined.complete(null);
      }
      return;
    }
    if ("message".equals(name) && packet.getValue(1) instanceof JsonObject event) {
      switch (String.valueOf(event.getValue("type"))) {
        case "CONNECT" -> {
          if (idOf(event, "caller") instanceof String other) {
            p.learnPartner(other);
          }
        }
        case "DISCONNECT" -> {
          peerLeft++;
          if (p.partnerId != null && p.partnerId.equals(idOf(event, "caller"))) {
            p.partnerGone = true;
          }
        }
        default -> {
          unexpectedFrames++;
          problem("unexpected event: " + abbreviate(text));
        }
      }
      return;
    }
    if ("signaling-error".equals(name) && packet.getValue(1) instanceof JsonObject error) {
      errors.merge(String.valueOf(error.getValue("code")), 1L, Long::sum);
      problem("signaling-error: " + abbreviate(text));
      p.joined.completeExceptionally(new IllegalStateException("refused: " + text));
      return;
    }
    unexpectedFrames++;
    problem("unexpected frame: " + abbreviate(text));
  }

  /** The tutorial's login protocol: the login's answer (set up, or refused), a leave, an error. */
  private void onDirectControl(BenchPeer p, JsonObject j, String text) {
    switch (String.valueOf(j.getValue("type"))) {
      case "login" -> {
        if (Boolean.TRUE.equals(j.getValue("success"))) {
          p.joined.complete(null);
        } else {
          errors.merge("login", 1L, Long::sum);
          problem("login refused: " + abbreviate(text));
          p.joined.completeExceptionally(new IllegalStateException("login refused: " + text));
        }
      }
      case "leave" -> {
        peerLeft++;
        p.partnerGone = true; // the tutorial's leave names nobody: the only one it calls is its partner
      }
      case "error" -> {
        errors.merge("error", 1L, Long::sum);
        problem("error frame: " + abbreviate(text));
      }
      default -> {
        unexpectedFrames++;
        problem("unexpected frame: " + abbreviate(text));
      }
    }
  }

  void onClose(BenchPeer p) {
    p.closed = true;
    if (!closingAll && !p.cutByBench) {
      unexpectedCloses++;
      Short code = p.ws == null ? null : p.ws.closeStatusCode();
      closeCodes.merge(String.valueOf(code), 1L, Long::sum);
      problem("socket of peer " + p.index + " (room " + p.room + ") closed by the server, code " + code
          + (p.ws != null && p.ws.closeReason() != null ? " reason '" + p.ws.closeReason() + "'" : ""));
    }
    p.joined.completeExceptionally(new IllegalStateException("closed before joined"));
    p.partnerKnown.completeExceptionally(new IllegalStateException("closed before the partner joined"));
  }

  void onException(BenchPeer p, Throwable e) {
    if (!closingAll && !p.cutByBench) {
      socketExceptions++;
      problem("socket exception on peer " + p.index + ": " + e);
    }
  }

  private static long parseLong(String s, int from) {
    int i = from;
    int n = s.length();
    long v = 0;
    boolean any = false;
    boolean negative = i < n && s.charAt(i) == '-';
    if (negative) {
      i++;
    }
    while (i < n) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        break;
      }
      v = v * 10 + (c - '0');
      any = true;
      i++;
    }
    if (!any) {
      throw new NumberFormatException("no digits at " + from);
    }
    return negative ? -v : v;
  }

  static String abbreviate(String s) {
    return s.length() <= 300 ? s : s.substring(0, 300) + "...(" + s.length() + " chars)";
  }
}
