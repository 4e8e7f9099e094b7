package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ClusterFixture;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ServerFixture;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The contract of every resumable backplane on a Redis Cluster in the one-slot layout asked for
 * with {@code REDIS_CLUSTER_LAYOUT=one-slot} and no replica wait (docs/clustering.md, "Two
 * layouts"): the session scripts touch a session's keys and its rooms' in one step, as on a
 * standalone server. Where the keys land, and faults, are {@link RedisClusterResumeTest}'s.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterOneSlotResumeTest extends ResumeContractTest {
  private static ClusterFixture cluster;
  private static Vertx vertx;
  private String prefix;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    cluster = ClusterFixture.start();
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      vertx.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  /** A server started with {@code REDIS_CLUSTER_LAYOUT=one-slot} heartbeats in the prefix's slot. */
  @Test
  void theSettingPutsAServersKeysInThePrefixsSlot() {
    try (ServerFixture server = ServerFixture.start(Map.of("REDIS_MODE", "cluster", "REDIS_URL",
        String.join(",", cluster.seedUrls()), "REDIS_KEY_PREFIX", prefix, "REDIS_CLUSTER_LAYOUT", "one-slot",
        "NODE_ID", "one-slot-server"))) {
      int home = cluster.masterOfSlot(ClusterFixture.slot("{" + prefix + "}"));
      assertEquals(List.of("{" + prefix + "}:node:one-slot-server"),
          cluster.command(home, "KEYS", "{" + prefix + "}:node:one-slot-server"));
    }
  }

  @Override
  protected Backplane newNode(String nodeId) {
    return new RedisBackplane(vertx, RedisTarget.cluster(cluster.seedUrls()).inOneSlot(), "", prefix, nodeId, 200,
        1000, 2000, SignalingMetrics.NOOP, new RedisBackplane.Resume(30_000, DEFAULT_BUFFERED_EVENTS, 1 << 20, 0));
  }
}
