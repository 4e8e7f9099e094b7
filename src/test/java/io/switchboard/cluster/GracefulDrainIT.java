package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.NodeProcess;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM to a real node process in a two-node cluster: readiness turns false at once while its
 * sockets stay open, new upgrades get 503, and only after {@code DRAIN_DELAY_SECONDS} its sockets
 * are closed with 1012; peers on the other node hear {@code peer-left}, the process exits 0
 * within {@code DRAIN_DELAY_SECONDS} + {@code SHUTDOWN_GRACE_SECONDS}, and Redis holds nothing of
 * the node any more.
 */
class GracefulDrainIT {
  private static final Duration DRAIN_DELAY = Duration.ofSeconds(2);
  private static final Duration GRACE = Duration.ofSeconds(5);
  private static final Duration WAIT = Duration.ofSeconds(5);

  private final List<NodeProcess> nodes = new ArrayList<>();
  private final List<TestClient> clients = new ArrayList<>();
  private Vertx vertx;
  private Redis redis;

  @AfterEach
  void stopEverything() {
    clients.forEach(TestClient::close);
    nodes.forEach(NodeProcess::close);
    if (redis != null) {
      redis.close();
    }
    if (vertx != null) {
      Wait.await(vertx.close(), Duration.ofSeconds(10));
    }
  }

  @Test
  void sigtermFlipsReadinessThenClosesWith1012RemovesTheNodeFromRedisAndExitsZero() throws Exception {
    Path logs = NodeProcess.logDirectory();
    String prefix = RedisFixture.uniquePrefix();
    Map<String, String> env = Map.of("REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix,
        "DRAIN_DELAY_SECONDS", Long.toString(DRAIN_DELAY.toSeconds()),
        "SHUTDOWN_GRACE_SECONDS", Long.toString(GRACE.toSeconds()),
        // Far beyond every wait here, so a peer-left can only come from the drain, not from reaping.
        "NODE_TIMEOUT_MS", "60000");
    NodeProcess leaving = start("leaving", env, logs);
    NodeProcess staying = start("staying", env, logs);
    vertx = Vertx.vertx();
    redis = Redis.createClient(vertx, RedisFixture.shared().uri());
    WebSocketClient ws = vertx.createWebSocketClient();

    TestClient caller = connect(ws, leaving, "caller");
    TestClient loner = connect(ws, leaving, "loner");
    TestClient callee = connect(ws, staying, "callee");
    caller.join("call");
    callee.join("call");
    caller.next("peer-joined");
    // A room whose only member is on the leaving node: every key of it must go.
    loner.join("alone");
    assertFalse(leftovers(prefix, "leaving").isEmpty(), "the check below must be able to see the node's keys");

    long signalled = System.nanoTime();
    leaving.terminate();

    awaitReadyStatus(leaving, 503, WAIT);
    long notReady = System.nanoTime();
    caller.assertOpen();
    loner.assertOpen();
    UpgradeRejectedException refused = assertThrows(UpgradeRejectedException.class,
        () -> TestClient.connect(ws, leaving.port(), null, "late"));
    assertEquals(503, refused.getStatus());
    // During the delay open sockets keep working, across nodes too.
    callee.send("{\"type\":\"signal\",\"room\":\"call\",\"to\":\"" + caller.peerId() + "\",\"data\":\"still here\"}");
    assertEquals("still here", caller.next("signal").getString("data"));

    assertEquals(1012, caller.awaitClose(DRAIN_DELAY.plus(WAIT)));
    long closed = System.nanoTime();
    assertEquals("service restart", caller.closeReason());
    assertEquals(1012, loner.awaitClose(WAIT));
    assertTrue(notReady < closed, "readiness must flip before sockets close");
    assertTrue(closed - signalled >= DRAIN_DELAY.toNanos(),
        "sockets closed " + (closed - signalled) / 1_000_000 + " ms after SIGTERM, before the drain delay");

    JsonObject left = callee.nextOfType("peer-left", WAIT);
    assertEquals(caller.peerId(), left.getString("peer"));
    assertEquals("disconnect", left.getString("reason"));

    Duration bound = DRAIN_DELAY.plus(GRACE);
    long remaining = bound.toNanos() - (System.nanoTime() - signalled);
    // One second of slack for the JVM to go away once the hook halts it.
    assertEquals(0, leaving.awaitExit(Duration.ofNanos(Math.max(0, remaining)).plusSeconds(1)),
        "exit code; see " + leaving.log());

    assertEquals(List.of(), leftovers(prefix, "leaving"));
    assertEquals(List.of(), keysMatching(prefix + ":{alone}:*"));
    // The other node's state is untouched and it still serves.
    assertFalse(leftovers(prefix, "staying").isEmpty());
    assertEquals(200, staying.readyStatus());
    callee.assertAlive("after");
  }

  private NodeProcess start(String nodeId, Map<String, String> env, Path logs) throws Exception {
    NodeProcess node = NodeProcess.start(nodeId, env, logs);
    nodes.add(node);
    return node;
  }

  private TestClient connect(WebSocketClient ws, NodeProcess node, String name) {
    TestClient client = TestClient.connect(ws, node.port(), null, name);
    clients.add(client);
    return client;
  }

  private static void awaitReadyStatus(NodeProcess node, int status, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int last = node.readyStatus();
    while (last != status && System.nanoTime() < deadline) {
      Thread.sleep(10);
      last = node.readyStatus();
    }
    assertEquals(status, last, "/health/ready of " + node.nodeId());
  }

  /** Whatever Redis still holds of {@code node}: its keys, registry entry and room memberships. */
  private List<String> leftovers(String prefix, String node) {
    List<String> found = new ArrayList<>();
    for (String key : keysMatching(prefix + ":*")) {
      if (key.equals(prefix + ":node:" + node) || key.equals(prefix + ":node:" + node + ":rooms")) {
        found.add(key);
      } else if (key.equals(prefix + ":nodes")) {
        if (send(Request.cmd(Command.ZSCORE).arg(key).arg(node)) != null) {
          found.add(key + " entry " + node);
        }
      } else if (key.endsWith(":members")) {
        for (Response value : send(Request.cmd(Command.HVALS).arg(key))) {
          if (value.toString().startsWith("{\"node\":\"" + node + "\",")) {
            found.add(key + " member " + value);
          }
        }
      }
    }
    return found;
  }

  private List<String> keysMatching(String pattern) {
    List<String> keys = new ArrayList<>();
    send(Request.cmd(Command.KEYS).arg(pattern)).forEach(k -> keys.add(k.toString()));
    return keys;
  }

  private Response send(Request request) {
    return Wait.await(redis.send(request), WAIT);
  }
}
