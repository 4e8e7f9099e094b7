package io.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.switchboard.config.SwitchboardConfig;
import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.Metrics;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.MultiMap;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Per-client-address limits over real sockets (every test client comes from 127.0.0.1): the
 * concurrent cap and the rate of new connections, both HTTP 429 at the upgrade and at the
 * Engine.IO handshake; the trusted proxy header; and the bounded, self-cleaning address table.
 */
class ClientLimitsTest {

  private static TestClient open(ServerFixture f, String path, Map<String, String> headers) {
    WebSocketConnectOptions o = TestClient.options(f.port(), path, null);
    headers.forEach(o::addHeader);
    return f.track(TestClient.open(f.webSocketClient(), o, path));
  }

  private static int rejected(ServerFixture f, String path, Map<String, String> headers) {
    try {
      return fail("accepted: " + open(f, path, headers));
    } catch (UpgradeRejectedException e) {
      return e.getStatus();
    }
  }

  @Test
  void refusesMoreConcurrentConnectionsFromOneAddressWith429() {
    try (ServerFixture f = ServerFixture.start(Map.of("MAX_CONNECTIONS_PER_IP", "2"))) {
      TestClient first = open(f, "/ws", Map.of());
      open(f, "/direct", Map.of());
      assertEquals(429, rejected(f, "/ws", Map.of()));
      assertEquals(429, rejected(f, "/socket.io/?EIO=4&transport=websocket", Map.of()));
      EngineIoPollingClient polling = f.track(EngineIoPollingClient.create(f.port(), 4));
      EngineIoPollingClient.Response refused = polling.get("EIO=4&transport=polling");
      assertEquals(429, refused.status(), refused.toString());
      assertEquals("1", refused.header("Retry-After"));

      // A closed connection gives its slot back.
      first.close();
      f.awaitOpenConnections(1);
      open(f, "/ws", Map.of()).welcome();
      Metrics m = f.scrape();
      assertEquals(3.0, m.value("switchboard_connections_rejected_total", Map.of("reason", "per-ip-connections")));
    }
  }

  @Test
  void refusesNewConnectionsFasterThanTheRateWith429() {
    try (ServerFixture f = ServerFixture.start(Map.of("CONNECTIONS_PER_IP_PER_SECOND", "1", "CONNECTIONS_PER_IP_BURST", "3"))) {
      List<TestClient> burst = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        burst.add(open(f, "/ws", Map.of()));
      }
      assertEquals(429, rejected(f, "/ws", Map.of()));
      EngineIoPollingClient polling = f.track(EngineIoPollingClient.create(f.port(), 3));
      assertEquals(429, polling.get("EIO=3&transport=polling").status());
      // Time refills the bucket, one connection per second, whether or not the others closed.
      io.vertx.core.Promise<Void> refilled = io.vertx.core.Promise.promise();
      f.clientVertx().setTimer(1100, id -> refilled.complete());
      io.switchboard.support.Wait.await(refilled.future(), java.time.Duration.ofSeconds(3));
      open(f, "/ws", Map.of()).welcome();
      assertEquals(429, rejected(f, "/ws", Map.of()));
      double refusals = f.scrape().value("switchboard_connections_rejected_total", Map.of("reason", "per-ip-rate"));
      org.junit.jupiter.api.Assertions.assertTrue(refusals >= 3, "refusals counted: " + refusals);
    }
  }

  @Test
  void trustsTheProxyHeaderOnlyWhenConfigured() {
    Map<String, String> viaProxy1 = Map.of("X-Forwarded-For", "198.51.100.7, 203.0.113.1");
    Map<String, String> viaProxy2 = Map.of("X-Forwarded-For", "203.0.113.2");
    // Not configured: X-Forwarded-For is whatever the client wrote, so it is ignored.
    try (ServerFixture f = ServerFixture.start(Map.of("MAX_CONNECTIONS_PER_IP", "1"))) {
      open(f, "/ws", viaProxy1);
      assertEquals(429, rejected(f, "/ws", viaProxy2));
    }
    // Configured: the last address, the one the proxy added, is the client.
    try (ServerFixture f = ServerFixture.start(Map.of("MAX_CONNECTIONS_PER_IP", "1", "CLIENT_IP_HEADER", "X-Forwarded-For"))) {
      open(f, "/ws", viaProxy1);
      open(f, "/ws", viaProxy2);
      assertEquals(429, rejected(f, "/ws", Map.of("X-Forwarded-For", "192.0.2.99, 203.0.113.1")));
      // Without the header, the TCP peer counts.
      open(f, "/ws", Map.of());
      assertEquals(429, rejected(f, "/ws", Map.of()));
    }
  }

  @Test
  void countsIpv6ByItsSlash64AndForgetsIdleAddresses() {
    ClientLimiter limiter = new ClientLimiter(new SwitchboardConfig.ClientLimits(1000, 5, 2, "X-Real-IP"));
    MultiMap a = MultiMap.caseInsensitiveMultiMap().add("X-Real-IP", "2001:db8:1:2::1");
    MultiMap b = MultiMap.caseInsensitiveMultiMap().add("X-Real-IP", "[2001:db8:1:2:ffff::9]:443");
    MultiMap mapped = MultiMap.caseInsensitiveMultiMap().add("X-Real-IP", "::ffff:192.0.2.1");
    SocketAddress tcp = SocketAddress.inetSocketAddress(5000, "127.0.0.1");
    String keyA = limiter.clientKey(a, tcp);
    assertEquals(keyA, limiter.clientKey(b, tcp));
    assertEquals("20010db800010002::/64", keyA);
    assertEquals("192.0.2.1", limiter.clientKey(mapped, tcp));
    assertEquals("127.0.0.1", limiter.clientKey(MultiMap.caseInsensitiveMultiMap().add("X-Real-IP", "not-an-ip"), tcp));

    long now = System.nanoTime();
    limiter.acquire(keyA, true, now);
    limiter.acquire(keyA, true, now);
    Refused refused = assertThrows(Refused.class, () -> limiter.acquire(keyA, true, now));
    assertEquals("per-ip-connections", refused.reason());
    limiter.acquire("192.0.2.1", false, now);
    assertEquals(2, limiter.tracked());

    // An address with a connection open is kept; one whose bucket has refilled is dropped.
    limiter.evictIdle(now + TimeUnit.SECONDS.toNanos(1));
    assertEquals(1, limiter.tracked());
    limiter.release(keyA);
    limiter.release(keyA);
    limiter.evictIdle(now + TimeUnit.SECONDS.toNanos(1));
    assertEquals(0, limiter.tracked());
  }
}
