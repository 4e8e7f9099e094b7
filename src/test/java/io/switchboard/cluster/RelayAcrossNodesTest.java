package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.metrics.MetricNames;
import io.switchboard.support.Metrics;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Five nodes on one Redis, each peer on a node of its own, so that every relay in these tests
 * crosses nodes through the Redis backplane.
 */
class RelayAcrossNodesTest {
  private static final int NODES = 5;
  private static final int CAPACITY = 5;
  private static final List<ServerFixture> nodes = new ArrayList<>();

  @BeforeAll
  static void startCluster() {
    String prefix = RedisFixture.uniquePrefix();
    for (int i = 0; i < NODES; i++) {
      nodes.add(ServerFixture.start(Map.of(
          "REDIS_URL", RedisFixture.shared().uri(),
          "REDIS_KEY_PREFIX", prefix,
          "NODE_ID", "n" + i,
          "EVENT_LOOPS", "1",
          "MAX_PEERS_PER_ROOM", Integer.toString(CAPACITY),
          "RATE_LIMIT_PER_SECOND", "10000",
          "RATE_LIMIT_BURST", "10000")));
    }
  }

  @AfterAll
  static void stopCluster() {
    nodes.forEach(ServerFixture::close);
  }

  @AfterEach
  void noLeftovers() {
    for (ServerFixture node : nodes) {
      node.closeClients();
      // The last member's departure unsubscribes just after the room itself is gone.
      node.awaitCondition(() -> node.registry().get(MetricNames.BACKPLANE_SUBSCRIPTIONS).gauge().value() == 0.0,
          Duration.ofSeconds(5), "no room channel left subscribed");
    }
  }

  private static String room() {
    return "x-" + RedisFixture.uniquePrefix();
  }

  @Test
  void offerAnswerAndCandidatesCrossNodesByteForByte() {
    String room = room();
    TestClient alice = nodes.get(0).connect();
    TestClient bob = nodes.get(1).connect();
    alice.join(room, new JsonObject().put("name", "alice"));
    JsonObject joined = bob.join(room, null);
    assertEquals(alice.peerId(), joined.getJsonArray("peers").getJsonObject(0).getString("peer"));
    assertEquals("alice", joined.getJsonArray("peers").getJsonObject(0).getJsonObject("meta").getString("name"));
    assertEquals(bob.peerId(), alice.next("peer-joined").getString("peer"));

    String offer = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\" , \"n\":1.50}";
    bob.send("{\"type\":\"offer\",\"room\":\"" + room + "\",\"to\":\"" + alice.peerId() + "\",\"data\":" + offer + "}");
    String received = alice.nextFrame(TestClient.WAIT).text();
    assertEquals("{\"type\":\"offer\",\"room\":\"" + room + "\",\"from\":\"" + bob.peerId() + "\",\"data\":" + offer + "}", received);

    alice.send("{\"type\":\"answer\",\"room\":\"" + room + "\",\"to\":\"" + bob.peerId() + "\",\"data\":{\"sdp\":\"a\"}}");
    assertEquals(alice.peerId(), bob.next("answer").getString("from"));
    for (int i = 0; i < 3; i++) {
      alice.send("{\"type\":\"candidate\",\"room\":\"" + room + "\",\"to\":\"" + bob.peerId() + "\",\"data\":{\"i\":" + i + "}}");
    }
    for (int i = 0; i < 3; i++) {
      assertEquals(i, bob.next("candidate").getJsonObject("data").getInteger("i"));
    }
    alice.expectNothing();

    Metrics bobsNode = nodes.get(1).scrape();
    Metrics alicesNode = nodes.get(0).scrape();
    assertTrue(bobsNode.value("switchboard_backplane_published_total") >= 1, "offer published once");
    assertTrue(alicesNode.value("switchboard_backplane_received_total") >= 1, "offer received from the other node");
    assertTrue(alicesNode.value("switchboard_crossnode_latency_seconds_count") >= 1, "cross-node latency recorded");
    assertEquals(1.0, alicesNode.value("switchboard_backplane_subscriptions"), "subscribed to the one room");

    bob.send("{\"type\":\"leave\",\"room\":\"" + room + "\"}");
    bob.next("left");
    JsonObject left = alice.next("peer-left");
    assertEquals(bob.peerId(), left.getString("peer"));
    assertEquals("leave", left.getString("reason"));
  }

