package io.switchboard.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.WireSocket;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, item 8: the threads a fuzzing campaign saw appear (24 to 45) are Vert.x's
 * internal-blocking pool, which the static files of Webroot use to look paths up. The pool makes a
 * thread per task until it holds 20, then reuses them: a burst grows it once, to at most 20, and
 * nothing else grows, however long the abuse goes on (docs/security.md).
 */
class ThreadGrowthTest {
  private static final String INTERNAL_BLOCKING = "vert.x-internal-blocking-N";
  private static final int INTERNAL_BLOCKING_POOL = 20;

  private static Map<String, Integer> threadsByKind() {
    Map<String, Integer> byKind = new TreeMap<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive()) {
        byKind.merge(t.getName().replaceAll("\\d+", "N"), 1, Integer::sum);
      }
    }
    return byKind;
  }

  private static void burst(ServerFixture fixture, Random random) {
    for (int i = 0; i < 150; i++) {
      String[] targets = {"/", "/switchboard.js", "/no-such-file-" + random.nextInt(), "/ice-servers", "/health/ready"};
      for (String target : targets) {
        try (WireSocket http = WireSocket.connect(fixture.port(),
            "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", random)) {
          assertTrue(http.status() > 0, target);
        }
      }
      try (WireSocket ws = WireSocket.open(fixture.port(), "/ws", random)) {
        ws.nextText(TestClient.WAIT);
      }
    }
  }

  @Test
  void aBurstGrowsOnlyTheBoundedInternalBlockingPoolAndASecondBurstGrowsNothing() {
    try (ServerFixture fixture = ServerFixture.start()) {
      Random random = new Random(8);
      burst(fixture, random);
      Map<String, Integer> afterFirst = threadsByKind();
      burst(fixture, random);
      Map<String, Integer> afterSecond = threadsByKind();
      assertTrue(afterFirst.getOrDefault(INTERNAL_BLOCKING, 0) <= INTERNAL_BLOCKING_POOL, afterFirst.toString());
      for (String kind : Set.of(INTERNAL_BLOCKING, "vert.x-eventloop-thread-N", "vert.x-worker-thread-N",
          "vert.x-acceptor-thread-N")) {
        assertEquals(afterFirst.getOrDefault(kind, 0), afterSecond.getOrDefault(kind, 0),
            kind + " grew in a second identical burst: " + afterFirst + " then " + afterSecond);
      }
    }
  }
}
