package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.NodeProcess;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three nodes as separate OS processes running the real jar on one Redis. One is SIGKILLed (no
 * goodbye); peers on the survivors must get {@code peer-left} with reason {@code node-lost}
 * within the documented bound (10 s with default settings), and the names its {@code /direct}
 * users held become free.
 */
class NodeLossIT {
  private static final Duration DOCUMENTED_BOUND = Duration.ofSeconds(10);

  private final List<NodeProcess> nodes = new ArrayList<>();
  private final List<TestClient> clients = new ArrayList<>();
  private Vertx vertx;

  @AfterEach
  void stopEverything() throws Exception {
    clients.forEach(TestClient::close);
    nodes.forEach(NodeProcess::close);
    if (vertx != null) {
      Wait.await(vertx.close(), Duration.ofSeconds(10));
    }
  }

  /** Starts the jar with default liveness settings and waits, bounded, for /health/ready. */
  private int startNode(String nodeId, String prefix, Path logs) throws Exception {
    NodeProcess node = NodeProcess.start(nodeId,
        Map.of("REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix), logs);
    nodes.add(node);
    return node.port();
  }

  private static boolean login(TestClient client, String name) {
    client.send(new JsonObject().put("type", "login").put("name", name).encode());
    JsonObject reply = client.next();
    assertEquals("login", reply.getString("type"), reply.encode());
    return reply.getBoolean("success");
  }

  @Test
  void peersOnSurvivingNodesHearNodeLostWithinTheBound() throws Exception {
    Path logs = NodeProcess.logDirectory();
    String prefix = RedisFixture.uniquePrefix();
    int[] ports = {startNode("alpha", prefix, logs), startNode("beta", prefix, logs), startNode("gamma", prefix, logs)};
    vertx = Vertx.vertx();
    WebSocketClient ws = vertx.createWebSocketClient();
    String room = "survivors";
    List<TestClient> peers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      TestClient peer = TestClient.connect(ws, ports[i], null, "peer" + i);
      clients.add(peer);
      peer.join(room, null);
      peers.add(peer);
    }
    peers.get(0).next("peer-joined");
    peers.get(0).next("peer-joined");
    peers.get(1).next("peer-joined");
    // A /direct user on the doomed node holds a name that nobody else can take while it lives.
    String name = "carol-" + prefix;
    TestClient carol = TestClient.open(ws, TestClient.options(ports[2], "/direct", null), "carol");
    clients.add(carol);
    assertTrue(login(carol, name), "carol logs in");
    TestClient rival = TestClient.open(ws, TestClient.options(ports[0], "/direct", null), "rival");
    clients.add(rival);
    assertTrue(!login(rival, name), "the name is taken cluster-wide");

    long killedAt = System.nanoTime();
    nodes.get(2).kill();

    for (int i = 0; i < 2; i++) {
      JsonObject left = peers.get(i).nextOfType("peer-left", DOCUMENTED_BOUND.plusSeconds(2));
      long tookMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertEquals(peers.get(2).peerId(), left.getString("peer"));
      assertEquals("node-lost", left.getString("reason"));
      assertTrue(tookMillis <= DOCUMENTED_BOUND.toMillis(), "peer-left took " + tookMillis + " ms");
      System.out.println("peer" + i + " heard node-lost " + tookMillis + " ms after SIGKILL");
    }
    // The dead node's names are released with its members.
    assertTrue(login(rival, name), "the name is free once its node is reaped");
    // The survivors still relay to each other across nodes.
    peers.get(0).send("{\"type\":\"signal\",\"room\":\"" + room + "\",\"to\":\"" + peers.get(1).peerId() + "\",\"data\":1}");
    assertEquals(1, peers.get(1).next("signal").getInteger("data"));
  }
}
