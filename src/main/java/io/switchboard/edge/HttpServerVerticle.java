package io.switchboard.edge;

import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.switchboard.BuildInfo;
import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.websocket.FrameGuard;
import io.switchboard.edge.websocket.HttpUpgrade;
import io.switchboard.edge.websocket.LeanWebSockets;
import io.switchboard.edge.websocket.UpgradeFlush;
import io.switchboard.edge.dialect.Link;
import io.switchboard.edge.dialect.direct.DirectDialect;
import io.switchboard.edge.dialect.relay.RelayDialect;
import io.switchboard.edge.dialect.switchboard.NativeDialect;
import io.switchboard.edge.engineio.EngineIoServer;
import io.switchboard.security.ClientRequest;
import io.switchboard.security.Refused;
import io.switchboard.security.Ticket;
import io.switchboard.security.TokenVerifier;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP server instance: the WebSocket endpoints of every dialect ({@code /ws},
 * {@code /direct}, {@code /relay/{room}}), health probes, metrics and the browser client with its
 * demo page ({@link Webroot}). A node deploys one instance per event loop, all sharing the port;
 * each owns the sockets it accepted.
 *
 * <p>Stopping the verticle closes its sockets with 1012 (service restart) so clients reconnect
 * elsewhere.
 */
public final class HttpServerVerticle extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(HttpServerVerticle.class);
  private static final String RELAY_PREFIX = "/relay/";

  private final Node node;
  private final int port;
  // Owned by this verticle's event loop.
  private final Set<Connection> connections = new HashSet<>();
  private HttpServer server;
  private RequestHeads heads;
  private long sweepTimer;
  private OverloadShedder<Connection> shedder;
  private final OverloadReport overloads = new OverloadReport();
  // -1 while no probe is armed: before start, and while it sleeps (see armLagProbe).
  private long lagProbe = -1;
  private boolean heardSinceProbe;
  private int quietProbes;
  private final Connection.LoopWatch loopWatch = new Connection.LoopWatch() {
    @Override
    public boolean behind(long nowNanos) {
      // A probe woken here is due in the future: not behind.
      heard();
      return shedder.behind(nowNanos);
    }

    @Override
    public void observe(long nowNanos) {
      observeLag(nowNanos);
    }
  };

  /** @param port the port to listen on; negative for a free one shared by all instances */
  public HttpServerVerticle(Node node, int port) {
    this.node = node;
    this.port = port;
  }

  /** The port actually bound; valid once started. */
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    var config = node.config;
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.host())
        .setPort(port)
        .setMaxWebSocketFrameSize(config.maxFrameBytesHard())
        .setMaxWebSocketMessageSize(config.maxFrameBytesHard())
        .setPerMessageWebSocketCompressionSupported(config.permessageDeflate())
        .setPerFrameWebSocketCompressionSupported(config.permessageDeflate())
        .setTcpNoDelay(true)
        // The port speaks HTTP/1.1 and WebSocket only (README); an h2c or prior-knowledge HTTP/2
        // client gets an HTTP/1.1 400 instead of a second protocol nothing here was tested with.
        .setHttp2ClearTextEnabled(false)
        // How long a socket we sent a close frame is kept for the client's answer. Vert.x waits
        // 10 s; the client of a refused frame is never heard again (the decoder discards what
        // follows), so this is the time it gets to read the close frame and end its side.
        .setWebSocketClosingTimeout((int) TimeUnit.MILLISECONDS.toSeconds(Connection.CLOSE_GRACE_MILLIS))
        // Every HTTP response here is written on its event loop, which lets Vert.x skip a
        // 4 KiB cross-thread write queue per connection (kept for the life of a WebSocket).
        .setStrictThreadMode(true)
        // A browser sends its token as the subprotocol after this one; selecting this one
        // answers the browser without echoing the token (docs/security.md).
        .setWebSocketSubProtocols(List.of(TokenVerifier.SUBPROTOCOL));
    if (config.tls().enabled()) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
          .setCertPath(config.tls().certFile())
          .setKeyPath(config.tls().keyFile()));
    }

    Router router = Router.router(vertx);
    for (String probe : new String[] {"/health/live", "/health/ready"}) {
      router.route(probe).method(HttpMethod.GET).method(HttpMethod.HEAD).handler(rc -> {
        boolean ready = node.ready();
        JsonObject body = new JsonObject().put("status", "UP");
        if (probe.endsWith("ready")) {
          rc.response().setStatusCode(ready ? 200 : 503);
          body.put("status", ready ? "UP" : "DOWN")
              .put("draining", node.draining())
              .put("backplane", node.backplane.ready() ? "UP" : "DOWN");
        }
        rc.json(body);
      });
    }
    if (!config.adminEnabled()) { // else on ADMIN_PORT
      router.route("/metrics").method(HttpMethod.GET).method(HttpMethod.HEAD)
          .handler(PrometheusScrapingHandler.create(node.registry));
    }
    router.get("/version").handler(rc -> rc.json(BuildInfo.current().toJson()));
    router.route(IceServersEndpoint.PATH).handler(new IceServersEndpoint(node));
    router.route(EngineIoServer.PATH)
        .handler(BodyHandler.create(false).setBodyLimit(config.maxFrameBytesHard()))
        .handler(node.engineIo::handle)
        .failureHandler(node.engineIo::failed);
    Webroot.mount(router);

    heads = new RequestHeads(node, TimeUnit.MILLISECONDS.toNanos(config.handshakeTimeoutMillis()));
    long pingAfter = TimeUnit.SECONDS.toNanos(config.pingIntervalSeconds());
    long idleAfter = TimeUnit.SECONDS.toNanos(config.idleTimeoutSeconds());
    long sweepMillis = Math.max(100, Math.min(Math.min(1000, config.handshakeTimeoutMillis() / 4),
        config.pingIntervalSeconds() * 1000L / 4));
    sweepTimer = vertx.setPeriodic(sweepMillis, id -> {
      long now = System.nanoTime();
      List<Overdue> overdue = null;
      for (Connection c : connections) {
        CloseReason why = c.checkAlive(now, pingAfter, idleAfter);
        if (why != null) {
          if (overdue == null) {
            overdue = new ArrayList<>();
          }
          overdue.add(new Overdue(c, why));
        }
      }
      if (overdue != null) {
        overdue.forEach(o -> o.connection().closeNow(o.why()));
      }
      node.engineIo.heartbeatOwnSessions(now);
      heads.sweep(now);
    });
    shedder = new OverloadShedder<>(TimeUnit.MILLISECONDS.toNanos(config.shedLagMillis()));
    if (shedder.enabled()) {
      armLagProbe();
    }

    server = vertx.createHttpServer(options)
        .connectionHandler(heads::opened)
        .invalidRequestHandler(HttpServerVerticle::onInvalidRequest)
        .requestHandler(request -> onRequest(request, router));
    return server.listen();
  }

  /**
   * A one-shot timer, armed again each time it fires: how late it fires is this loop's lag. (A
   * periodic timer would fire its missed ticks in a burst and hide it.) After {@link
   * #QUIET_PROBES} probes in a row without a message read or a request on this loop it sleeps
   * until the next one: its wake-ups were most of an idle node's CPU (docs/performance.md), and a
   * loop that reads nothing has no senders to shed.
   */
  private void armLagProbe() {
    shedder.due(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(OverloadShedder.PROBE_MILLIS));
    lagProbe = vertx.setTimer(OverloadShedder.PROBE_MILLIS, id -> {
      observeLag(System.nanoTime());
      quietProbes = heardSinceProbe || shedder.overloaded() ? 0 : quietProbes + 1;
      heardSinceProbe = false;
      if (quietProbes < QUIET_PROBES) {
        armLagProbe();
      } else {
        lagProbe = -1;
      }
    });
  }

  /** A message or a request arrived on this loop: the probe measures again if it slept. */
  private void heard() {
    heardSinceProbe = true;
    if (lagProbe == -1 && shedder.enabled()) {
      quietProbes = 0;
      armLagProbe();
    }
  }

  /** What the probe timer, or a socket that found it overdue, saw at {@code now}: shed if due. */
  private void observeLag(long now) {
    boolean wasOverloaded = shedder.overloaded();
    List<Connection> heaviest = shedder.observe(now, connections);
    if (!wasOverloaded && shedder.overloaded() && overloads.began(now)) {
      log.atWarn().addKeyValue("sockets", connections.size())
          .log("event loop behind by more than {} ms: refusing new sockets with 503 until it catches up",
              node.config.shedLagMillis());
    }
    if (!heaviest.isEmpty()) {
      overloads.closed(heaviest.size());
      log.atWarn().addKeyValue("closed", heaviest.size()).addKeyValue("sockets", connections.size())
          .log("event loop behind by more than {} ms: closing its {} heaviest senders of {} sockets with 1013",
              node.config.shedLagMillis(), heaviest.size(), connections.size());
    }
    for (Connection heavy : heaviest) {
      heavy.shed();
    }
    OverloadReport.Summary caughtUp = wasOverloaded && !shedder.overloaded() ? overloads.ended(now) : null;
    if (caughtUp != null) {
      // WARN like the line that opened it: what it counts was turned away.
      log.atWarn().addKeyValue("episodes", caughtUp.episodes()).addKeyValue("overloaded_ms", caughtUp.overloadedMillis())
          .addKeyValue("refused", caughtUp.refused()).addKeyValue("closed", caughtUp.closed())
          .log("event loop caught up: {} overload(s) since the last such line, {} ms overloaded in all; "
              + "refused {} new sockets with 503 and closed {} with 1013",
              caughtUp.episodes(), caughtUp.overloadedMillis(), caughtUp.refused(), caughtUp.closed());
    }
  }

  /** One second of probes. */
  private static final int QUIET_PROBES = (int) (1000 / OverloadShedder.PROBE_MILLIS);

  private record Overdue(Connection connection, CloseReason why) {}

  /** The protocol spoken at {@code path}, or null for a path with no WebSocket endpoint. */
  static Function<Link, Dialect> dialectAt(String path) {
    if ("/ws".equals(path)) {
      return NativeDialect::new;
    }
    if ("/direct".equals(path)) {
      return DirectDialect::new;
    }
    if (path.startsWith(RELAY_PREFIX)) {
      String name = path.substring(RELAY_PREFIX.length());
      RoomId room = RelayDialect.room(name);
      return room == null ? null : link -> new RelayDialect(link, room, name);
    }
    return null;
  }

  private void onRequest(HttpServerRequest request, Router router) {
    heads.started(request);
    heard();
    if (!wellFormedTarget(request.uri()) || request.headers().getAll("Host").size() != 1
        || request.authority() == null) {
      // Left to the router, these fail inside it: a 500 and an ERROR log line on demand. One
      // readable Host is also what RFC 9112 section 3.2 requires.
      HttpUpgrade.refuse(request.response(), 400);
      return;
    }
    if (HttpUpgrade.requested(request)) {
      onUpgrade(request);
    } else {
      router.handle(request);
    }
  }

  /**
   * Whether {@code uri} is an origin-form target ({@code /path?query}) whose escapes decode. The
   * router and Engine.IO decode them, and {@code *} or {@code %ZZ} made them throw.
   */
  private static boolean wellFormedTarget(String uri) {
    if (uri == null || !uri.startsWith("/")) {
      return false;
    }
    try {
      QueryStringDecoder decoder = new QueryStringDecoder(uri);
      decoder.path();
      decoder.parameters();
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * A request Netty could not parse (line or headers too long, bad characters). Vert.x's own
   * answer ends the response, and its metrics lower the active-requests gauge only once both the
   * request and the response have ended; the request of an unparseable message never ends, so
   * the gauge rose by one for each. Here only the head is written (with {@code Content-Length: 0}
   * it is a whole response to the client) and the connection closed: Vert.x then counts the
   * request as reset, which lowers the gauge.
   */
  private static void onInvalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    int status = cause instanceof TooLongHttpLineException ? 414
        : cause instanceof TooLongHttpHeaderException ? 431 : 400;
    request.response().setStatusCode(status)
        .putHeader("Connection", "close")
        .putHeader("Content-Length", "0")
        .writeHead()
        .onComplete(v -> request.connection().close());
  }

  private void onUpgrade(HttpServerRequest request) {
    String path = request.path();
    boolean engineIo = EngineIoServer.PATH.equals(path);
    Function<Link, Dialect> dialect = engineIo ? null : dialectAt(path);
    if (!engineIo && dialect == null) {
      HttpUpgrade.refuse(request.response(), 404);
      return;
    }
    int problem = HttpUpgrade.problem(request);
    if (problem != 0) {
      HttpUpgrade.refuse(request.response(), problem);
      return;
    }
    if (engineIo) {
      node.engineIo.upgrade(request, () -> heads.forget(request.connection()));
      return;
    }
    if (shedder.overloaded()) {
      // Setting up a socket costs several times what a relay does (docs/performance.md): a loop
      // that is behind takes none until it has caught up.
      node.metrics.connectionRejected("overloaded");
      overloads.refused();
      request.response().putHeader("Retry-After", "2");
      HttpUpgrade.refuse(request.response(), 503);
      return;
    }
    String origin = request.getHeader("Origin");
    if (origin != null && !node.originAllowed(origin)) {
      node.metrics.connectionRejected("origin");
      HttpUpgrade.refuse(request.response(), 403);
      return;
    }
    Ticket ticket;
    try {
      ticket = node.admit(new ClientRequest(request.headers(), request.query(), request.remoteAddress()));
    } catch (Refused refused) {
      HttpUpgrade.refuse(request.response(), refused.status());
      return;
    }
    // A relay socket joins the room of its path at once: one its token does not allow is refused here.
    if (path.startsWith(RELAY_PREFIX) && !ticket.identity().mayJoin(path.substring(RELAY_PREFIX.length()))) {
      ticket.release();
      node.metrics.connectionRejected("forbidden");
      HttpUpgrade.refuse(request.response(), 403);
      return;
    }
    heads.forget(request.connection());
    // The session and its dialect start before the upgrade is accepted, so that a socket whose
    // connecting is joining (a relay socket) is in its room on every node once it is open. A
    // refused join still upgrades: the client then hears why in the close code.
    // Paused, the request keeps its end for toWebSocket, which resumes it, however long the
    // join takes.
    request.pause();
    // Resume is the native protocol's, and only for clients that ask (docs/protocol.md, "Resume").
    boolean wantsResume = "/ws".equals(path) && "1".equals(request.getParam("resume"));
    Connection connection = new Connection(context, node.hub, dialect, node.metrics, node.config, ticket, wantsResume,
        loopWatch);
    connection.opening()
        .transform(settled -> UpgradeFlush.upgrade(request, context, ws -> onOpen(ws, connection, ticket)))
        .onFailure(e -> {
          ticket.release();
          connection.abandon();
        });
  }

  private void onOpen(ServerWebSocket ws, Connection connection, Ticket ticket) {
    LeanWebSockets.slim(ws);
    node.metrics.connectionOpened();
    FrameGuard.guard(ws, connection::closeNow);
    connection.attach(ws);
    connections.add(connection);
    ws.closeHandler(v -> {
      connections.remove(connection);
      // First: once the hub no longer counts the session, its slots are free too.
      ticket.release();
      connection.onClosed();
      node.metrics.connectionClosed();
    });
    ws.exceptionHandler(e -> log.atDebug().addKeyValue("peer", connection.session().peer()).setCause(e)
        .log("socket error on peer {}", connection.session().peer()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweepTimer);
    vertx.cancelTimer(lagProbe);
    for (Connection c : new ArrayList<>(connections)) {
      c.closeNow(CloseReason.SHUTTING_DOWN);
    }
    node.engineIo.closeOwnSessions(CloseReason.SHUTTING_DOWN);
    return server.shutdown(node.config.shutdownGraceSeconds(), TimeUnit.SECONDS);
  }
}
