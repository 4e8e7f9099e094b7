package io.switchboard.edge.engineio;

import io.netty.handler.codec.http.QueryStringDecoder;
import io.switchboard.edge.websocket.FrameGuard;
import io.switchboard.edge.websocket.HttpUpgrade;
import io.switchboard.edge.websocket.LeanWebSockets;
import io.switchboard.edge.websocket.UpgradeFlush;
import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.Link;
import io.switchboard.edge.engineio.EngineIoSession.Poll;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.security.ClientRequest;
import io.switchboard.security.Gate;
import io.switchboard.security.Refused;
import io.switchboard.security.Ticket;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.signaling.Hub;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Engine.IO endpoint (protocol versions 3 and 4) that Socket.IO clients reach at
 * {@code /socket.io/}: the handshake, HTTP long-polling, the upgrade to WebSocket, heartbeats.
 * It knows nothing of Socket.IO itself: the dialect made for each session reads and writes the
 * Engine.IO message packets. One per node, shared by all event loops; thread-safe.
 *
 * <p>Errors use engine.io's own codes and messages, which clients recognise: 0 transport unknown,
 * 1 session ID unknown, 3 bad request, 4 forbidden, 5 unsupported protocol version.
 */
public final class EngineIoServer {
  private static final Logger log = LoggerFactory.getLogger(EngineIoServer.class);
  public static final String PATH = "/socket.io/";
  static final int TRANSPORT_UNKNOWN = 0;
  static final int UNKNOWN_SID = 1;
  static final int BAD_REQUEST = 3;
  static final int FORBIDDEN = 4;
  static final int UNSUPPORTED_VERSION = 5;

  final Vertx vertx;
  final Hub hub;
  final SignalingMetrics metrics;
  final int maxMessageBytes;
  final int writeQueueMaxChars;
  final long pingIntervalMillis;
  final long pingTimeoutMillis;
  private final Gate gate;
  private final Predicate<String> originAllowed;
  private final BiFunction<Link, Integer, Dialect> dialect;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<String, EngineIoSession> sessions = new ConcurrentHashMap<>();
  // The sessions each event loop owns, each set touched by its loop only: that loop's sweep keeps
  // their heartbeats (heartbeatOwnSessions). A timer per session, fired every second for
  // each, cost 15 % of a core for 18,000 silent sessions (docs/performance.md).
  private final ConcurrentHashMap<Thread, Set<EngineIoSession>> sessionsByOwner = new ConcurrentHashMap<>();

  /**
   * @param gate admits new sessions (limits, token, capacity), shared with the node's other endpoints
   * @param dialect makes the protocol spoken over a session, given its Engine.IO version
   * @param pingIntervalMillis how often a ping is due (sent by the v3 client, by the server in v4)
   * @param pingTimeoutMillis how much longer a silent client is kept
   */
  public EngineIoServer(Vertx vertx, Hub hub, SignalingMetrics metrics, Gate gate,
      Predicate<String> originAllowed, BiFunction<Link, Integer, Dialect> dialect, int maxMessageBytes,
      int writeQueueMaxBytes, long pingIntervalMillis, long pingTimeoutMillis) {
    this.vertx = vertx;
    this.hub = hub;
    this.metrics = metrics;
    this.gate = gate;
    this.originAllowed = originAllowed;
    this.dialect = dialect;
    this.maxMessageBytes = maxMessageBytes;
    this.writeQueueMaxChars = writeQueueMaxBytes;
    this.pingIntervalMillis = pingIntervalMillis;
    this.pingTimeoutMillis = pingTimeoutMillis;
  }

  // ---- HTTP long-polling ----

