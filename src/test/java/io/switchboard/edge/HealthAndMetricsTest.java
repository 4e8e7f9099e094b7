package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.Metrics;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.ServerFixture.HttpResult;
import io.switchboard.support.TestClient;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The HTTP side of a node: probes, the Prometheus scrape, and what other paths answer. */
class HealthAndMetricsTest {
  private static ServerFixture fixture;

  private TestClient a;
  private TestClient b;
  private TestClient c;

  @BeforeAll
  static void startServer() {
    fixture = ServerFixture.start(Map.of("ALLOWED_ORIGINS", "https://app.example"));
  }

  @AfterAll
  static void stopServer() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @AfterEach
  void closeClients() {
    fixture.closeClients();
  }

  @Test
  void answersLivenessWithJson() {
    HttpResult live = fixture.get("/health/live");
    assertEquals(200, live.status(), live.body());
    new JsonObject(live.body());
    assertTrue(live.header("content-type").startsWith("application/json"), live.headers().toString());
  }

  @Test
  void answersReadinessWithJsonWhileReady() {
    assertTrue(fixture.server().ready());
    HttpResult ready = fixture.get("/health/ready");
    assertEquals(200, ready.status(), ready.body());
    new JsonObject(ready.body());
    assertTrue(ready.header("content-type").startsWith("application/json"), ready.headers().toString());
  }

  @Test
  void answers404ForOtherHttpPaths() {
    assertEquals(404, fixture.get("/nope").status());
  }

  @Test
  void refusesWebSocketUpgradeOnOtherPathsWith404() {
    for (String path : List.of("/", "/nope", "/ws/v2", "/wsx")) {
      UpgradeRejectedException e = assertThrows(UpgradeRejectedException.class,
          () -> TestClient.open(fixture.webSocketClient(), TestClient.options(fixture.port(), path, null), path));
      assertEquals(404, e.getStatus(), path);
    }
    assertEquals(0, fixture.server().openConnections());
  }

  @Test
  void exposesSignalingJvmAndVertxMetrics() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("m");
    b.join("m");
    a.next("peer-joined");
    a.send("{\"type\":\"offer\",\"room\":\"m\",\"to\":\"" + b.peerId() + "\",\"data\":{}}");
    b.next("offer");
    a.send("{nope");
    a.next("error");
    assertTrue(fixture.connectRejected("https://evil.example") == 403);
    b.send("{\"type\":\"leave\",\"room\":\"m\"}");
    b.next("left");
    a.next("peer-left");

