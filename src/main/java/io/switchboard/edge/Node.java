package io.switchboard.edge;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.edge.dialect.socketio.SocketIoDialect;
import io.switchboard.edge.engineio.EngineIoServer;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.security.ClientLimiter;
import io.switchboard.security.ClientRequest;
import io.switchboard.security.Gate;
import io.switchboard.security.IceServers;
import io.switchboard.security.Refused;
import io.switchboard.security.Ticket;
import io.switchboard.security.TokenVerifier;
import io.switchboard.signaling.Hub;
import io.switchboard.signaling.Identity;
import io.vertx.core.Vertx;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every HTTP verticle instance of one node shares: the hub, the backplane, metrics, the
 * node-wide connection budget and the {@link Gate} in front of it. Thread-safe.
 */
public final class Node implements Gate {
  /** How often addresses that no longer need tracking are dropped from the per-address limits. */
  private static final long EVICT_EVERY_MILLIS = 5000;

  final SwitchboardConfig config;
  final Hub hub;
  final Backplane backplane;
  final SignalingMetrics metrics;
  final PrometheusMeterRegistry registry;
  final EngineIoServer engineIo;
  final IceServers iceServers;
  /** Null when authentication is off. */
  final TokenVerifier tokens;
  /** Null when no per-address limit is set. */
  final ClientLimiter limiter;
  private final Vertx vertx;
  private final long evictTimer;
  private final AtomicInteger connections = new AtomicInteger();
  // Per TCP peer address: connections accepted whose first request head has not arrived yet.
  private final ConcurrentHashMap<String, Integer> pendingHandshakes = new ConcurrentHashMap<>();
  private volatile boolean draining;

  public Node(Vertx vertx, SwitchboardConfig config, Hub hub, Backplane backplane, SignalingMetrics metrics,
      PrometheusMeterRegistry registry, IceServers iceServers) {
    this.vertx = vertx;
    this.config = config;
    this.hub = hub;
    this.backplane = backplane;
    this.metrics = metrics;
    this.registry = registry;
    this.iceServers = iceServers;
    this.tokens = config.auth().enabled() ? new TokenVerifier(vertx, config.auth()) : null;
    this.limiter = config.clientLimits().enabled() ? new ClientLimiter(config.clientLimits()) : null;
    this.evictTimer = limiter == null ? -1
        : vertx.setPeriodic(EVICT_EVERY_MILLIS, id -> limiter.evictIdle(System.nanoTime()));
    long pingInterval = TimeUnit.SECONDS.toMillis(config.pingIntervalSeconds());
    this.engineIo = new EngineIoServer(vertx, hub, metrics, this, this::originAllowed,
        (link, version) -> new SocketIoDialect(link, version, config.socketIoDisconnectOnDrop()),
        config.maxMessageBytes(), config.writeQueueMaxBytes(),
        pingInterval, TimeUnit.SECONDS.toMillis(config.idleTimeoutSeconds()) - pingInterval);
  }

  @Override
  public Ticket admit(ClientRequest request) {
    if (draining) {
      throw refuse(new Refused(503, "draining"));
    }
    String client = limiter == null ? null : limiter.clientKey(request.headers(), request.remote());
    if (client != null) {
      try {
        limiter.acquire(client, true, System.nanoTime());
      } catch (Refused r) {
        throw refuse(r);
      }
    }
    Identity identity = Identity.ANONYMOUS;
    long closeAt = Long.MAX_VALUE;
    try {
      if (tokens != null) {
        identity = tokens.verify(TokenVerifier.tokenOf(request.headers(), request.query()));
        closeAt = closeAtMillis(identity.expiresAtEpochSeconds(), config.auth().expiryGraceSeconds());
      }
      if (!tryAcquireConnection()) {
        throw new Refused(503, "capacity");
      }
    } catch (Refused r) {
      if (client != null) {
        limiter.release(client);
      }
      throw refuse(r);
    }
    return new Ticket(identity, closeAt, () -> {
      connections.decrementAndGet();
      if (client != null) {
        limiter.release(client);
      }
    });
  }

  /** When a connection whose token expires at {@code exp} must close; never overflows. */
  static long closeAtMillis(long exp, int graceSeconds) {
    long seconds = exp + graceSeconds;
    return seconds >= Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : seconds * 1000;
  }

  /**
   * Charges a request that opens no connection ({@code GET /ice-servers}) to its address's rate
   * and checks its token; returns who it is.
   *
   * @throws Refused 429 or 401, counted
   */
  Identity check(ClientRequest request) {
    try {
      if (limiter != null) {
        limiter.acquire(limiter.clientKey(request.headers(), request.remote()), false, System.nanoTime());
      }
      return tokens == null ? Identity.ANONYMOUS
          : tokens.verify(TokenVerifier.tokenOf(request.headers(), request.query()));
    } catch (Refused r) {
      throw refuse(r);
    }
  }

  private Refused refuse(Refused refusal) {
    metrics.connectionRejected(refusal.reason());
    return refusal;
  }

  /** Whether a browser page from {@code origin} may connect (ALLOWED_ORIGINS). */
  boolean originAllowed(String origin) {
    return config.allowsAnyOrigin() || config.allowedOrigins().contains(origin.toLowerCase(Locale.ROOT));
  }

  private boolean tryAcquireConnection() {
    while (true) {
      int n = connections.get();
      if (n >= config.maxConnections()) {
        return false;
      }
      if (connections.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /**
   * Counts a new TCP connection against its peer address until its first request head arrives;
   * false (count unchanged) when the address already has {@code MAX_PENDING_HANDSHAKES_PER_IP}.
   * Off behind a proxy ({@code CLIENT_IP_HEADER}): every connection comes from the proxy, and the
   * client's address is in a header not read yet.
   */
  boolean holdPendingHandshake(String address) {
    int max = config.maxPendingHandshakesPerIp();
    if (max == 0 || !config.clientLimits().addressHeader().isEmpty()) {
      return true;
    }
    boolean[] held = new boolean[1];
    pendingHandshakes.compute(address, (a, n) -> {
      int now = n == null ? 0 : n;
      held[0] = now < max;
      return held[0] ? now + 1 : n;
    });
    return held[0];
  }

  /** The connection counted by {@link #holdPendingHandshake} sent its head or closed. */
  void releasePendingHandshake(String address) {
    pendingHandshakes.computeIfPresent(address, (a, n) -> n <= 1 ? null : n - 1);
  }

  /** From now on, refuse new sockets and report not ready. */
  public void startDraining() {
    draining = true;
  }

  public boolean draining() {
    return draining;
  }

  /** Whether this node should receive traffic: not draining and the backplane is usable. */
  public boolean ready() {
    return !draining && backplane.ready();
  }

  /** Stops the node's own timers; the verticles close their sockets themselves. */
  public void close() {
    if (evictTimer >= 0) {
      vertx.cancelTimer(evictTimer);
    }
  }
}
