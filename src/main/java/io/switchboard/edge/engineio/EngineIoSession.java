package io.switchboard.edge.engineio;

import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.Link;
import io.switchboard.edge.engineio.EngineIoPacket.PacketType;
import io.switchboard.security.Ticket;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RequestTag;
import io.switchboard.signaling.Outbound;
import io.switchboard.signaling.Session;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.event.Event;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Engine.IO client: a hub session whose messages travel over HTTP long-polling, over a
 * WebSocket, or over polling first and then a WebSocket after the upgrade.
 *
 * <p>Every field is owned by the event loop that accepted the handshake ({@link #owner}). Polling
 * requests and WebSockets arrive on whatever loop their connection has; the server hops onto the
 * owner to touch the session, and each write hops back onto the loop of the connection written
 * to.
 */
final class EngineIoSession implements Outbound, Link {
  private static final Logger log = LoggerFactory.getLogger(EngineIoSession.class);
  /** How long a client gets to finish an upgrade it started with a probe. */
  static final long UPGRADE_TIMEOUT_MILLIS = 10_000;

  /** A held polling request and the event loop its connection belongs to. */
  record Poll(HttpServerResponse response, Context context) {}

  final String sid;
  final Context owner;
  // The owner's thread: request handlers run on duplicates of the verticle's context, so the
  // context itself cannot tell which verticle a session belongs to.
  final Thread ownerThread = Thread.currentThread();
  final EngineIoCodec codec;
  /** The slot this session holds and the identity it was admitted with. */
  final Ticket ticket;
  private final EngineIoServer server;
  private final Session session;
  private final Dialect dialect;
  private final long createdNanos;

  private final List<EngineIoPacket> outbox = new ArrayList<>();
  // Events handed to the owner loop and not yet encoded; any thread.
  private final AtomicInteger queued = new AtomicInteger();
  private int outboxChars;
  private Poll pendingPoll;
  // The upgraded transport, or the only one of a WebSocket-only client.
  private ServerWebSocket ws;
  private Context wsContext;
  // A WebSocket that has sent its probe but not yet its upgrade packet.
  private ServerWebSocket probing;
  private long upgradeTimer = -1;
  private long lastHeardNanos;
  private long lastPingNanos;
  private boolean closed;

  /** Creates the session on the current event loop, which becomes its owner. */
  EngineIoSession(EngineIoServer server, String sid, EngineIoCodec codec,
      Function<Link, Dialect> dialect, Ticket ticket, long nowNanos) {
    this.server = server;
    this.sid = sid;
    this.codec = codec;
    this.ticket = ticket;
    this.owner = server.vertx.getOrCreateContext();
    this.createdNanos = nowNanos;
    this.lastHeardNanos = nowNanos;
    this.lastPingNanos = nowNanos;
    this.session = server.hub.open(this, nowNanos, ticket.identity());
    this.dialect = dialect.apply(this);
  }

  /** Sends the open packet, lets the dialect greet, and starts the heartbeat. Owner only. */
  void start(String openPacketData) {
    push(EngineIoPacket.text(PacketType.OPEN, openPacketData));
    dialect.opened();
    server.keepHeartbeat(this);
  }

  // ---- transports (owner thread) ----

  /** A polling GET: answered at once when there is something to send, else held. */
  void poll(Poll poll) {
    if (closed) {
      server.respondPayload(poll, codec, List.of(EngineIoPacket.text(PacketType.CLOSE)));
      return;
    }
    if (ws != null) {
      server.respondError(poll, 400, EngineIoServer.BAD_REQUEST, "Bad request: the session has upgraded");
      return;
    }
    if (pendingPoll != null) {
      // Two polls at once means a broken or hostile client: engine.io closes the session too.
      server.respondError(poll, 400, EngineIoServer.BAD_REQUEST, "Bad request: overlapping polls");
      closeNow(CloseReason.NORMAL, false);
      return;
    }
    if (probing != null) {
      // The client pauses polling to upgrade; a no-op lets its poll finish.
      server.respondPayload(poll, codec, List.of(EngineIoPacket.text(PacketType.NOOP)));
      return;
    }
    pendingPoll = poll;
    flush();
  }

  /** A held poll's connection went away before it was answered. */
  void pollGone(Poll poll) {
    if (pendingPoll == poll) {
      pendingPoll = null;
    }
  }

  /** The packets of a polling POST. */
  void received(List<EngineIoPacket> packets) {
    for (EngineIoPacket packet : packets) {
      if (closed) {
        return;
      }
      onPacket(packet);
    }
  }

  /** A WebSocket that arrived with this session's sid, to upgrade to. */
  void upgradeTo(ServerWebSocket socket, Context context) {
    if (closed || ws != null || probing != null) {
      server.closeSocket(socket, context);
      return;
    }
    probing = socket;
    wsContext = context;
    upgradeTimer = server.vertx.setTimer(UPGRADE_TIMEOUT_MILLIS, id -> {
      upgradeTimer = -1;
      if (probing == socket) {
        probing = null;
        server.closeSocket(socket, context);
      }
    });
  }

  /** A WebSocket-only client's socket: the session's one transport from the start. */
  void attach(ServerWebSocket socket, Context context) {
    ws = socket;
    wsContext = context;
    flush();
  }

  void onWebSocketText(ServerWebSocket socket, String text) {
    if (closed) {
      return;
    }
    if (socket == probing) {
      onProbeText(socket, text);
    } else if (socket == ws) {
      decodeAndHandle(text);
    }
  }

  void onWebSocketBinary(ServerWebSocket socket, byte[] frame) {
    if (closed || socket != ws) {
      return;
    }
    try {
      onPacket(codec.decodeBinaryFrame(frame));
    } catch (EngineIoException e) {
      malformed(e);
    }
  }

  private void onProbeText(ServerWebSocket socket, String text) {
    if ("2probe".equals(text)) {
      writeToSocket(socket, wsContext, "3probe");
      if (pendingPoll != null) {
        Poll poll = pendingPoll;
        pendingPoll = null;
        server.respondPayload(poll, codec, List.of(EngineIoPacket.text(PacketType.NOOP)));
      }
    } else if ("5".equals(text)) {
      probing = null;
      if (upgradeTimer >= 0) {
        server.vertx.cancelTimer(upgradeTimer);
        upgradeTimer = -1;
      }
      ws = socket;
      lastHeardNanos = System.nanoTime();
      flush();
    } else {
      probing = null;
      server.closeSocket(socket, wsContext);
    }
  }

  void onWebSocketClosed(ServerWebSocket socket) {
    if (socket == probing) {
      probing = null;
    } else if (socket == ws && !closed) {
      closeNow(CloseReason.NORMAL, false);
    }
  }

  private void decodeAndHandle(String text) {
    try {
      onPacket(codec.decodePacket(text));
    } catch (EngineIoException e) {
      malformed(e);
    }
  }

  // Engine.IO has no error packet; the dialect's error event is the clear answer it can get.
  private void malformed(EngineIoException e) {
    reject(ErrorCode.BAD_MESSAGE, "malformed Engine.IO packet: " + e.getMessage(), null);
  }

  private void onPacket(EngineIoPacket packet) {
    lastHeardNanos = System.nanoTime();
    switch (packet.type()) {
      case PING -> push(EngineIoPacket.text(PacketType.PONG, packet.data()));
      case MESSAGE -> onMessage(packet);
      case CLOSE -> closeNow(CloseReason.NORMAL, false);
      default -> { } // pong and noop only show the client is alive; open and upgrade mean nothing here
    }
  }

  private void onMessage(EngineIoPacket packet) {
    byte[] message = packet.data().getBytes(StandardCharsets.UTF_8);
    server.metrics.bytesIn(message.length);
    switch (session.admit(lastHeardNanos)) {
      case REJECT -> {
        reject(ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED.defaultMessage(), null);
        return;
      }
      case CLOSE -> {
        closeNow(CloseReason.FLOODING, true);
        return;
      }
      case ACCEPT -> { }
    }
    if (packet.binary()) {
      reject(ErrorCode.BINARY_NOT_SUPPORTED, ErrorCode.BINARY_NOT_SUPPORTED.defaultMessage(), null);
    } else if (message.length > server.maxMessageBytes) {
      reject(ErrorCode.TOO_LARGE, "message larger than " + server.maxMessageBytes + " bytes", null);
    } else {
      dialect.receive(message, false);
    }
  }

  /**
   * Version 3 clients ping and the server answers; version 4 servers ping and clients answer.
   * Either way, a client silent for a ping interval plus the ping timeout is gone. A session
   * whose token has expired (grace period included) is closed too.
   */
  void heartbeat(long now, long wallMillis) {
    if (silentTooLong(now)) {
      closeNow(CloseReason.IDLE_TIMEOUT, false);
    } else if (ticket.expired(wallMillis)) {
      closeNow(CloseReason.TOKEN_EXPIRED, true);
    } else if (pingDue(now)) {
      lastPingNanos = now;
      push(EngineIoPacket.text(PacketType.PING));
    }
  }

  /** Whether {@link #heartbeat} has anything to do at {@code now}. Owner only. */
  boolean heartbeatDue(long now, long wallMillis) {
    return silentTooLong(now) || ticket.expired(wallMillis) || pingDue(now);
  }

  private boolean silentTooLong(long now) {
    return now - lastHeardNanos > server.pingIntervalMillis * 1_000_000L + server.pingTimeoutMillis * 1_000_000L;
  }

  private boolean pingDue(long now) {
    return codec.version() == 4 && now - lastPingNanos >= server.pingIntervalMillis * 1_000_000L;
  }

  // ---- outbound ----

  @Override
  public void send(Event event) {
    queued.incrementAndGet();
    owner.runOnContext(v -> {
      queued.decrementAndGet();
      if (!closed) {
        byte[] message = dialect.encode(event);
        if (message != null) {
          pushMessage(message);
        }
        dialect.delivered(event);
      }
    });
  }

  @Override
  public void write(byte[] message, boolean binary) {
    if (queued.get() == 0) {
      pushMessage(message);
      return;
    }
    // Behind the events already on their way (an error the hub just sent, say).
    queued.incrementAndGet();
    owner.runOnContext(v -> {
      queued.decrementAndGet();
      pushMessage(message);
    });
  }

  private void pushMessage(byte[] message) {
    server.metrics.bytesOut(message.length);
    push(EngineIoPacket.text(PacketType.MESSAGE, new String(message, StandardCharsets.UTF_8)));
  }

  private void push(EngineIoPacket packet) {
    if (closed) {
      return;
    }
    outbox.add(packet);
    outboxChars += packet.data().length() + 1;
    if (outboxChars > server.writeQueueMaxChars) {
      closeNow(CloseReason.SLOW_CONSUMER, false);
      return;
    }
    flush();
  }

  private void flush() {
    if (outbox.isEmpty()) {
      return;
    }
    if (ws != null) {
      for (EngineIoPacket packet : outbox) {
        writeToSocket(ws, wsContext, codec.encodePacket(packet));
      }
    } else if (pendingPoll != null) {
      Poll poll = pendingPoll;
      pendingPoll = null;
      server.respondPayload(poll, codec, List.copyOf(outbox));
    } else {
      return;
    }
    outbox.clear();
    outboxChars = 0;
  }

  private void writeToSocket(ServerWebSocket socket, Context context, String text) {
    context.runOnContext(v -> {
      if (socket.isClosed()) {
        return;
      }
      if (socket.writeQueueFull()) {
        owner.runOnContext(w -> closeNow(CloseReason.SLOW_CONSUMER, false));
        return;
      }
      socket.writeTextMessage(text);
    });
  }

  // ---- Link and Outbound ----

  @Override
  public Session session() {
    return session;
  }

  @Override
  public void handle(Command command) {
    server.hub.handle(session, command);
  }

  @Override
  public void reject(ErrorCode code, String message, RequestTag tag) {
    server.hub.reject(session, code, message, tag);
  }

  @Override
  public void close(CloseReason reason) {
    owner.runOnContext(v -> closeNow(reason, true));
  }

  @Override
  public void execute(Runnable task) {
    owner.runOnContext(v -> task.run());
  }

  /**
   * Ends the session: the other members hear about it at once. With {@code tell}, the client
   * first gets a close packet (on a WebSocket, also the close code), so that it reconnects
   * rather than waiting for a ping to fail. Owner only; once.
   */
  void closeNow(CloseReason reason, boolean tell) {
    if (closed) {
      return;
    }
    // Closed before the close packet goes out: that packet may overflow the outbox, and the
    // overflow's own close must find this one already under way.
    closed = true;
    if (tell) {
      outbox.add(EngineIoPacket.text(PacketType.CLOSE));
      flush();
    }
    server.forget(this);
    if (upgradeTimer >= 0) {
      server.vertx.cancelTimer(upgradeTimer);
    }
    if (reason != CloseReason.NORMAL) {
      server.metrics.closedBy(reason);
    }
    dialect.closing();
    server.hub.close(session);
    if (pendingPoll != null) {
      server.respondPayload(pendingPoll, codec, List.of(EngineIoPacket.text(PacketType.CLOSE)));
      pendingPoll = null;
    }
    if (ws != null) {
      ServerWebSocket socket = ws;
      wsContext.runOnContext(v -> {
        if (!socket.isClosed()) {
          socket.close(reason.code(), reason.text());
        }
      });
    }
    if (probing != null) {
      server.closeSocket(probing, wsContext);
    }
    log.atDebug().addKeyValue("peer", session.peer()).log("Engine.IO session of peer {} closed ({}) after {} ms",
        session.peer(), reason.text(), (System.nanoTime() - createdNanos) / 1_000_000);
  }
}