  /** Handles a request to {@link #PATH} on the current event loop; the body has been read. */
  public void handle(RoutingContext rc) {
    HttpServerRequest request = rc.request();
    HttpServerResponse response = rc.response();
    String origin = request.getHeader("Origin");
    if (origin != null && !allowCrossOrigin(origin, response)) {
      metrics.connectionRejected("origin");
      error(response, 403, FORBIDDEN, "Forbidden");
      return;
    }
    if (request.method() == HttpMethod.OPTIONS) {
      String headers = request.getHeader("Access-Control-Request-Headers");
      response.putHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      if (headers != null) {
        response.putHeader("Access-Control-Allow-Headers", headers);
      }
      response.setStatusCode(204).end();
      return;
    }
    MultiMap query = request.params();
    EngineIoCodec codec = codec(query.get("EIO"));
    if (codec == null) {
      error(response, 400, UNSUPPORTED_VERSION, "Unsupported protocol version");
      return;
    }
    if (!"polling".equals(query.get("transport")) || query.get("j") != null) {
      // JSONP polling ('j') is for browsers without XHR; not supported.
      error(response, 400, TRANSPORT_UNKNOWN, "Transport unknown");
      return;
    }
    Context here = vertx.getOrCreateContext();
    String sid = query.get("sid");
    if (sid == null) {
      if (request.method() != HttpMethod.GET) {
        error(response, 400, 2, "Bad handshake method");
        return;
      }
      handshake(request, response, here, codec);
      return;
    }
    EngineIoSession session = sessions.get(sid);
    if (session == null || session.codec != codec) {
      error(response, 400, UNKNOWN_SID, "Session ID unknown");
      return;
    }
    Poll poll = new Poll(response, here);
    if (request.method() == HttpMethod.GET) {
      response.closeHandler(v -> session.owner.runOnContext(w -> session.pollGone(poll)));
      session.owner.runOnContext(v -> session.poll(poll));
    } else if (request.method() == HttpMethod.POST) {
      List<EngineIoPacket> packets;
      try {
        // Vert.x gives no text at all for an empty body; the codec refuses "" as it should.
        packets = codec.decodePayload(strictUtf8(rc.body().buffer()));
      } catch (EngineIoException e) {
        metrics.error(ErrorCode.BAD_MESSAGE);
        error(response, 400, BAD_REQUEST, "Bad request: " + e.getMessage());
        return;
      }
      session.owner.runOnContext(v -> session.received(packets));
      response.putHeader("Content-Type", "text/html; charset=UTF-8").end("ok");
    } else {
      error(response, 400, BAD_REQUEST, "Bad request");
    }
  }

  /**
   * Answers a request the router failed before {@link #handle}: a body over the limit (413)
   * quietly, as a client's mistake; anything else as the bug it is.
   */
  public void failed(RoutingContext rc) {
    int status = rc.statusCode() > 0 ? rc.statusCode() : 500;
    if (status >= 500) {
      log.error("Engine.IO request failed", rc.failure());
    }
    String origin = rc.request().getHeader("Origin");
    if (origin != null) {
      allowCrossOrigin(origin, rc.response());
    }
    error(rc.response(), status, BAD_REQUEST, status == 413 ? "Payload too large" : "Bad request");
  }

  // Credentials are allowed, so the origin must be named, never '*'.
  private boolean allowCrossOrigin(String origin, HttpServerResponse response) {
    if (!originAllowed.test(origin)) {
      return false;
    }
    response.putHeader("Access-Control-Allow-Origin", origin)
        .putHeader("Access-Control-Allow-Credentials", "true")
        .putHeader("Vary", "Origin");
    return true;
  }

  private void handshake(HttpServerRequest request, HttpServerResponse response, Context here, EngineIoCodec codec) {
    Ticket ticket;
    try {
      ticket = gate.admit(new ClientRequest(request.headers(), request.query(), request.remoteAddress()));
    } catch (Refused refused) {
      refuse(response, refused.status());
      return;
    }
    EngineIoSession session = open(codec, List.of("websocket"), ticket);
    // After the greetings the session has queued on this loop, so they share one response.
    Poll poll = new Poll(response, here);
    here.runOnContext(v -> session.poll(poll));
  }

