package io.switchboard.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.BuildInfo;
import io.switchboard.support.AdminClient;
import io.switchboard.support.AdminClient.Answer;
import io.switchboard.support.Metrics;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Topology;
import io.switchboard.support.TopologyCases;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The server API over real HTTP, on one node and across two nodes of one Redis: every call is
 * made on node a's admin port, and its effects are checked on clients of both nodes.
 */
class AdminApiTest {
  static final String KEY = "test-admin-key-0123456789abcdef-0123456789";
  private static final Map<String, String> ENV = Map.of("ADMIN_PORT", "0", "ADMIN_API_KEY", KEY,
      "MAX_MESSAGE_BYTES", "4096");
  private static final AtomicInteger names = new AtomicInteger();

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

  static String room() {
    return "admin-" + names.incrementAndGet();
  }

  static String path(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8);
  }

  static AdminClient admin(ServerFixture node) {
    return new AdminClient(node.server().adminPort(), KEY);
  }

  abstract static class Cases extends TopologyCases {
    Cases(Supplier<Topology> start) {
      super(start);
    }

    private AdminClient api() {
      return admin(nodes.a());
    }

    private static void assertError(Answer answer, int status, String code) {
      assertEquals(status, answer.status(), answer.body());
      assertEquals(code, answer.errorCode(), answer.body());
      assertNotNull(answer.json().getJsonObject("error").getString("message"), answer.body());
      assertTrue(answer.header("Content-Type").startsWith("application/json"), answer.header("Content-Type"));
    }

    // ---- rooms ----

    @Test
    void roomsListsEveryRoomOfEveryNodeWithItsMemberCountAcrossPages() {
      Map<String, Integer> expected = new HashMap<>();
      for (int i = 0; i < 7; i++) {
        String room = room();
        for (int m = 0; m <= i % 3; m++) {
          (m % 2 == 0 ? nodes.a() : nodes.b()).connect().join(room);
        }
        expected.put(room, i % 3 + 1);
      }
      String relayName = room();
      nodes.b().open("/relay/" + relayName, "relay");
      expected.put("#relay:" + relayName, 1);

      Map<String, Integer> listed = new HashMap<>();
      String cursor = null;
      int pages = 0;
      do {
        Answer page = api().get("/api/v1/rooms?limit=3" + (cursor == null ? "" : "&cursor=" + path(cursor)));
        assertEquals(200, page.status(), page.body());
        JsonArray rooms = page.json().getJsonArray("rooms");
        assertTrue(rooms.size() <= 3, page.body());
        for (Object o : rooms) {
          JsonObject room = (JsonObject) o;
          listed.put(room.getString("room"), room.getInteger("members"));
          if (room.getString("room").startsWith("#relay:")) {
            assertEquals("relay", room.getString("dialect"));
            assertEquals(relayName, room.getString("name"));
          } else {
            assertEquals("native", room.getString("dialect"));
            assertEquals(room.getString("room"), room.getString("name"));
          }
        }
        assertTrue(page.json().containsKey("next_cursor"), page.body());
        cursor = page.json().getString("next_cursor");
        assertTrue(++pages <= 20, "the walk ends");
      } while (cursor != null);
      assertEquals(expected, listed);
      assertTrue(pages >= 3, "8 rooms in pages of 3: " + pages);

      Answer all = api().get("/api/v1/rooms");
      assertEquals(8, all.json().getJsonArray("rooms").size(), all.body());
      assertNull(all.json().getString("next_cursor"));
    }

    @Test
    void roomsRefusesABadLimitOrCursor() {
      for (String query : List.of("limit=0", "limit=1001", "limit=x", "cursor=", "cursor=%25%25%25")) {
        assertError(api().get("/api/v1/rooms?" + query), 400, "bad-request");
      }
    }

    @Test
    void roomShowsItsMembersWithMetaAndNode() {
      String room = room();
      TestClient alice = nodes.a().connect();
      alice.join(room, new JsonObject().put("name", "alice"));
      TestClient bob = nodes.b().connect();
      bob.join(room);
      Answer answer = api().get("/api/v1/rooms/" + room);
      assertEquals(200, answer.status(), answer.body());
      JsonObject body = answer.json();
      assertEquals(room, body.getString("room"));
      assertEquals("native", body.getString("dialect"));
      JsonArray members = body.getJsonArray("members");
      assertEquals(2, members.size());
      assertEquals(alice.peerId(), members.getJsonObject(0).getString("peer"));
      assertEquals(new JsonObject().put("name", "alice"), members.getJsonObject(0).getJsonObject("meta"));
      assertEquals(bob.peerId(), members.getJsonObject(1).getString("peer"));
      assertEquals(new JsonObject(), members.getJsonObject(1).getJsonObject("meta"));
      assertEquals(nodeId(nodes.a()), members.getJsonObject(0).getString("node"));
      assertEquals(nodeId(nodes.b()), members.getJsonObject(1).getString("node"));
    }

    @Test
    void aRelayRoomIsReachedByItsScopedId() {
      String name = room();
      TestClient relay = nodes.b().open("/relay/" + name, "relay");
      Answer answer = api().get("/api/v1/rooms/" + path("#relay:" + name));
      assertEquals(200, answer.status(), answer.body());
      assertEquals(1, answer.json().getJsonArray("members").size());
      Answer sent = api().post("/api/v1/rooms/" + path("#relay:" + name) + "/messages", "{\"data\":{\"n\":1}}");
      assertEquals(200, sent.status(), sent.body());
      assertEquals(new JsonObject().put("n", 1), relay.nextFrame(TestClient.WAIT).json());
    }

    @Test
    void aDirectUserIsReachedByItsNameRoomAndGetsAServerFrame() {
      String name = room();
      TestClient user = nodes.b().open("/direct", "direct");
      user.send("{\"type\":\"login\",\"name\":\"" + name + "\"}");
      assertEquals(true, user.next("login").getBoolean("success"));
      Answer room = api().get("/api/v1/rooms/" + path("#direct:" + name));
      assertEquals("direct", room.json().getString("dialect"), room.body());
      assertEquals(name, room.json().getString("name"));
      Answer sent = api().post("/api/v1/rooms/" + path("#direct:" + name) + "/messages", "{\"data\":[\"hi\"]}");
      assertEquals(200, sent.status(), sent.body());
      assertEquals(new JsonObject().put("type", "server").put("data", new JsonArray().add("hi")), user.next("server"));
    }

    @Test
    void anUnknownOrEmptyRoomIsNotFound() {
      assertError(api().get("/api/v1/rooms/" + room()), 404, "room-not-found");
      assertError(api().get("/api/v1/rooms/" + path("no room/")), 404, "room-not-found");
      String room = room();
      nodes.b().connect().join(room);
      nodes.closeClients();
      assertError(api().get("/api/v1/rooms/" + room), 404, "room-not-found");
    }

    // ---- disconnect ----

    @Test
    void disconnectClosesAPeerOnTheOtherNodeWithItsCodeAndReasonAndItsRoomHearsPeerLeft() {
      String room = room();
      TestClient watcher = nodes.a().connect();
      watcher.join(room);
      TestClient victim = nodes.b().connect();
      victim.join(room);
      watcher.next("peer-joined");
      Answer answer = api().post("/api/v1/peers/" + victim.peerId() + "/disconnect",
          "{\"code\":4321,\"reason\":\"abuse: ticket 77 \u00e9\"}");
      assertEquals(200, answer.status(), answer.body());
      assertEquals(new JsonObject().put("peer", victim.peerId()).put("code", 4321).put("reason", "abuse: ticket 77 \u00e9"),
          answer.json());
      assertEquals(4321, victim.awaitClose(TestClient.WAIT));
      assertEquals("abuse: ticket 77 \u00e9", victim.closeReason());
      JsonObject left = watcher.next("peer-left");
      assertEquals(victim.peerId(), left.getString("peer"));
      assertEquals("disconnect", left.getString("reason"));
    }

    @Test
    void disconnectWithoutABodyUsesCode4003() {
      TestClient victim = nodes.b().connect();
      Answer answer = api().send("POST", "/api/v1/peers/" + victim.peerId() + "/disconnect", null, KEY);
      assertEquals(200, answer.status(), answer.body());
      assertEquals(4003, victim.awaitClose(TestClient.WAIT));
      assertEquals("disconnected by server", victim.closeReason());
      TestClient local = nodes.a().connect();
      assertEquals(200, api().post("/api/v1/peers/" + local.peerId() + "/disconnect", "{}").status());
      assertEquals(4003, local.awaitClose(TestClient.WAIT));
    }

    @Test
    void disconnectOfAnUnknownPeerIsNotFound() {
      TestClient bystander = nodes.b().connect();
      assertError(api().post("/api/v1/peers/AAAAAAAAAAAAAAAAAAAAAA/disconnect", "{}"), 404, "peer-not-found");
      assertError(api().post("/api/v1/peers/not-a-peer/disconnect", "{}"), 404, "peer-not-found");
      bystander.assertAlive("still");
    }

    @Test
    void disconnectRefusesABadBody() {
      TestClient peer = nodes.b().connect();
      String path = "/api/v1/peers/" + peer.peerId() + "/disconnect";
      for (String body : List.of("{\"code\":1000}", "{\"code\":5000}", "{\"code\":\"4003\"}", "{\"code\":4003.5}",
          "{\"reason\":7}", "{\"reason\":\"" + "\u00e9".repeat(62) + "\"}", "{\"cod\":4003}", "[]", "{\"code\":",
          "\"x\"")) {
        assertError(api().post(path, body), 400, "bad-request");
      }
      peer.assertAlive("after refusals");
      assertEquals(200, api().post(path, "{\"reason\":\"" + "a".repeat(123) + "\"}").status());
      assertEquals(4003, peer.awaitClose(TestClient.WAIT));
    }

    // ---- messages ----

    @Test
    void aRoomMessageReachesEveryMemberOnBothNodes() {
      String room = room();
      TestClient onA = nodes.a().connect();
      onA.join(room);
      TestClient onB = nodes.b().connect();
      onB.join(room);
      onA.next("peer-joined");
      Answer answer = api().post("/api/v1/rooms/" + room + "/messages", "{\"data\":{\"notice\":\"closing in 5 min\",\"n\":[1,2]}}");
      assertEquals(200, answer.status(), answer.body());
      assertEquals(2, answer.json().getInteger("recipients"));
      for (TestClient member : List.of(onA, onB)) {
        JsonObject got = member.next("server-message");
        assertEquals(room, got.getString("room"));
        assertEquals(new JsonObject().put("notice", "closing in 5 min").put("n", new JsonArray().add(1).add(2)),
            got.getJsonObject("data"));
        assertEquals(Set.of("type", "room", "data"), got.fieldNames());
      }
      assertEquals(200, api().post("/api/v1/rooms/" + room + "/messages", "{\"data\":null}").status());
      assertNull(onB.next("server-message").getValue("data"));
      onA.next("server-message");
    }

    @Test
    void aMessageToOnePeerReachesOnlyThatPeer() {
      String room = room();
      TestClient target = nodes.b().connect();
      target.join(room);
      TestClient otherOnB = nodes.b().connect();
      otherOnB.join(room);
      TestClient otherOnA = nodes.a().connect();
      otherOnA.join(room);
      target.next("peer-joined");
      target.next("peer-joined");
      otherOnB.next("peer-joined");
      Answer answer = api().post("/api/v1/rooms/" + room + "/messages",
          new JsonObject().put("data", "just you").put("to", target.peerId()).encode());
      assertEquals(200, answer.status(), answer.body());
      assertEquals(1, answer.json().getInteger("recipients"));
      assertEquals("just you", target.next("server-message").getString("data"));
      otherOnA.expectNothing();
      otherOnB.expectNothing();
    }

    @Test
    void aMessageToAnUnknownRoomOrToAPeerNotInTheRoomIsNotFound() {
      assertError(api().post("/api/v1/rooms/" + room() + "/messages", "{\"data\":1}"), 404, "room-not-found");
      String room = room();
      TestClient member = nodes.b().connect();
      member.join(room);
      TestClient outsider = nodes.a().connect();
      assertError(api().post("/api/v1/rooms/" + room + "/messages",
          new JsonObject().put("data", 1).put("to", outsider.peerId()).encode()), 404, "peer-not-found");
      member.expectNothing();
      outsider.expectNothing();
    }

    @Test
    void aMessageWithABadBodyIsRefusedAndAnOversizeOneIs413() {
      String room = room();
      TestClient member = nodes.b().connect();
      member.join(room);
      String path = "/api/v1/rooms/" + room + "/messages";
      for (String body : List.of("{\"data\":", "not json", "[1]", "{}", "{\"data\":1,\"to\":7}",
          "{\"data\":1,\"to\":\"nobody\"}", "{\"data\":1,\"extra\":true}")) {
        assertError(api().post(path, body), 400, "bad-request");
      }
      assertError(api().send("POST", path, null, KEY), 400, "bad-request");
      assertError(api().post(path, "{\"data\":\"" + "x".repeat(5000) + "\"}"), 413, "payload-too-large");
      member.expectNothing();
    }

    // ---- node, authentication, routing ----

    @Test
    void nodeTellsItsIdVersionConnectionsAndRooms() {
      String room = room();
      nodes.a().connect().join(room);
      nodes.a().connect();
      Answer answer = api().get("/api/v1/node");
      assertEquals(200, answer.status(), answer.body());
      assertEquals(BuildInfo.current().version(), answer.json().getString("version"));
      assertEquals(2, answer.json().getInteger("connections"));
      assertEquals(1, answer.json().getInteger("rooms"));
      assertNotNull(answer.json().getString("node"));
    }

    @Test
    void aMissingOrWrongKeyIs401WithABearerChallenge() {
      for (String key : new String[] {null, "wrong", KEY + "x", KEY.substring(1), ""}) {
        for (String[] call : new String[][] {{"GET", "/api/v1/rooms"}, {"GET", "/api/v1/node"},
            {"POST", "/api/v1/peers/AAAAAAAAAAAAAAAAAAAAAA/disconnect"}, {"GET", "/api/v1/nothing-here"}}) {
          Answer answer = api().send(call[0], call[1], call[0].equals("POST") ? "{}" : null, key);
          assertError(answer, 401, "unauthorized");
          assertTrue(answer.header("WWW-Authenticate").startsWith("Bearer"), answer.headers().toString());
        }
      }
    }

    @Test
    void unknownPathsAre404AndWrongMethods405() {
      assertError(api().get("/api/v1/nothing-here"), 404, "not-found");
      assertError(api().get("/elsewhere"), 404, "not-found");
      assertError(api().send("DELETE", "/api/v1/rooms", null, KEY), 405, "method-not-allowed");
      assertError(api().get("/api/v1/peers/AAAAAAAAAAAAAAAAAAAAAA/disconnect"), 405, "method-not-allowed");
      assertError(api().send("PUT", "/api/v1/node", "{}", KEY), 405, "method-not-allowed");
    }

    @Test
    void theOpenApiDocumentNamesExactlyTheRoutesServed() {
      Answer answer = api().get("/api/v1/openapi.json");
      assertEquals(200, answer.status(), answer.body());
      JsonObject paths = answer.json().getJsonObject("paths");
      assertEquals(new TreeSet<>(AdminApi.ROUTES), new TreeSet<>(paths.fieldNames()));
      for (String template : paths.fieldNames()) {
        Set<String> documented = paths.getJsonObject(template).fieldNames();
        String path = template.replace("{room}", room()).replace("{peer}", "AAAAAAAAAAAAAAAAAAAAAA");
        for (String method : List.of("get", "post", "put", "delete", "patch")) {
          Answer call = api().send(method.toUpperCase(), path, method.equals("get") ? null : "{\"data\":1}", KEY);
          if (documented.contains(method)) {
            assertNotEquals("not-found", call.errorCode(), method + " " + path + ": " + call.body());
            assertNotEquals(405, call.status(), method + " " + path + ": " + call.body());
            assertTrue(paths.getJsonObject(template).getJsonObject(method).getJsonObject("responses")
                .containsKey(Integer.toString(call.status())), method + " " + path + " answered an undocumented " + call.status());
          } else {
            assertEquals(405, call.status(), method + " " + path + " is not documented: " + call.body());
          }
        }
      }
    }

    @Test
    void metricsMovedToTheAdminPortAndCountRequestsByRouteAndStatus() {
      assertEquals(404, nodes.a().get("/metrics").status(), "not on the client port once ADMIN_PORT is set");
      Metrics before = adminMetrics();
      Map<String, String> refused = Map.of("route", AdminApi.ROOM, "status", "401");
      assertTrue(before.has("switchboard_admin_requests_total", refused), "registered before any request");
      api().get("/api/v1/node");
      api().send("GET", "/api/v1/rooms/" + room(), null, "wrong");
      api().get("/api/v1/nothing-here");
      Metrics after = adminMetrics();
      for (Map<String, String> series : List.of(Map.of("route", AdminApi.NODE, "status", "200"), refused,
          Map.of("route", "unmatched", "status", "404"))) {
        assertEquals(1.0, after.value("switchboard_admin_requests_total", series)
            - (before.has("switchboard_admin_requests_total", series) ? before.value("switchboard_admin_requests_total", series) : 0),
            series.toString());
      }
    }

    private Metrics adminMetrics() {
      Answer metrics = api().send("GET", "/metrics", null, null);
      assertEquals(200, metrics.status());
      return Metrics.parse(metrics.body());
    }

    private String nodeId(ServerFixture node) {
      return admin(node).get("/api/v1/node").json().getString("node");
    }
  }

  // ---- without a key, without an admin port ----

  @Test
  void withoutAKeyTheApiRefusesEveryRequestButServesMetrics() {
    try (ServerFixture node = ServerFixture.start(Map.of("ADMIN_PORT", "0"))) {
      AdminClient api = new AdminClient(node.server().adminPort(), KEY);
      for (String[] call : new String[][] {{"GET", "/api/v1/rooms"}, {"GET", "/api/v1/node"},
          {"GET", "/api/v1/openapi.json"}, {"POST", "/api/v1/rooms/x/messages"}}) {
        Answer answer = api.send(call[0], call[1], call[0].equals("POST") ? "{\"data\":1}" : null, KEY);
        assertEquals(403, answer.status(), answer.body());
        assertEquals("api-key-not-configured", answer.errorCode());
      }
      assertEquals(200, api.send("GET", "/metrics", null, null).status());
      assertEquals(404, node.get("/metrics").status());
    }
  }

  @Test
  void withoutAnAdminPortMetricsStayOnTheClientPort() {
    try (ServerFixture node = ServerFixture.start(Map.of())) {
      assertEquals(-1, node.server().adminPort());
      assertEquals(200, node.get("/metrics").status());
      assertEquals(404, node.get("/api/v1/node").status());
    }
  }
}
