package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.Switchboard;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.signaling.port.Backplane;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real Switchboard node on 127.0.0.1 and a random port, plus a separate client-side Vert.x for
 * the test's WebSocket, TCP and HTTP clients (so client work never runs on the server's event
 * loops and client connections never show up in the server's metrics).
 *
 * <p>Lifecycle: {@link #start(Map)} deploys the server and waits (bounded) for it;
 * {@link #closeClients()} closes every client this fixture made and asserts that the server is
 * back to zero open connections and zero rooms; {@link #close()} does that, then stops the server
 * and both Vert.x instances. All methods are for the test thread.
 */
public final class ServerFixture implements AutoCloseable {
  /**
   * The settings every fixture starts from; tests override some of them. Shedding is off: on a
   * 2-core machine shared with Redis, browsers and other nodes, the server's loop may be starved
   * of CPU for a while, and shedding would then close or refuse a test's clients for a reason
   * that is the machine's. OverloadTest turns it on.
   */
  public static final Map<String, String> BASE_ENV = Map.of(
      "PORT", "0",
      "HOST", "127.0.0.1",
      "EVENT_LOOPS", System.getProperty("switchboard.test.eventLoops", "2"),
      "LOG_LEVEL", "WARN",
      "LOG_FORMAT", "text",
      "SHUTDOWN_GRACE_SECONDS", "1",
      "SHED_LAG_MS", "0");

  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(5);

  private final PrometheusMeterRegistry registry;
  private final Vertx serverVertx;
  private final Switchboard server;
  private final Vertx clientVertx;
  private final WebSocketClient wsClient;
  private final HttpClient httpClient;
  private final List<AutoCloseable> clients = new CopyOnWriteArrayList<>();
  private final AtomicInteger names = new AtomicInteger();
  private boolean serverClosed;

  private ServerFixture(PrometheusMeterRegistry registry, Vertx serverVertx, Switchboard server, Vertx clientVertx) {
    this.registry = registry;
    this.serverVertx = serverVertx;
    this.server = server;
    this.clientVertx = clientVertx;
    this.wsClient = clientVertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxConnections(1000)
        .setMaxMessageSize(4 * 1024 * 1024)
        .setConnectTimeout((int) TestClient.WAIT.toMillis()));
    this.httpClient = HttpClient.newBuilder()
        .connectTimeout(TestClient.WAIT)
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  /** Starts a node with {@link #BASE_ENV} overridden by {@code overrides}. */
  public static ServerFixture start(Map<String, String> overrides) {
    return start(overrides, null);
  }

  /** Starts a node on {@code backplane} (one the test drives), or on the configured one when null. */
  public static ServerFixture start(Map<String, String> overrides, Backplane backplane) {
    Map<String, String> env = new HashMap<>(BASE_ENV);
    env.putAll(overrides);
    SwitchboardConfig config = SwitchboardConfig.fromEnv(env);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx serverVertx = Switchboard.createVertx(registry, config.eventLoops(), config.transport());
    Switchboard server;
    try {
      server = Wait.await(backplane == null ? Switchboard.start(serverVertx, config, registry)
          : Switchboard.start(serverVertx, config, registry, backplane), START_TIMEOUT);
    } catch (RuntimeException | AssertionError e) {
      Wait.await(serverVertx.close(), START_TIMEOUT);
      throw e;
    }
    Vertx clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    return new ServerFixture(registry, serverVertx, server, clientVertx);
  }

  public static ServerFixture start() {
    return start(Map.of());
  }

  public int port() {
    return server.port();
  }

  public Switchboard server() {
    return server;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The Vert.x the clients run on (not the server's). */
  /** The Vert.x the server runs on. */
  public Vertx serverVertx() {
    return serverVertx;
  }

  public Vertx clientVertx() {
    return clientVertx;
  }

  public WebSocketClient webSocketClient() {
    return wsClient;
  }

  /** A connected client (no Origin header) whose welcome has been consumed; closed by {@link #closeClients()}. */
  public TestClient connect() {
    return connect(null);
  }

  /** A connected client sending {@code origin} as its Origin header (none when null). */
  public TestClient connect(String origin) {
    return track(TestClient.connect(wsClient, port(), origin, "client" + names.incrementAndGet()));
  }

  /** A client of the WebSocket endpoint at {@code path} (another dialect's); nothing consumed. */
  public TestClient open(String path, String name) {
    return track(TestClient.open(wsClient, TestClient.options(port(), path, null), name));
  }

  /** The HTTP status with which an upgrade of {@code path} is refused; fails if it is accepted. */
  public int openRejected(String path) {
    try {
      TestClient accepted = open(path, "rejected");
      return org.junit.jupiter.api.Assertions.fail("upgrade of " + path + " was accepted: " + accepted);
    } catch (io.vertx.core.http.UpgradeRejectedException e) {
      return e.getStatus();
    }
  }

  /** The HTTP status with which an upgrade sending {@code origin} is refused; fails if it is accepted. */
  public int connectRejected(String origin) {
    try {
      TestClient accepted = connect(origin);
      return org.junit.jupiter.api.Assertions.fail("upgrade with Origin " + origin + " was accepted: " + accepted);
    } catch (io.vertx.core.http.UpgradeRejectedException e) {
      return e.getStatus();
    }
  }

  /** {@code n} connected clients. */
  public List<TestClient> connect(int n) {
    List<TestClient> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(connect());
    }
    return out;
  }

  /** A hand-written WebSocket over TCP; see {@link RawWebSocket}. */
  public RawWebSocket connectRaw(int receiveBufferBytes) {
    return track(RawWebSocket.connect(clientVertx, port(), receiveBufferBytes));
  }

  /** Lets a test hand over something else to close with the clients. */
  public <T extends AutoCloseable> T track(T client) {
    clients.add(client);
    return client;
  }

  /** An HTTP response from the node. */
  public record HttpResult(int status, String body, HttpHeaders headers) {
    /** The first value of header {@code name} (case-insensitive), or "" when absent. */
    public String header(String name) {
      return headers.firstValue(name).orElse("");
    }
  }

  /**
   * GET {@code path} on the node (bounded). Uses the JDK's client, which blocks this test
   * thread only, and keeps connections alive between calls like a real scraper.
   */
  public HttpResult get(String path) {
    return get(path, Map.of());
  }

  /** GET {@code path} with {@code headers}; see {@link #get(String)}. */
  public HttpResult get(String path, Map<String, String> headers) {
    Wait.requireTestThread();
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + path))
        .timeout(TestClient.WAIT)
        .GET();
    headers.forEach(builder::header);
    HttpRequest request = builder.build();
    try {
      HttpResponse<String> response = httpClient.send(request, HttpResponse.BodyHandlers.ofString());
      return new HttpResult(response.statusCode(), response.body(), response.headers());
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + path, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** GET /metrics, parsed. */
  public Metrics metrics() {
    HttpResult r = get("/metrics");
    assertEquals(200, r.status(), "/metrics status");
    return Metrics.parse(r.body());
  }

  /** The registry's own scrape, parsed; no HTTP involved. */
  public Metrics scrape() {
    return Metrics.parse(registry.scrape());
  }

  /** Waits (bounded) until {@code condition} holds. */
  public void awaitCondition(java.util.function.BooleanSupplier condition, Duration timeout, String what) {
    Wait.until(clientVertx, condition, timeout, what);
  }

  /** Waits until the server holds exactly {@code n} open connections. */
  public void awaitOpenConnections(int n) {
    awaitCondition(() -> server.openConnections() == n, IDLE_TIMEOUT,
        "server openConnections() == " + n + " (is " + server.openConnections() + ")");
  }

  /**
   * Closes every client this fixture made, then asserts that the node is back to zero open
   * connections and zero rooms (waiting, bounded, for the closes to reach it).
   */
  public void closeClients() {
    List<AutoCloseable> toClose = new ArrayList<>(clients);
    clients.clear();
    RuntimeException failure = null;
    for (AutoCloseable c : toClose) {
      try {
        c.close();
      } catch (Exception e) {
        if (failure == null) {
          failure = new IllegalStateException("closing " + c + " failed", e);
        }
      }
    }
    if (!serverClosed) {
      // Room slots, not just rooms with members: a join that never finished holds a slot.
      awaitCondition(() -> server.openConnections() == 0 && server.roomSlots() == 0, IDLE_TIMEOUT,
          "all clients closed, so zero connections and zero rooms (connections "
              + server.openConnections() + ", room slots " + server.roomSlots() + ")");
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Starts the graceful stop (sockets get 1012) without waiting; {@link #close()} skips the idle check after it. */
  public Future<Void> beginServerClose() {
    serverClosed = true;
    return server.close();
  }

  /** Stops the server gracefully (sockets get 1012) and waits, bounded, for it. */
  public void closeServer() {
    if (!serverClosed) {
      Wait.await(beginServerClose(), Duration.ofSeconds(15));
    }
  }

  @Override
  public void close() {
    try {
      closeClients();
    } finally {
      try {
        closeServer();
      } finally {
        try {
          Wait.await(serverVertx.close(), Duration.ofSeconds(15));
        } finally {
          Wait.await(clientVertx.close(), Duration.ofSeconds(15));
        }
      }
    }
  }
}
