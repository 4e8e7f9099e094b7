package io.switchboard.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.BrowserNamespace;
import io.switchboard.support.Executables;
import io.switchboard.support.NodeProcess;
import io.switchboard.support.NodeScript;
import io.switchboard.support.RedisFixture;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The acceptance case for resume, in real browsers: two pages of the demo hold a call
 * through two nodes; the node of one page is drained (SIGTERM), and later the node it moved to is
 * killed (SIGKILL). Each time the page resumes its session on a live node and the call carries on
 * on the same RTCPeerConnection: no remote track ends, nothing is renegotiated, the video never
 * stalls for more than {@value #MAX_STALL_MS} ms and chat goes both ways over the data channel.
 *
 * <p>An IT, not part of {@link BrowserCallTest}: the nodes must be OS processes (the real jar,
 * {@link NodeProcess}) to be sent signals. They listen on every address, so that the browser in
 * its namespace ({@link BrowserNamespace}) reaches them on the host end of its link.
 */
class BrowserResumeIT {
  private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(70);
  private static final int SCRIPT_BUDGET_MS = 50_000;
  private static final int BROWSER_UNAVAILABLE = 3;
  private static final long MAX_STALL_MS = 1500;
  // A dead node is noticed within about a second (the test's own setting), well inside the window.
  private static final Map<String, String> ENV = Map.of(
      "HOST", "0.0.0.0",
      "DRAIN_DELAY_SECONDS", "0",
      "NODE_HEARTBEAT_MS", "250",
      "NODE_TIMEOUT_MS", "1000",
      "RESUME_WINDOW_SECONDS", "30");

  private final List<NodeProcess> nodes = new ArrayList<>();
  private BrowserNamespace net;

  @AfterEach
  void stopEverything() {
    try {
      nodes.forEach(NodeProcess::close);
    } finally {
      if (net != null) {
        net.close();
      }
    }
  }

  @Test
  void aCallCarriesOnWhenItsNodeIsDrainedAndWhenItIsKilled() throws Exception {
    net = BrowserNamespace.create();
    Path logs = NodeProcess.logDirectory();
    String prefix = RedisFixture.uniquePrefix();
    List<CompletableFuture<NodeProcess>> starting = new ArrayList<>();
    for (String id : List.of("drained", "survivor", "killed")) {
      Map<String, String> env = new HashMap<>(ENV);
      env.put("REDIS_URL", RedisFixture.shared().uri());
      env.put("REDIS_KEY_PREFIX", prefix);
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          return NodeProcess.start(id, env, logs);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }));
    }
    // Every node that did start is closed after the test, also when another one failed to.
    CompletableFuture.allOf(starting.toArray(CompletableFuture[]::new)).handle((v, e) -> null).join();
    for (CompletableFuture<NodeProcess> node : starting) {
      if (!node.isCompletedExceptionally()) {
        nodes.add(node.join());
      }
    }
    starting.forEach(CompletableFuture::join);
    NodeProcess drained = nodes.get(0);
    NodeProcess survivor = nodes.get(1);
    NodeProcess killed = nodes.get(2);

    // Alice starts on the node that is drained, moves to the one that is killed, then to Bob's.
    JsonObject config = new JsonObject()
        .put("case", "resume")
        .put("pages", new JsonArray().add(page(drained)).add(page(survivor)))
        .put("servers", new JsonArray()
            .add(new JsonArray().add(ws(drained)).add(ws(killed)).add(ws(survivor)))
            .add(new JsonArray().add(ws(survivor))))
        .put("drainPid", drained.process().pid())
        .put("killPid", killed.process().pid())
        .put("room", "resumed-call")
        .put("executablePath", net.chromium().toString())
        .put("timeoutMs", SCRIPT_BUDGET_MS);
    NodeScript.Result result = NodeScript.run("browser-call.mjs", config, SCRIPT_TIMEOUT);
    JsonObject report = result.output();
    if (result.exitCode() == BROWSER_UNAVAILABLE) {
      Executables.unavailable("headless Chromium did not start (" + net + "): "
          + (report == null ? "" : report.getString("reason")) + "\n" + result.stderr());
    }
    assertNotNull(report, result.describe());
    String all = report.encodePrettily() + "\n--- stderr\n" + result.stderr();
    assertEquals(0, result.exitCode(), () -> report.getString("reason") + "\n" + all);

    List<JsonObject> events = report.getJsonArray("events").stream().map(JsonObject.class::cast).toList();
    assertEquals(List.of("SIGTERM", "SIGKILL"), events.stream().map(e -> e.getString("signal")).toList(), all);
    for (JsonObject event : events) {
      String signal = event.getString("signal");
      List<JsonObject> pages = event.getJsonArray("pages").stream().map(JsonObject.class::cast).toList();
      JsonObject alice = pages.get(0);
      assertEquals(event.getString("peerBefore"), alice.getString("peer"), () -> signal + ": Alice kept her peer id\n" + all);
      assertEquals(1, alice.getJsonArray("resumes").size(), () -> signal + ": Alice resumed once\n" + all);
      assertEquals(0, alice.getInteger("failedResumes"), () -> signal + ": no resume was refused\n" + all);
      assertTrue(alice.getJsonArray("states").stream().map(JsonObject.class::cast)
          .anyMatch(s -> s.getString("status").startsWith("Reconnecting")),
          () -> signal + ": Alice's page said it was reconnecting\n" + all);
      System.out.println(signal + ": Alice resumed " + event.getValue("resumedAfterMs") + " ms after the signal; longest video stall "
          + pages.stream().map(p -> p.getString("name") + " " + p.getJsonObject("stall").getLong("longestMs") + " ms").toList()
          + "; Bob heard " + pages.get(1).getJsonArray("gaps").stream().map(g -> ((JsonObject) g).getString("type")).toList());
      for (JsonObject page : pages) {
        String who = signal + ", " + page.getString("name") + ": ";
        assertEquals(List.of("connected"), page.getJsonArray("connectionStates").getList(), () -> who + "connected\n" + all);
        assertEquals(List.of(), page.getJsonArray("endedTracks").getList(), () -> who + "no remote track ended\n" + all);
        assertEquals(2, page.getInteger("liveTracks"), () -> who + "audio and video still live\n" + all);
        assertEquals(0, page.getInteger("offersAfter"), () -> who + "no renegotiation\n" + all);
        long stall = page.getJsonObject("stall").getLong("longestMs");
        assertTrue(stall <= MAX_STALL_MS, () -> who + "video stalled " + stall + " ms\n" + all);
      }
    }
    // A drain's 1012 starts a gap at once: Bob's page shows Alice reconnecting until she is back.
    List<JsonObject> bobGaps = events.get(0).getJsonArray("pages").getJsonObject(1).getJsonArray("gaps").stream()
        .map(JsonObject.class::cast).toList();
    assertEquals(List.of("peer-reconnecting", "peer-resumed"), bobGaps.stream().map(g -> g.getString("type")).toList(), all);
    assertTrue(bobGaps.get(0).getString("tile").startsWith("Reconnecting…"), all);
    List<JsonObject> pages = report.getJsonArray("pages").stream().map(JsonObject.class::cast).toList();
    for (String signal : List.of("SIGTERM", "SIGKILL")) {
      assertTrue(pages.get(0).getJsonArray("chat").contains("Bob:after " + signal + ", from Bob"), all);
      assertTrue(pages.get(1).getJsonArray("chat").contains("Alice:after " + signal + ", from Alice"), all);
    }
    for (JsonObject page : pages) {
      assertEquals("Connected to the server", page.getString("serverStatus"), all);
      assertEquals(List.of(), page.getJsonArray("consoleErrors").getList(), () -> page.getString("name") + " logged errors\n" + all);
    }
  }

  private String page(NodeProcess node) {
    return "http://" + net.hostAddress() + ":" + node.port() + "/";
  }

  private String ws(NodeProcess node) {
    return "ws://" + net.hostAddress() + ":" + node.port() + "/ws";
  }
}
