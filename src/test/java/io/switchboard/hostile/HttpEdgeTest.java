package io.switchboard.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import io.switchboard.support.LogCapture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.WireSocket;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12, items 5, 6 and 8: malformed HTTP gets a 4xx and logs nothing at ERROR, the
 * active-requests gauge comes back down after requests Netty could not parse, every probe answers
 * HEAD, and HTTP/2 is not spoken on the port.
 */
class HttpEdgeTest {
  private static final String ACTIVE_REQUESTS = "vertx_http_server_active_requests";
  private static ServerFixture fixture;
  private static LogCapture log;
  private final Random random = new Random(5);

  @BeforeAll
  static void start() {
    fixture = ServerFixture.start();
    log = LogCapture.attach(Level.ERROR);
  }

  @AfterAll
  static void stop() {
    log.close();
    fixture.close();
  }

  @AfterEach
  void nothingLoggedAtError() {
    fixture.closeClients();
    List<String> lines = log.lines();
    log.clear();
    assertEquals(List.of(), lines, "ERROR log lines");
  }

  private String exchange(String request) {
    try (WireSocket socket = WireSocket.connect(fixture.port(), request, random)) {
      return socket.responseHead();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"/socket.io/?EIO=4&transport=polling&sid=%ZZ", "/?a=%", "/?a=%Z", "/%ZZ", "/health/live?x=%",
      "/socket.io/?EIO=%"})
  void answersUndecodableTargetsWith400(String target) {
    String head = exchange("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assertTrue(head.startsWith("HTTP/1.1 400"), target + ": " + head);
  }

  @Test
  void answersARequestWithoutOneHostWith400() {
    assertTrue(exchange("GET /health/live HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 400"));
    assertTrue(exchange("GET /health/live HTTP/1.0\r\n\r\n").startsWith("HTTP/1.0 400"));
    assertTrue(exchange("GET /health/live HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").startsWith("HTTP/1.1 400"));
    assertTrue(exchange("GET /health/live HTTP/1.1\r\nHost: a:b:c\r\n\r\n").startsWith("HTTP/1.1 400"));
  }

  @Test
  void answersAsteriskFormAndAbsentTargetsWith400() {
    assertTrue(exchange("GET * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").startsWith("HTTP/1.1 400"));
    assertTrue(exchange("OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").startsWith("HTTP/1.1 400"));
  }

  @Test
  void activeRequestsGaugeReturnsToZeroAfterUnparseableRequests() {
    String[] malformed = {
        "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",            // 414
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "b".repeat(10_000) + "\r\n\r\n",  // 431
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad\u0001: c\r\n\r\n",                    // control character
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n",
        "G\u0000T / HTTP/1.1\r\n\r\n"};
    int[] expected = {414, 431, 400, 400, 400};
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < malformed.length; i++) {
        String head = exchange(malformed[i]);
        // Netty could not read the version either, so Vert.x answers as HTTP/1.0.
        assertTrue(head.matches("(?s)HTTP/1\\.[01] " + expected[i] + " .*"), "request " + i + ": " + head);
      }
    }
    fixture.awaitCondition(() -> fixture.scrape().value(ACTIVE_REQUESTS) == 0, TestClient.WAIT,
        ACTIVE_REQUESTS + " back to 0 (is " + fixture.scrape().value(ACTIVE_REQUESTS) + ")");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/health/live", "/health/ready", "/metrics"})
  void answersHeadLikeGetWithoutABody(String path) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(TestClient.WAIT).build();
    HttpResponse<String> head = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fixture.port() + path))
        .timeout(TestClient.WAIT).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, head.statusCode(), path);
    assertEquals("", head.body());
  }

  @Test
  void refusesHttp2PriorKnowledgeAndIgnoresH2cUpgrades() {
    WireSocket prior = fixture.track(WireSocket.connect(fixture.port(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", random));
    // Vert.x answers an HTTP version it does not speak with a text 501: no HTTP/2 SETTINGS frame.
    assertTrue(prior.responseHead().matches("(?s)HTTP/\\S+ 501 .*"), "a text refusal, no HTTP/2 frames: " + prior.responseHead());
    assertTrue(prior.tcpClosedWithin(TestClient.WAIT), "the connection is closed");

    String h2c = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
    String head = exchange(h2c);
    assertTrue(head.startsWith("HTTP/1.1 200"), "served as HTTP/1.1, not switched: " + head);
    assertFalse(head.toLowerCase().contains("upgrade: h2c"), head);
  }

  @Test
  void aRefusedUpgradeLogsNothingAndTheNodeStaysUsable() {
    String head = exchange("GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    assertTrue(head.startsWith("HTTP/1.1 404"), head);
    assertEquals(200, fixture.get("/health/ready").status());
  }
}
