package io.switchboard.edge;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.backplane.Backplane;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.edge.dialect.socketio.SocketIoDialect;
import io.switchboard.edge.engineio.EngineIoServer;
import io.switchboard.metrics.SignalingMetrics;
import io.switchboard.signaling.Hub;
import io.vertx.core.Vertx;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every HTTP verticle instance of one node shares: the hub, the backplane, metrics and the
 * node-wide connection budget. Thread-safe.
 */
public final class Node {
  final SwitchboardConfig config;
  final Hub hub;
  final Backplane backplane;
  final SignalingMetrics metrics;
  final PrometheusMeterRegistry registry;
  final EngineIoServer engineIo;
  private final AtomicInteger connections = new AtomicInteger();
  private volatile boolean draining;

  public Node(Vertx vertx, SwitchboardConfig config, Hub hub, Backplane backplane, SignalingMetrics metrics,
      PrometheusMeterRegistry registry) {
    this.config = config;
    this.hub = hub;
    this.backplane = backplane;
    this.metrics = metrics;
    this.registry = registry;
    long pingInterval = TimeUnit.SECONDS.toMillis(config.pingIntervalSeconds());
    this.engineIo = new EngineIoServer(vertx, hub, metrics,
        new EngineIoServer.Admission() {
          @Override
          public Integer admit() {
            return admitConnection();
          }

          @Override
          public void release() {
            releaseConnection();
          }
        },
        this::originAllowed,
        (link, version) -> new SocketIoDialect(link, version, config.socketIoDisconnectOnDrop()),
        config.maxMessageBytes(), config.writeQueueMaxBytes(),
        pingInterval, TimeUnit.SECONDS.toMillis(config.idleTimeoutSeconds()) - pingInterval);
  }

  /**
   * Takes one connection slot and returns null, or returns the HTTP status refusing a new client
   * (503 while draining or when the node is full), counting the refusal.
   */
  Integer admitConnection() {
    if (draining) {
      metrics.connectionRejected("draining");
      return 503;
    }
    if (!tryAcquireConnection()) {
      metrics.connectionRejected("capacity");
      return 503;
    }
    return null;
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

  void releaseConnection() {
    connections.decrementAndGet();
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
}
