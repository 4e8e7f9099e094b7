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
 * Redis goes away and comes back on the same port while peers stay connected: local relays keep
 * working, readiness goes false then true, and cross-node relays resume without reconnecting
 * any client.
 */
class RedisReconnectTest {
  private RedisFixture redis;
  private ServerFixture north;
  private ServerFixture south;

  @AfterEach
  void tearDown() {
    if (north != null) {
      north.close();
    }
    if (south != null) {
      south.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  private ServerFixture node(String id) {
    return ServerFixture.start(Map.of("REDIS_URL", redis.uri(), "NODE_ID", id,
        "NODE_HEARTBEAT_MS", "200", "NODE_TIMEOUT_MS", "3000", "REDIS_TIMEOUT_MS", "500"));
  }

  private static String relay(String room, TestClient to, int n) {
    return "{\"type\":\"signal\",\"room\":\"" + room + "\",\"to\":\"" + to.peerId() + "\",\"data\":" + n + "}";
  }

  @Test
  void relaysResumeAfterRedisRestartsWithoutClientsReconnecting() {
    redis = RedisFixture.ownProcess();
    north = node("north");
    south = node("south");
    String room = "restart";
    TestClient a = north.connect();
    TestClient local = north.connect();
    TestClient b = south.connect();
    TestClient leaver = south.connect();
    a.join(room, null);
    local.join(room, null);
    b.join(room, null);
    leaver.join(room, null);
    for (int i = 0; i < 3; i++) {
      a.next("peer-joined");
    }
    local.next("peer-joined");
    local.next("peer-joined");
    b.next("peer-joined");

    a.send(relay(room, b, 1));
    assertEquals(1, b.next("signal").getInteger("data"));

    redis.stopProcess();
    north.awaitCondition(() -> !north.server().ready(), Duration.ofSeconds(5), "north not ready while Redis is down");
    assertEquals(503, north.get("/health/ready").status());
    assertEquals(200, north.get("/health/live").status());

    a.send(relay(room, local, 2));
    assertEquals(2, local.next("signal").getInteger("data"), "local relays keep working during the outage");
    a.send("{\"type\":\"signal\",\"room\":\"" + room + "\",\"to\":\"" + b.peerId() + "\",\"data\":0,\"id\":\"lost\"}");
    JsonObject refused = a.next("error");
    assertEquals("internal", refused.getString("code"), "a relay that cannot cross nodes is reported");
    assertEquals("lost", refused.getString("id"));
    leaver.close();
    assertEquals(leaver.peerId(), b.next("peer-left").getString("peer"), "same-node peers hear of it at once");

    redis.startProcess();
    north.awaitCondition(() -> north.server().ready(), Duration.ofSeconds(10), "north ready again");
    south.awaitCondition(() -> south.server().ready(), Duration.ofSeconds(10), "south ready again");
    assertEquals(200, north.get("/health/ready").status());

    JsonObject left = a.nextOfType("peer-left", Duration.ofSeconds(10));
    assertEquals(leaver.peerId(), left.getString("peer"), "a leave during the outage reaches other nodes after it");

    a.send(relay(room, b, 3));
    assertEquals(3, b.next("signal").getInteger("data"));
    b.send(relay(room, a, 4));
    assertEquals(4, a.nextOfType("signal", TestClient.WAIT).getInteger("data"));
  }
}