  /** A refused handshake, with a body in engine.io's error form and the headers the status calls for. */
  private static void refuse(HttpServerResponse response, int status) {
    switch (status) {
      case 401 -> {
        response.putHeader("WWW-Authenticate", "Bearer");
        error(response, 401, FORBIDDEN, "Unauthorized");
      }
      case 429 -> {
        response.putHeader("Retry-After", "1");
        error(response, 429, BAD_REQUEST, "Too many requests");
      }
      case 503 -> error(response, 503, BAD_REQUEST, "Service unavailable");
      default -> error(response, status, BAD_REQUEST, "Bad request");
    }
  }

  private EngineIoSession open(EngineIoCodec codec, List<String> upgrades, Ticket ticket) {
    String sid = newSid();
    int version = codec.version();
    EngineIoSession session = new EngineIoSession(this, sid, codec, link -> dialect.apply(link, version), ticket,
        System.nanoTime());
    sessions.put(sid, session);
    metrics.connectionOpened();
    JsonObject open = new JsonObject()
        .put("sid", sid)
        .put("upgrades", new JsonArray(new ArrayList<>(upgrades)))
        .put("pingInterval", pingIntervalMillis)
        .put("pingTimeout", pingTimeoutMillis);
    if (version == 4) {
      open.put("maxPayload", maxMessageBytes);
    }
    session.start(open.encode());
    return session;
  }

  // ---- WebSocket ----

  /**
   * Handles a well-formed WebSocket upgrade of {@link #PATH} (HttpUpgrade has checked it): a new
   * session, or the upgrade of a polling one. {@code upgrading} runs just before the connection
   * becomes a WebSocket.
   */
  public void upgrade(HttpServerRequest request, Runnable upgrading) {
    Map<String, List<String>> query = new QueryStringDecoder(request.uri()).parameters();
    EngineIoCodec codec = codec(first(query, "EIO"));
    if (codec == null || !"websocket".equals(first(query, "transport"))) {
      HttpUpgrade.refuse(request.response(), 400);
      return;
    }
    String origin = request.getHeader("Origin");
    if (origin != null && !originAllowed.test(origin)) {
      metrics.connectionRejected("origin");
      HttpUpgrade.refuse(request.response(), 403);
      return;
    }
    Context here = vertx.getOrCreateContext();
    String sid = first(query, "sid");
    if (sid != null) {
      EngineIoSession session = sessions.get(sid);
      if (session == null || session.codec != codec) {
        HttpUpgrade.refuse(request.response(), 400);
        return;
      }
      upgrading.run();
      request.toWebSocket().onSuccess(ws -> {
        LeanWebSockets.slim(ws);
        listen(ws, session, here);
        session.owner.runOnContext(v -> session.upgradeTo(ws, here));
      });
      return;
    }
    Ticket ticket;
    try {
      ticket = gate.admit(new ClientRequest(request.headers(), request.query(), request.remoteAddress()));
    } catch (Refused refused) {
      HttpUpgrade.refuse(request.response(), refused.status());
      return;
    }
    upgrading.run();
    UpgradeFlush.upgrade(request, here, ws -> {
      LeanWebSockets.slim(ws);
      EngineIoSession session = open(codec, List.of(), ticket);
      session.attach(ws, here);
      listen(ws, session, here);
    }).onFailure(e -> ticket.release());
  }

  private void listen(ServerWebSocket ws, EngineIoSession session, Context here) {
    FrameGuard.guard(ws, reason -> {
      if (!ws.isClosed()) {
        ws.close(reason.code(), reason.text());
      }
    });
    ws.textMessageHandler(text -> session.owner.runOnContext(v -> session.onWebSocketText(ws, text)));
    ws.binaryMessageHandler(data -> session.owner.runOnContext(v -> session.onWebSocketBinary(ws, data.getBytes())));
    ws.closeHandler(v -> session.owner.runOnContext(w -> session.onWebSocketClosed(ws)));
    // Vert.x closes the socket after a protocol error; the session hears of it through closeHandler.
    ws.exceptionHandler(e -> log.atDebug().addKeyValue("peer", session.session().peer()).setCause(e)
        .log("WebSocket error on the Engine.IO session of peer {}", session.session().peer()));
  }