  @Test
  void everyBroadcastInAFivePeerRoomArrivesExactlyOnceAtEveryOtherPeer() {
    String room = room();
    List<TestClient> peers = new ArrayList<>();
    for (int i = 0; i < CAPACITY; i++) {
      TestClient peer = nodes.get(i).connect();
      peer.join(room, null);
      peers.add(peer);
    }
    // Drain the peer-joined announcements: peer i sees the CAPACITY - 1 - i who came after it.
    for (int i = 0; i < CAPACITY; i++) {
      for (int j = i + 1; j < CAPACITY; j++) {
        assertEquals(peers.get(j).peerId(), peers.get(i).next("peer-joined").getString("peer"));
      }
    }
    for (int i = 0; i < CAPACITY; i++) {
      peers.get(i).send("{\"type\":\"signal\",\"room\":\"" + room + "\",\"data\":{\"from\":" + i + "}}");
    }
    for (int i = 0; i < CAPACITY; i++) {
      Set<Integer> senders = new HashSet<>();
      for (int k = 0; k < CAPACITY - 1; k++) {
        JsonObject m = peers.get(i).next("signal");
        int sender = m.getJsonObject("data").getInteger("from");
        assertEquals(peers.get(sender).peerId(), m.getString("from"));
        assertTrue(senders.add(sender), "delivered twice: " + m);
      }
      assertTrue(!senders.contains(i), "echoed to its sender");
      peers.get(i).expectNothing();
    }
  }

  @Test
  void oneSendersOrderIsKeptAcrossNodes() {
    String room = room();
    TestClient sender = nodes.get(2).connect();
    TestClient receiver = nodes.get(3).connect();
    sender.join(room, null);
    receiver.join(room, null);
    sender.next("peer-joined");
    for (int i = 0; i < 300; i++) {
      sender.sendNoWait("{\"type\":\"candidate\",\"room\":\"" + room + "\",\"to\":\"" + receiver.peerId()
          + "\",\"data\":" + i + "}");
    }
    for (int i = 0; i < 300; i++) {
      assertEquals(Integer.toString(i), receiver.next("candidate").getValue("data").toString());
    }
  }

  @Test
  void racingJoinsFromEveryNodeNeverOverfillTheRoom() throws Exception {
    String room = room();
    List<TestClient> seated = new ArrayList<>();
    for (int i = 0; i < CAPACITY - 1; i++) {
      TestClient peer = nodes.get(i).connect();
      peer.join(room, null);
      seated.add(peer);
    }
    List<TestClient> racers = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      racers.add(nodes.get(i % NODES).connect());
    }
    ExecutorService pool = Executors.newFixedThreadPool(racers.size());
    try {
      List<CompletableFuture<JsonObject>> replies = new ArrayList<>();
      for (TestClient racer : racers) {
        replies.add(CompletableFuture.supplyAsync(() -> {
          racer.send("{\"type\":\"join\",\"room\":\"" + room + "\"}");
          return racer.next();
        }, pool));
      }
      Map<String, Integer> outcomes = new HashMap<>();
      for (CompletableFuture<JsonObject> reply : replies) {
        JsonObject m = reply.get(10, TimeUnit.SECONDS);
        String outcome = "joined".equals(m.getString("type")) ? "joined" : m.getString("code");
        outcomes.merge(outcome, 1, Integer::sum);
      }
      assertEquals(Map.of("joined", 1, "room-full", 9), outcomes);
    } finally {
      pool.shutdownNow();
    }
  }
}
