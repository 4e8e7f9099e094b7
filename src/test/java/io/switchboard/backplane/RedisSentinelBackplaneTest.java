package io.switchboard.backplane;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.SentinelFixture;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * The contract, on the Redis backplane in sentinel mode: the nodes find the master through three
 * sentinels (a master and a replica behind them), with resume on as in {@link RedisBackplaneTest}.
 */
class RedisSentinelBackplaneTest extends BackplaneContractTest {
  private static SentinelFixture sentinels;
  private static Vertx vertx;
  private String prefix;

  @BeforeAll
  static void start() {
    sentinels = SentinelFixture.start();
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      vertx.close();
    }
    if (sentinels != null) {
      sentinels.close();
    }
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  @Override
  protected Backplane newNode(String nodeId) {
    return new RedisBackplane(vertx, RedisTarget.sentinel(SentinelFixture.MASTER, sentinels.sentinelUrls()), "",
        prefix, nodeId, 200, 1000, 2000, SignalingMetrics.NOOP,
        new RedisBackplane.Resume(30_000, DEFAULT_BUFFERED_EVENTS, 1 << 20));
  }
}
