package io.switchboard.backplane;

import io.switchboard.signaling.port.Backplane;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.RedisFixture;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** The contract, on the Redis backplane: nodes of one test share one Redis key prefix. */
class RedisBackplaneTest extends BackplaneContractTest {
  private static Vertx vertx;
  private String prefix;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() {
    vertx.close();
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  @Override
  protected Backplane newNode(String nodeId) {
    return new RedisBackplane(vertx, RedisFixture.shared().uri(), "", prefix, nodeId, 200, 1000, 2000, SignalingMetrics.NOOP);
  }
}
