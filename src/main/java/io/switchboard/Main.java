package io.switchboard;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.config.ConfigException;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a node from environment variables and runs it until SIGTERM/SIGINT, then drains it
 * within {@code SHUTDOWN_GRACE_SECONDS}. The only production code that blocks on a Future.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
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
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile",
          config.logFormat() == SwitchboardConfig.LogFormat.JSON ? "logback-json.xml" : "logback-text.xml");
    }
    Logger log = LoggerFactory.getLogger(Main.class);

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = Switchboard.createVertx(registry, config.eventLoops());
    Switchboard node;
    try {
      node = Switchboard.start(vertx, config, registry).await();
    } catch (Exception e) {
      log.error("start-up failed: {}", e.getMessage(), e);
      vertx.close();
      System.exit(1);
      return;
    }
    log.info("switchboard node {} listening on {}:{} (event loops {}, backplane {})",
        config.nodeId(), config.host(), node.port(), config.eventLoops(), config.clustered() ? "redis" : "in-memory");

    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("shutting down: draining connections");
      long graceMillis = TimeUnit.SECONDS.toMillis(config.shutdownGraceSeconds()) + 2000;
      try {
        node.close().toCompletionStage().toCompletableFuture().get(graceMillis, TimeUnit.MILLISECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      } catch (Exception e) {
        log.warn("shutdown did not finish cleanly: {}", e.toString());
      }
      log.info("stopped");
    }, "switchboard-shutdown"));
  }
}