  // ---- shared by sessions ----

  /**
   * Closes, with a close packet and {@code reason}, the sessions owned by the calling event loop:
   * a stopping verticle closes its own.
   */
  public void closeOwnSessions(CloseReason reason) {
    Set<EngineIoSession> owned = sessionsByOwner.get(Thread.currentThread());
    if (owned != null) {
      for (EngineIoSession session : List.copyOf(owned)) {
        session.closeNow(reason, true);
      }
    }
  }

  /** From now on {@code session}'s heartbeat is kept by its loop's sweep. Owner only. */
  void keepHeartbeat(EngineIoSession session) {
    sessionsByOwner.computeIfAbsent(session.ownerThread, thread -> new HashSet<>()).add(session);
  }

  /**
   * Keeps the heartbeats of the sessions the calling event loop owns: drops the silent ones and
   * those whose token expired, pings where a ping is due. Called by that loop's periodic sweep,
   * at least every quarter of a ping interval.
   */
  public void heartbeatOwnSessions(long now) {
    Set<EngineIoSession> owned = sessionsByOwner.get(Thread.currentThread());
    if (owned == null || owned.isEmpty()) {
      return;
    }
    long wallMillis = System.currentTimeMillis();
    // What a heartbeat does may close a session, which leaves the set: done after the walk.
    List<EngineIoSession> due = null;
    for (EngineIoSession session : owned) {
      if (session.heartbeatDue(now, wallMillis)) {
        if (due == null) {
          due = new ArrayList<>();
        }
        due.add(session);
      }
    }
    if (due != null) {
      for (EngineIoSession session : due) {
        session.heartbeat(now, wallMillis);
      }
    }
  }

  /** Ends the server's part in a closing session. Owner only. */
  void forget(EngineIoSession session) {
    if (sessions.remove(session.sid, session)) {
      metrics.connectionClosed();
      session.ticket.release();
    }
    Set<EngineIoSession> owned = sessionsByOwner.get(session.ownerThread);
    if (owned != null) {
      owned.remove(session);
    }
  }

  void respondPayload(Poll poll, EngineIoCodec codec, List<EngineIoPacket> packets) {
    String body = codec.encodePayload(packets);
    poll.context().runOnContext(v -> {
      if (!poll.response().ended() && !poll.response().closed()) {
        poll.response().putHeader("Content-Type", "text/plain; charset=UTF-8").end(body);
      }
    });
  }

  void respondError(Poll poll, int status, int code, String message) {
    poll.context().runOnContext(v -> {
      if (!poll.response().ended() && !poll.response().closed()) {
        error(poll.response(), status, code, message);
      }
    });
  }

  void closeSocket(ServerWebSocket socket, Context context) {
    context.runOnContext(v -> {
      if (!socket.isClosed()) {
        socket.close();
      }
    });
  }

  private static void error(HttpServerResponse response, int status, int code, String message) {
    response.setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("code", code).put("message", message).encode());
  }

  /**
   * The body as text, refusing bytes that are not UTF-8: decoding them leniently would turn them
   * into U+FFFD and relay that, where the WebSocket transport refuses the same bytes (1007).
   */
  private static String strictUtf8(Buffer body) throws EngineIoException {
    if (body == null) {
      return ""; // Vert.x gives no buffer at all for an empty body; the codec refuses "" as it should
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(body.getBytes())).toString();
    } catch (CharacterCodingException e) {
      throw new EngineIoException("payload is not UTF-8");
    }
  }

  private static String first(Map<String, List<String>> query, String name) {
    List<String> values = query.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  private static EngineIoCodec codec(String eio) {
    if ("3".equals(eio)) {
      return EngineIoCodec.V3;
    }
    return "4".equals(eio) ? EngineIoCodec.V4 : null;
  }

  // 20 random bytes: a sid is the only credential of a polling client.
  private String newSid() {
    byte[] bytes = new byte[20];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
