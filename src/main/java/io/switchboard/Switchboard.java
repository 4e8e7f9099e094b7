package io.switchboard;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.admin.AdminServer;
import io.switchboard.backplane.local.LocalBackplane;
import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.edge.HttpServerVerticle;
import io.switchboard.edge.Node;
import io.switchboard.metrics.MetricNames;
import io.switchboard.metrics.MicrometerSignalingMetrics;
import io.switchboard.security.IceServers;
import io.switchboard.signaling.Hub;
import io.switchboard.signaling.Limits;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.transport.Transport;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One running Switchboard node: the entry point for {@link Main} and for tests.
 *
 * <p>{@link #start} deploys one {@link HttpServerVerticle} per event loop on one shared port, on
 * the backplane the configuration selects (in-memory unless told otherwise). {@link #close}
 * drains: readiness turns false, new sockets are refused, open ones are closed with 1012.
 */
public final class Switchboard {
  private final Vertx vertx;
  private final Node node;
  private final Hub hub;
  private final Backplane backplane;
  private final String deployment;
  private final int port;
  // The admin port's deployment and port, or null and -1 when ADMIN_PORT is unset.
  private final String adminDeployment;
  private final int adminPort;
  // Ends sessions whose resume window passed (Hub#tick).
  private final long resumeTimer;

  private Switchboard(Vertx vertx, Node node, Hub hub, Backplane backplane, String deployment, int port,
      String adminDeployment, int adminPort) {
    this.vertx = vertx;
    this.node = node;
    this.hub = hub;
    this.backplane = backplane;
    this.deployment = deployment;
    this.port = port;
    this.adminDeployment = adminDeployment;
    this.adminPort = adminPort;
    this.resumeTimer = vertx.setPeriodic(RESUME_TICK_MILLIS, id -> hub.tick());
  }

  private static final long RESUME_TICK_MILLIS = 1000;

  /** A Vert.x instance with {@code eventLoops} event loops whose metrics go to {@code registry}. */
  public static Vertx createVertx(PrometheusMeterRegistry registry, int eventLoops) {
    return createVertx(registry, eventLoops, SwitchboardConfig.Transport.EPOLL);
  }

  /**
   * As {@link #createVertx(PrometheusMeterRegistry, int)}, on {@code transport} where this
   * machine has it: io_uring falls back to epoll (a kernel without it, or one that forbids it),
   * epoll to NIO (not Linux).
   */
  public static Vertx createVertx(PrometheusMeterRegistry registry, int eventLoops, SwitchboardConfig.Transport transport) {
    MicrometerMetricsOptions metrics = new MicrometerMetricsOptions()
        .setEnabled(true)
        .setJvmMetricsEnabled(true);
    VertxBuilder builder = Vertx.builder()
        .with(new VertxOptions().setEventLoopPoolSize(eventLoops).setPreferNativeTransport(true).setMetricsOptions(metrics))
        .withMetrics(new MicrometerMetricsFactory(registry));
    if (transport == SwitchboardConfig.Transport.IO_URING && Transport.IO_URING != null && Transport.IO_URING.available()) {
      builder.withTransport(DefaultSocketOptionsUnset.wrap(Transport.IO_URING));
    } else if (Transport.EPOLL != null && Transport.EPOLL.available()) {
      builder.withTransport(DefaultSocketOptionsUnset.wrap(Transport.EPOLL));
    }
    return builder.build();
  }

  /** The transport {@code vertx} carries sockets on, as the start-up log names it. */
  public static String transportName(Vertx vertx) {
    return DefaultSocketOptionsUnset.unwrapped(((io.vertx.core.internal.VertxInternal) vertx).transport())
        .getClass().getSimpleName();
  }

  /**
   * Starts a node on {@code vertx}. With {@code PORT=0} every instance shares one free port,
   * available from {@link #port()}.
   */
  public static Future<Switchboard> start(Vertx vertx, SwitchboardConfig config, PrometheusMeterRegistry registry) {
    MicrometerSignalingMetrics metrics = new MicrometerSignalingMetrics(registry);
    Backplane backplane;
    if (config.clustered()) {
      RedisTarget target = switch (config.redisMode()) {
        case SENTINEL -> RedisTarget.sentinel(config.redisSentinelMaster(), config.redisUrls());
        case CLUSTER -> config.redisClusterLayout() == SwitchboardConfig.ClusterLayout.ONE_SLOT
            ? RedisTarget.cluster(config.redisUrls()).inOneSlot() : RedisTarget.cluster(config.redisUrls());
        case STANDALONE -> RedisTarget.standalone(config.redisUrl());
      };
      RedisBackplane redis = new RedisBackplane(vertx, target, config.redisTlsCaFile(),
          config.redisKeyPrefix(), config.nodeId(), config.nodeHeartbeatMillis(), config.nodeTimeoutMillis(),
          config.redisTimeoutMillis(), metrics, new RedisBackplane.Resume(config.resume().windowMillis(),
          config.resume().maxEvents(), config.resume().maxBytes(), config.resume().waitReplicas()));
      Gauge.builder(MetricNames.BACKPLANE_SUBSCRIPTIONS, redis, RedisBackplane::subscribedRooms)
          .description("Rooms whose channel this node is subscribed to").register(registry);
      backplane = redis;
    } else {
      LocalBackplane local = LocalBackplane.standalone(config.nodeId(), config.resume().maxEvents(),
          config.resume().maxBytes());
      Gauge.builder(MetricNames.BACKPLANE_SUBSCRIPTIONS, local, LocalBackplane::subscribedRooms)
          .description("Rooms whose events this node receives").register(registry);
      backplane = local;
    }
    return start(vertx, config, registry, metrics, backplane);
  }

  /**
   * Starts a node on a backplane of the caller's: another implementation of the port, or one a
   * test drives step by step. The configuration's Redis settings are not used.
   */
  public static Future<Switchboard> start(Vertx vertx, SwitchboardConfig config, PrometheusMeterRegistry registry,
      Backplane backplane) {
    return start(vertx, config, registry, new MicrometerSignalingMetrics(registry), backplane);
  }

  private static Future<Switchboard> start(Vertx vertx, SwitchboardConfig config, PrometheusMeterRegistry registry,
      MicrometerSignalingMetrics metrics, Backplane backplane) {
    IceServers iceServers = new IceServers(config.ice());
    Hub hub = new Hub(backplane, limits(config), metrics, config.nodeId(), peer -> {
      var servers = iceServers.forUser(peer.value(), System.currentTimeMillis() / 1000);
      return servers == null ? null : servers.encode();
    });
    Gauge.builder(MetricNames.ROOMS, hub, Hub::roomCount)
        .description("Rooms with a member on this node").register(registry);
    Gauge.builder(MetricNames.CONNECTIONS_MAX, config::maxConnections)
        .description("MAX_CONNECTIONS: sockets this node accepts").register(registry);
    BuildInfo build = BuildInfo.current();
    Gauge.builder(MetricNames.BUILD_INFO, () -> 1).tag("version", build.version()).tag("commit", build.commit())
        .description("The build this node runs").register(registry);
    Node node = new Node(vertx, config, hub, backplane, metrics, registry, iceServers);
    // A negative port asks Vert.x for one random port shared by every instance; port 0 would
    // give each instance a port of its own.
    int listenPort = config.port() == 0 ? -1 : config.port();
    List<HttpServerVerticle> instances = new CopyOnWriteArrayList<>();
    return backplane.start(hub)
        .recover(e -> Future.failedFuture(new IllegalStateException(
            "backplane did not start (REDIS_URL " + (config.clustered() ? "set" : "unset") + "): " + e.getMessage(), e)))
        .compose(v -> vertx.deployVerticle(() -> {
          HttpServerVerticle instance = new HttpServerVerticle(node, listenPort);
          instances.add(instance);
          return instance;
        }, new DeploymentOptions().setInstances(config.eventLoops())))
        .compose(id -> {
          if (!config.adminEnabled()) {
            return Future.succeededFuture(new Switchboard(vertx, node, hub, backplane, id,
                instances.get(0).actualPort(), null, -1));
          }
          AdminServer admin = new AdminServer(config, hub, registry, build.version());
          return vertx.deployVerticle(admin)
              .recover(e -> vertx.undeploy(id).transform(ar -> Future.failedFuture(e)))
              .map(adminId -> new Switchboard(vertx, node, hub, backplane, id, instances.get(0).actualPort(),
                  adminId, admin.actualPort()));
        })
        .recover(e -> {
          node.close();
          return backplane.close().transform(ar -> Future.failedFuture(e));
        });
  }

  /** The version the jar's manifest names, or {@code dev} when run from classes. */
  private static Limits limits(SwitchboardConfig config) {
    return new Limits(config.maxRoomsPerConnection(), config.maxPeersPerRoom(),
        config.rateLimitPerSecond(), config.rateLimitBurst(), config.floodCloseAfter(),
        config.resume().windowMillis());
  }

  /** The port the node listens on. */
  public int port() {
    return port;
  }

  /** The admin port (server API and /metrics), or -1 when ADMIN_PORT is unset. */
  public int adminPort() {
    return adminPort;
  }

  /** WebSocket sessions open on this node. */
  public int openConnections() {
    return hub.sessionCount();
  }

  /** Rooms with at least one member on this node. */
  public int roomCount() {
    return hub.roomCount();
  }

  /** Rooms this node holds in any state, joins in flight included (tests check for leaks). */
  public int roomSlots() {
    return hub.roomSlots();
  }

  /** What {@code /health/ready} reports. */
  public boolean ready() {
    return node.ready();
  }

  /**
   * SIGTERM's path: readiness turns false and new sockets are refused at once, while open ones
   * keep working for {@code delay}, the time load balancers need to notice and stop routing
   * here; then {@link #close}.
   */
  public Future<Void> drain(Duration delay) {
    node.startDraining();
    if (delay.isZero()) {
      return close();
    }
    Promise<Void> elapsed = Promise.promise();
    vertx.setTimer(delay.toMillis(), id -> elapsed.complete());
    return elapsed.future().compose(v -> close());
  }

  /**
   * Drains and stops the node: readiness false, sockets closed with 1012, servers closed, then
   * the backplane, which removes this node's members from it. Does not close the Vertx instance.
   */
  public Future<Void> close() {
    node.startDraining();
    node.close();
    Future<Void> adminStopped = adminDeployment == null ? Future.succeededFuture() : vertx.undeploy(adminDeployment);
    vertx.cancelTimer(resumeTimer);
    // Undeploying closed every socket with 1012; the resumable ones are handed to their gap
    // before the backplane removes what this node holds.
    return adminStopped.transform(a -> vertx.undeploy(deployment)).transform(ar -> hub.quiesce())
        .transform(ar -> backplane.close());
  }
}
