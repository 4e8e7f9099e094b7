package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.switchboard.support.RedisFixture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node drained on purpose (SIGTERM's path) says goodbye: its sockets get 1012, and peers on
 * other nodes hear {@code peer-left} with reason {@code disconnect} at once, not {@code node-lost}
 * after a timeout.
 */
class GracefulShutdownAcrossNodesTest {
  private ServerFixture leaving;
  private ServerFixture staying;

  @AfterEach
  void tearDown() {
    if (leaving != null) {
      leaving.close();
    }
    if (staying != null) {
      staying.close();
    }
  }

  @Test
  void drainedNodesPeersLeaveWithDisconnectOnOtherNodes() {
    String prefix = RedisFixture.uniquePrefix();
    leaving = ServerFixture.start(Map.of("REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix,
        "NODE_ID", "leaving", "NODE_TIMEOUT_MS", "30000"));
    staying = ServerFixture.start(Map.of("REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix,
        "NODE_ID", "staying", "NODE_TIMEOUT_MS", "30000"));
    TestClient goner = leaving.connect();
    TestClient survivor = staying.connect();
    goner.join("drain", null);
    survivor.join("drain", null);
    goner.next("peer-joined");

    leaving.closeServer();
    assertEquals((short) 1012, goner.awaitClose(Duration.ofSeconds(5)));
    // NODE_TIMEOUT_MS is 30 s, so only the goodbye can deliver this within the wait.
    JsonObject left = survivor.next("peer-left");
    assertEquals(goner.peerId(), left.getString("peer"));
    assertEquals("disconnect", left.getString("reason"));
    survivor.expectNothing();
  }
}