    HttpResult scrape = fixture.get("/metrics");
    assertEquals(200, scrape.status());
    assertTrue(scrape.header("content-type").startsWith("text/plain"), scrape.headers().toString());
    Metrics m = Metrics.parse(scrape.body());
    for (String name : List.of("switchboard_connections_open", "switchboard_rooms", "switchboard_joins_total",
        "switchboard_leaves_total", "switchboard_messages_relayed_total", "switchboard_errors_total",
        "switchboard_bytes_in_total", "switchboard_bytes_out_total", "switchboard_connections_rejected_total")) {
      assertTrue(m.has(name), name + " missing from /metrics; have " + m.names());
    }
    assertTrue(m.has("switchboard_messages_relayed_total", Map.of("type", "offer")), "relayed by type");
    assertTrue(m.has("switchboard_errors_total", Map.of("code", "bad-json")), "errors by code");
    assertTrue(m.has("switchboard_connections_rejected_total", Map.of("reason", "origin")), "rejections by reason");
    assertTrue(m.names().stream().anyMatch(n -> n.startsWith("jvm_memory_used_bytes")), "JVM metrics: " + m.names());
    assertTrue(m.names().stream().anyMatch(n -> n.startsWith("vertx_")), "Vert.x metrics: " + m.names());
    assertEquals(2, m.value("switchboard_connections_open"));
    assertEquals(1, m.value("switchboard_rooms"));
  }

  @Test
  void countsJoinsRelaysErrorsAndBytesExactly() {
    a = fixture.connect();
    b = fixture.connect();
    Metrics before = fixture.metrics();

    a.join("count");
    b.join("count");
    a.next("peer-joined");
    Metrics joined = fixture.metrics();
    assertEquals(before.value("switchboard_joins_total") + 2, joined.value("switchboard_joins_total"));
    assertEquals(before.value("switchboard_rooms") + 1, joined.value("switchboard_rooms"));

    a.send("{\"type\":\"offer\",\"room\":\"count\",\"to\":\"" + b.peerId() + "\",\"data\":{\"sdp\":\"x\"}}");
    b.next("offer");
    Metrics relayed = fixture.metrics();
    Map<String, String> offer = Map.of("type", "offer");
    assertEquals(joined.value("switchboard_messages_relayed_total", offer) + 1,
        relayed.value("switchboard_messages_relayed_total", offer), "exactly one offer relayed");
    assertEquals(joined.value("switchboard_messages_relayed_total", Map.of("type", "answer")),
        relayed.value("switchboard_messages_relayed_total", Map.of("type", "answer")));
    assertTrue(relayed.value("switchboard_bytes_in_total") > joined.value("switchboard_bytes_in_total"), "bytes in move");
    assertTrue(relayed.value("switchboard_bytes_out_total") > joined.value("switchboard_bytes_out_total"), "bytes out move");

    a.send("[]");
    a.next("error");
    Metrics errored = fixture.metrics();
    Map<String, String> badJson = Map.of("code", "bad-json");
    assertEquals(relayed.value("switchboard_errors_total", badJson) + 1, errored.value("switchboard_errors_total", badJson));

    a.send("{\"type\":\"leave\",\"room\":\"count\"}");
    a.next("left");
    b.next("peer-left");
    Metrics left = fixture.metrics();
    assertEquals(errored.value("switchboard_leaves_total") + 1, left.value("switchboard_leaves_total"));
  }

  @Test
  void registersEveryDocumentedLabelValueUpFront() {
    Metrics m = fixture.metrics();
    for (String reason : List.of("normal", "frame-too-big", "internal-error", "service-restart", "idle-timeout",
        "slow-consumer", "flooding")) {
      assertTrue(m.has("switchboard_closes_total", Map.of("reason", reason)), "closes_total{reason=" + reason + "}");
    }
    for (String reason : List.of("origin", "capacity", "draining")) {
      assertTrue(m.has("switchboard_connections_rejected_total", Map.of("reason", reason)), "rejected{reason=" + reason + "}");
    }
    for (String type : List.of("offer", "answer", "candidate", "signal")) {
      assertTrue(m.has("switchboard_messages_relayed_total", Map.of("type", type)), "relayed{type=" + type + "}");
    }
    for (String code : List.of("bad-json", "bad-message", "unknown-type", "too-large", "binary-not-supported",
        "rate-limited", "room-full", "too-many-rooms", "not-in-room", "peer-not-found", "internal")) {
      assertTrue(m.has("switchboard_errors_total", Map.of("code", code)), "errors{code=" + code + "}");
    }
  }

  @Test
  void countsABroadcastOnceAndADisconnectAsALeave() {
    a = fixture.connect();
    b = fixture.connect();
    c = fixture.connect();
    a.join("bc");
    b.join("bc");
    c.join("bc");
    a.next("peer-joined");
    a.next("peer-joined");
    b.next("peer-joined");
    Metrics before = fixture.metrics();

    a.send("{\"type\":\"signal\",\"room\":\"bc\",\"data\":1}");
    b.next("signal");
    c.next("signal");
    Metrics after = fixture.metrics();
    Map<String, String> signal = Map.of("type", "signal");
    assertEquals(before.value("switchboard_messages_relayed_total", signal) + 1,
        after.value("switchboard_messages_relayed_total", signal), "a broadcast to 2 peers counts 1");

    c.close();
    a.next("peer-left");
    b.next("peer-left");
    Metrics closed = fixture.metrics();
    assertEquals(after.value("switchboard_leaves_total") + 1, closed.value("switchboard_leaves_total"),
        "a disconnect is a leave");
    assertEquals(after.value("switchboard_closes_total"), closed.value("switchboard_closes_total"),
        "closes_total counts only sockets the server closed");
    assertEquals(2, closed.value("switchboard_connections_open"));
  }
}
