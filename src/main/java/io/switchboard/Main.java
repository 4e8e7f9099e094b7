package io.switchboard;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.config.ConfigException;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * With an option ({@code --help}, {@code --version}, {@code --check-config}: {@link Cli}), prints
 * and exits. Otherwise starts a node from environment variables and runs it until SIGTERM/SIGINT,
 * then drains it ({@link Switchboard#drain}) and exits within {@code DRAIN_DELAY_SECONDS} +
 * {@code SHUTDOWN_GRACE_SECONDS}: 0 when the drain completed, 1 when time ran out. The only
 * production code that blocks on a Future.
 */
public final class Main {
  /** Half the start-up probe's 60 s in k8s/base/deployment.yaml, whatever the machine. */
  private static final long WARMUP_TIMEOUT_SECONDS = 30;

  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0) {
      System.exit(Cli.run(List.of(args), System.getenv(), System.out, System.err));
      return;
    }
    SwitchboardConfig config;
    try {
      config = SwitchboardConfig.fromEnv(System.getenv());
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    // Before the first logger exists: logback reads these when it initialises.
    System.setProperty("switchboard.logLevel", config.logLevel());
    System.setProperty("switchboard.nodeId", config.nodeId());
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile",
          config.logFormat() == SwitchboardConfig.LogFormat.JSON ? "logback-json.xml" : "logback-text.xml");
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    if (config.warmupConnections() > 0) {
      warmUp(config.warmupConnections(), log);
    }

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = Switchboard.createVertx(registry, config.eventLoops(), config.transport());
    Switchboard node;
    try {
      node = Switchboard.start(vertx, config, registry).await();
    } catch (Exception e) {
      log.error("start-up failed: {}", e.getMessage(), e);
      vertx.close();
      System.exit(1);
      return;
    }
    log.info("switchboard node {} listening on {}://{}:{} (event loops {}, transport {}, backplane {}, authentication {})",
        config.nodeId(), config.tls().enabled() ? "https" : "http", config.host(), node.port(), config.eventLoops(),
        Switchboard.transportName(vertx),
        config.clustered() ? "redis" : "in-memory", config.auth().enabled() ? config.auth().algorithm() : "off");

    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      Duration delay = Duration.ofSeconds(config.drainDelaySeconds());
      long deadline = System.nanoTime() + delay.plusSeconds(config.shutdownGraceSeconds()).toNanos();
      log.info("draining: not ready, new sockets refused; open sockets close in {} s", delay.toSeconds());
      boolean clean;
      try {
        node.drain(delay).toCompletionStage().toCompletableFuture().get(nanosLeft(deadline), TimeUnit.NANOSECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(nanosLeft(deadline), TimeUnit.NANOSECONDS);
        clean = true;
      } catch (Exception e) {
        log.warn("shutdown did not finish cleanly within DRAIN_DELAY_SECONDS + SHUTDOWN_GRACE_SECONDS ({} s): {}",
            delay.toSeconds() + config.shutdownGraceSeconds(), e.toString());
        clean = false;
      }
      log.info("stopped");
      // A JVM ended by a signal reports 128 + the signal (143) even when everything went well;
      // halting says how the drain went instead. Nothing else is left to run: logs are written
      // synchronously.
      Runtime.getRuntime().halt(clean ? 0 : 1);
    }, "switchboard-shutdown"));
  }

  /**
   * Sets up and serves {@code connections} sockets on a loopback node of its own before this one
   * listens ({@code WARMUP_CONNECTIONS}, docs/operations.md, "Cold start"): the JIT compiles what
   * a reconnect storm runs, so the pod's first clients do not pay for it. Until it listens the pod
   * is not ready, which is what keeps the Service from sending them meanwhile. A warm-up that
   * fails or runs out of time only costs the time: the node starts as it would have.
   */
  private static void warmUp(int connections, Logger log) {
    long started = System.nanoTime();
    log.info("warming up: {} connections on a loopback node of its own before listening", connections);
    try {
      long resumes = Training.workload(System.getenv(), connections, WARMUP_TIMEOUT_SECONDS);
      log.info("warmed up in {} ms ({} sessions resumed)", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started),
          resumes);
    } catch (Exception e) {
      log.warn("warm-up did not finish ({}); starting anyway after {} ms", e.toString(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }
  }

  private static long nanosLeft(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }
}
