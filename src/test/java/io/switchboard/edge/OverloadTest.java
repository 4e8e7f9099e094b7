package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import io.switchboard.support.LogCapture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.Context;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An event loop that falls behind sheds (docs/operations.md, "Overload"): it closes its heaviest
 * sender with 1013, refuses new sockets with 503 while it is behind, and takes them again once it
 * has caught up. The loop is made to fall behind by the test itself: a task that keeps it busy
 * {@link #STALL} at a time, with a turn of I/O and timers in between, which is what a loop with
 * more to read than it can relay looks like from inside.
 */
class OverloadTest {
  private static final Duration STALL = Duration.ofMillis(300);
  private static final String CLOSES = "switchboard_closes_total";
  private static final String REJECTED = "switchboard_connections_rejected_total";

  private ServerFixture fixture;
  private final AtomicBoolean stalling = new AtomicBoolean();
  private final LogCapture log = LogCapture.attach(Level.WARN);

  @AfterEach
  void stop() {
    stalling.set(false);
    if (fixture != null) {
      fixture.close();
    }
    log.close();
  }

  /** Keeps the server's only event loop busy until {@link #stalling} is cleared. */
  private void stallTheLoop() {
    stalling.set(true);
    Context loop = fixture.serverVertx().getOrCreateContext();
    loop.runOnContext(v -> stallOnce(loop));
  }

  private void stallOnce(Context loop) {
    if (!stalling.get()) {
      return;
    }
    long end = System.nanoTime() + STALL.toNanos();
    while (System.nanoTime() < end) {
      Thread.onSpinWait();
    }
    // A timer, not runOnContext: the loop reads its sockets and fires its timers in between.
    loop.owner().setTimer(1, id -> stallOnce(loop));
  }

  @ParameterizedTest(name = "after a quiet second: {0}")
  @ValueSource(booleans = {false, true})
  void anOverloadedLoopClosesItsHeaviestSenderRefusesNewSocketsAndTakesThemAgainOnceCaughtUp(boolean quietFirst)
      throws InterruptedException {
    fixture = ServerFixture.start(Map.of("EVENT_LOOPS", "1", "SHED_LAG_MS", "100", "RESUME_WINDOW_SECONDS", "30",
        "RATE_LIMIT_PER_SECOND", "1000", "RATE_LIMIT_BURST", "1000"));
    TestClient heavy = fixture.open("/ws?resume=1", "heavy");
    heavy.welcome();
    heavy.join("call");
    TestClient quiet = fixture.open("/ws?resume=1", "quiet");
    quiet.welcome();
    quiet.join("call");
    assertEquals(quiet.peerId(), heavy.next("peer-joined").getString("peer"));
    if (quietFirst) {
      // Longer than the lag probe takes to fall asleep on a loop that reads nothing
      // (HttpServerVerticle.QUIET_PROBES): the heavy sender's messages must wake it.
      Thread.sleep(1500);
    }

    stallTheLoop();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
    for (int i = 0; !heavy.isClosed() && System.nanoTime() < deadline; i++) {
      heavy.sendNoWait("{\"type\":\"ping\",\"id\":" + i + "}");
      Thread.sleep(20);
    }
    assertEquals(1013, heavy.awaitClose(Duration.ofSeconds(5)), "the heaviest sender is closed");
    assertEquals("overloaded", heavy.closeReason());

    assertEquals(503, openRejected(), "no new socket while the loop is behind");

    // A resumable session closed to relieve the loop keeps its gap: its client may resume elsewhere.
    JsonObject gap = quiet.nextOfType("peer-reconnecting", Duration.ofSeconds(5));
    assertEquals(heavy.peerId(), gap.getString("peer"));
    quiet.assertOpen();

    stalling.set(false);
    TestClient later = openOnceCaughtUp();
    later.welcome();
    quiet.expectNothing();
    assertEquals(1.0, fixture.scrape().value(CLOSES, Map.of("reason", "overloaded")));
    double refused = fixture.scrape().value(REJECTED, Map.of("reason", "overloaded"));
    assertTrue(refused >= 1.0);

    // The log says so too: when the loop fell behind, and what it turned away until it caught up.
    List<String> lines = log.lines().stream().filter(l -> l.contains("HttpServerVerticle")).toList();
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("WARN") && l.contains("refusing new sockets with 503")),
        String.join("\n", lines));
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("WARN") && l.contains("closing its 1 heaviest")),
        String.join("\n", lines));
    // A closing line counts the refusals of its episode. A loop that caught up for a moment before
    // the refusal (a busy machine's hiccup) refused in an episode of the quiet period, whose figures
    // go into a later closing line (OverloadReportTest), after this test: never more than the metric.
    List<String> closing = lines.stream().filter(l -> l.startsWith("WARN") && l.contains("event loop caught up")).toList();
    long refusedInLog = closing.stream()
        .mapToLong(l -> Long.parseLong(l.replaceAll(".*refused (\\d+) new sockets.*", "$1"))).sum();
    assertFalse(closing.isEmpty(), String.join("\n", lines));
    assertTrue(refusedInLog <= refused, refusedInLog + " refused in the log; lines:\n" + String.join("\n", lines));
  }

  @Test
  void withSheddingOffTheSameStallClosesNothing() throws InterruptedException {
    fixture = ServerFixture.start(Map.of("EVENT_LOOPS", "1", "SHED_LAG_MS", "0",
        "RATE_LIMIT_PER_SECOND", "1000", "RATE_LIMIT_BURST", "1000"));
    TestClient heavy = fixture.connect();
    stallTheLoop();
    for (int i = 0; i < 100; i++) { // 2 s: the time the test above takes to shed
      heavy.sendNoWait("{\"type\":\"ping\",\"id\":" + i + "}");
      Thread.sleep(20);
    }
    TestClient during = fixture.connect();
    stalling.set(false);
    assertFalse(heavy.isClosed());
    during.assertOpen();
    assertEquals(0.0, fixture.scrape().value(CLOSES, Map.of("reason", "overloaded")));
  }

  private int openRejected() {
    try {
      TestClient accepted = fixture.open("/ws", "during");
      throw new AssertionError("upgrade accepted while the loop is behind: " + accepted);
    } catch (UpgradeRejectedException e) {
      return e.getStatus();
    }
  }

  /** A socket opened once the loop keeps up again: the first probe on time ends the overload. */
  private TestClient openOnceCaughtUp() throws InterruptedException {
    for (int attempt = 0; attempt < 50; attempt++) {
      try {
        return fixture.open("/ws", "after");
      } catch (UpgradeRejectedException e) {
        assertEquals(503, e.getStatus());
        Thread.sleep(100);
      }
    }
    throw new AssertionError("new sockets still refused 5 s after the loop caught up");
  }
}
