package io.switchboard.edge;

import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.switchboard.BuildInfo;
import io.switchboard.edge.dialect.Dialect;
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
import io.vertx.core.http.ServerWebSocketHandshake;
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
  private long sweepTimer;

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
    router.get("/health/live").handler(rc -> rc.json(new JsonObject().put("status", "UP")));
    router.get("/health/ready").handler(rc -> {
      boolean ready = node.ready();
      rc.response().setStatusCode(ready ? 200 : 503);
      rc.json(new JsonObject()
          .put("status", ready ? "UP" : "DOWN")
          .put("draining", node.draining())
          .put("backplane", node.backplane.ready() ? "UP" : "DOWN"));
    });
    if (!config.adminEnabled()) {
      router.get("/metrics").handler(PrometheusScrapingHandler.create(node.registry)); // else on ADMIN_PORT
    }
    router.get("/version").handler(rc -> rc.json(BuildInfo.current().toJson()));
    router.route(IceServersEndpoint.PATH).handler(new IceServersEndpoint(node));
    router.route(EngineIoServer.PATH)
        .handler(BodyHandler.create(false).setBodyLimit(config.maxFrameBytesHard()))
        .handler(node.engineIo::handle)
        .failureHandler(node.engineIo::failed);
    Webroot.mount(router);

    long pingAfter = TimeUnit.SECONDS.toNanos(config.pingIntervalSeconds());
    long idleAfter = TimeUnit.SECONDS.toNanos(config.idleTimeoutSeconds());
    long sweepMillis = Math.max(100, Math.min(1000, config.pingIntervalSeconds() * 1000L / 4));
    sweepTimer = vertx.setPeriodic(sweepMillis, id -> {
      long now = System.nanoTime();
      // Copy: a close may remove entries while we iterate.
      for (Connection c : new ArrayList<>(connections)) {
        c.checkAlive(now, pingAfter, idleAfter);
      }
    });

    server = vertx.createHttpServer(options)
        .webSocketHandshakeHandler(this::onHandshake)
        .requestHandler(router);
    return server.listen();
  }

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

  private void onHandshake(ServerWebSocketHandshake handshake) {
    if (EngineIoServer.PATH.equals(handshake.path())) {
      node.engineIo.handshake(handshake);
      return;
    }
    Function<Link, Dialect> dialect = dialectAt(handshake.path());
    if (dialect == null) {
      handshake.reject(404);
      return;
    }
    String origin = handshake.headers().get("Origin");
    if (origin != null && !node.originAllowed(origin)) {
      node.metrics.connectionRejected("origin");
      handshake.reject(403);
      return;
    }
    Ticket ticket;
    try {
      ticket = node.admit(new ClientRequest(handshake.headers(), handshake.query(), handshake.remoteAddress()));
    } catch (Refused refused) {
      handshake.reject(refused.status());
      return;
    }
    // A relay socket joins the room of its path at once: one its token does not allow is refused here.
    if (handshake.path().startsWith(RELAY_PREFIX)
        && !ticket.identity().mayJoin(handshake.path().substring(RELAY_PREFIX.length()))) {
      ticket.release();
      node.metrics.connectionRejected("forbidden");
      handshake.reject(403);
      return;
    }
    // The session and its dialect start before the upgrade is accepted, so that a socket whose
    // connecting is joining (a relay socket) is in its room on every node once it is open. A
    // refused join still upgrades: the client then hears why in the close code.
    Connection connection = new Connection(context, node.hub, dialect, node.metrics, node.config, ticket);
    connection.opening()
        .transform(settled -> handshake.accept())
        .onSuccess(ws -> onOpen(ws, connection, ticket))
        .onFailure(e -> {
          ticket.release();
          connection.abandon();
        });
  }

  private void onOpen(ServerWebSocket ws, Connection connection, Ticket ticket) {
    node.metrics.connectionOpened();
    connection.attach(ws);
    connections.add(connection);
    ws.closeHandler(v -> {
      connections.remove(connection);
      // First: once the hub no longer counts the session, its slots are free too.
      ticket.release();
      connection.onClosed();
      node.metrics.connectionClosed();
    });
    ws.exceptionHandler(e -> {
      // Netty refuses a frame over the hard limit before any handler sees it; answer with the
      // close code that says why, before Vert.x drops the connection.
      if (e instanceof CorruptedWebSocketFrameException corrupt
          && corrupt.closeStatus().code() == CloseReason.FRAME_TOO_BIG.code()) {
        connection.closeNow(CloseReason.FRAME_TOO_BIG);
      } else {
        log.atDebug().addKeyValue("peer", connection.session().peer()).setCause(e)
            .log("socket error on peer {}", connection.session().peer());
      }
    });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweepTimer);
    for (Connection c : new ArrayList<>(connections)) {
      c.closeNow(CloseReason.SHUTTING_DOWN);
    }
    node.engineIo.closeOwnSessions(CloseReason.SHUTTING_DOWN);
    return server.shutdown(node.config.shutdownGraceSeconds(), TimeUnit.SECONDS);
  }
}
