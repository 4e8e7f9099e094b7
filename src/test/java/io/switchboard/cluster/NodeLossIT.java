package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.RedisFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three nodes as separate OS processes running the real jar on one Redis. One is SIGKILLed (no
 * goodbye); peers on the survivors must get {@code peer-left} with reason {@code node-lost}
 * within the documented bound (10 s with default settings).
 */
class NodeLossIT {
  private static final Duration DOCUMENTED_BOUND = Duration.ofSeconds(10);

  private final List<Process> processes = new ArrayList<>();
  private final List<TestClient> clients = new ArrayList<>();
  private Vertx vertx;

  @AfterEach
  void stopEverything() throws Exception {
    clients.forEach(TestClient::close);
    for (Process p : processes) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    if (vertx != null) {
      Wait.await(vertx.close(), Duration.ofSeconds(10));
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Starts the jar with default liveness settings and waits, bounded, for /health/ready. */
  private int startNode(String nodeId, String prefix, Path logs) throws Exception {
    int port = freePort();
    String jar = System.getProperty("switchboard.jar", "target/switchboard.jar");
    assertTrue(new File(jar).isFile(), "run after 'mvn package': missing " + jar);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder = new ProcessBuilder(java, "-Xmx128m", "-jar", jar)
        .redirectErrorStream(true)
        .redirectOutput(logs.resolve(nodeId + ".log").toFile());
    builder.environment().putAll(Map.of("PORT", Integer.toString(port), "HOST", "127.0.0.1",
        "NODE_ID", nodeId, "REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix,
        "EVENT_LOOPS", "1", "LOG_FORMAT", "text"));
    Process process = builder.start();
    processes.add(process);
    HttpClient http = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline && process.isAlive()) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
            .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return port;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new AssertionError(nodeId + " did not become ready; see " + logs.resolve(nodeId + ".log"));
  }

  @Test
  void peersOnSurvivingNodesHearNodeLostWithinTheBound() throws Exception {
    Path logs = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "switchboard-it-" + ProcessHandle.current().pid()));
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

    long killedAt = System.nanoTime();
    processes.get(2).destroyForcibly(); // SIGKILL: no goodbye, no cleanup
    assertTrue(processes.get(2).waitFor(10, TimeUnit.SECONDS));

    for (int i = 0; i < 2; i++) {
      JsonObject left = peers.get(i).nextOfType("peer-left", DOCUMENTED_BOUND.plusSeconds(2));
      long tookMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertEquals(peers.get(2).peerId(), left.getString("peer"));
      assertEquals("node-lost", left.getString("reason"));
      assertTrue(tookMillis <= DOCUMENTED_BOUND.toMillis(), "peer-left took " + tookMillis + " ms");
      System.out.println("peer" + i + " heard node-lost " + tookMillis + " ms after SIGKILL");
    }
    // The survivors still relay to each other across nodes.
    peers.get(0).send("{\"type\":\"signal\",\"room\":\"" + room + "\",\"to\":\"" + peers.get(1).peerId() + "\",\"data\":1}");
    assertEquals(1, peers.get(1).next("signal").getInteger("data"));
  }
}
