package io.switchboard.edge.dialect.socketio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.NodeScript;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.Topology;
import io.switchboard.support.TopologyCases;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Unmodified npm clients: peer-data's own SocketChannel (socket.io-client 2, Engine.IO v3) and
 * socket.io-client 4 (Engine.IO v4), run in Node by src/test/node/peerdata-clients.mjs, on one
 * node and on two nodes of one Redis. On two, peers of one room sit on different nodes, so
 * CONNECT, OFFER, ANSWER and CANDIDATE between them cross the backplane.
 */
class PeerDataClientsTest {
  private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(40);
  private static final Map<String, String> ENV = Map.of("HOST", "127.0.0.1");

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class OnOneNode extends Cases {
    OnOneNode() {
      super(() -> Topology.oneNode(ENV));
    }
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class AcrossTwoNodes extends Cases {
    AcrossTwoNodes() {
      super(() -> Topology.twoNodesOnRedis(ENV));
    }
  }

  private record Client(String name, ServerFixture node, String transport, String library) {}

  abstract static class Cases extends TopologyCases {
    Cases(Supplier<Topology> start) {
      super(start);
    }

    @Test
    void threePeerDataClientsReachExactlyTheRightPeers() {
      run(List.of(
          new Client("a", nodes.a(), "default", "peer-data"),
          new Client("b", nodes.b(), "default", "peer-data"),
          new Client("c", nodes.a(), "default", "peer-data")));
    }

    @Test
    void pollingOnlySessions() {
      run(List.of(
          new Client("a", nodes.a(), "polling", "peer-data"),
          new Client("b", nodes.b(), "polling", "peer-data"),
          new Client("c", nodes.b(), "polling", "socketio4")));
    }

    @Test
    void webSocketOnlySessions() {
      run(List.of(
          new Client("a", nodes.a(), "websocket", "peer-data"),
          new Client("b", nodes.b(), "websocket", "socketio4"),
          new Client("c", nodes.a(), "websocket", "peer-data")));
    }

    @Test
    void currentSocketIoClientsUpgradeToo() {
      run(List.of(
          new Client("a", nodes.a(), "default", "socketio4"),
          new Client("b", nodes.b(), "default", "socketio4"),
          new Client("c", nodes.b(), "default", "peer-data")));
    }
  }

  /**
   * Runs the clients in one room and checks that every client got exactly the events meant for
   * it: from each peer that joined after it a CONNECT, an ANSWER and two CANDIDATEs; from each
   * peer that was there before it an OFFER and two CANDIDATEs; all addressed to it, none from
   * itself, and each sender known by one caller id that is nobody's Engine.IO sid.
   */
  private static void run(List<Client> clients) {
    String room = "pd-" + RedisFixture.uniquePrefix();
    JsonArray configs = new JsonArray();
    for (Client c : clients) {
      configs.add(new JsonObject().put("name", c.name()).put("url", "http://127.0.0.1:" + c.node().port())
          .put("transport", c.transport()).put("client", c.library()));
    }
    NodeScript.Result result = NodeScript.run("peerdata-clients.mjs",
        new JsonObject().put("room", room).put("timeoutMs", 20_000).put("clients", configs), SCRIPT_TIMEOUT);
    JsonObject report = result.output();
    assertNotNull(report, result.describe());
    assertEquals(0, result.exitCode(), "missing: " + report.getJsonArray("missing") + "\n" + result.describe());

    Map<String, String> callerIdOf = new HashMap<>();
    Set<String> sids = new HashSet<>();
    JsonArray reported = report.getJsonArray("clients");
    for (int i = 0; i < clients.size(); i++) {
      JsonObject client = reported.getJsonObject(i);
      String me = client.getString("name");
      if (clients.get(i).library().equals("peer-data")) {
        // socket.io-client 2's socket.id is the Engine.IO sid; version 4's is the Socket.IO one.
        sids.add(client.getString("socketId"));
      }
      String expectedTransport = clients.get(i).transport().equals("polling") ? "polling" : "websocket";
      assertEquals(expectedTransport, client.getString("transport"), me + " ended on the wrong transport");
      Map<String, Integer> counts = new HashMap<>();
      for (Object o : client.getJsonArray("events")) {
        JsonObject event = (JsonObject) o;
        String type = event.getString("type");
        JsonObject payload = event.getJsonObject("payload");
        String from = payload.getString("from");
        assertNotEquals(me, from, me + " got its own event back: " + event);
        assertEquals(room, event.getJsonObject("room").getString("id"));
        if (!type.equals("CONNECT")) {
          assertEquals(me, payload.getString("to"), me + " got an event meant for another: " + event);
        }
        String known = callerIdOf.putIfAbsent(from, event.getString("callerId"));
        assertTrue(known == null || known.equals(event.getString("callerId")),
            from + " appears under two caller ids: " + known + " and " + event.getString("callerId"));
        counts.merge(from + " " + type, 1, Integer::sum);
      }
      Map<String, Integer> expected = new HashMap<>();
      for (int j = 0; j < clients.size(); j++) {
        String peer = clients.get(j).name();
        if (j > i) {
          expected.put(peer + " CONNECT", 1);
          expected.put(peer + " ANSWER", 1);
          expected.put(peer + " CANDIDATE", 2);
        } else if (j < i) {
          expected.put(peer + " OFFER", 1);
          expected.put(peer + " CANDIDATE", 2);
        }
      }
      assertEquals(expected, counts, me + " received the wrong events: " + client.getJsonArray("events").encodePrettily());
    }
    for (String callerId : callerIdOf.values()) {
      assertTrue(!sids.contains(callerId), "a caller id must never be an Engine.IO sid, a polling credential");
    }
    assertEquals(clients.size(), new HashSet<>(callerIdOf.values()).size(), "one caller id per client");
  }
}
