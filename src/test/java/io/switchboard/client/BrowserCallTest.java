package io.switchboard.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.Executables;
import io.switchboard.support.BrowserNamespace;
import io.switchboard.support.NodeScript;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.Topology;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real WebRTC calls through the cluster: the demo page and switchboard.js, served by two nodes
 * sharing a real Redis, in headless Chromium pages driven by src/test/node/browser-call.mjs
 * (playwright-core, Debian's /usr/bin/chromium with fake camera and microphone). The browser
 * lives in a network namespace of this test's own ({@link BrowserNamespace}), the nodes listen
 * on its host end, and the media flows between the pages inside the namespace.
 *
 * <p>Set {@code -Dswitchboard.e2e.screenshot=docs/demo.png} to save the demo with two
 * participants (the README's picture).
 */
class BrowserCallTest {
  private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(60);
  private static final int SCRIPT_BUDGET_MS = 40_000;
  private static final int BROWSER_UNAVAILABLE = 3;

  private static BrowserNamespace net;
  private static Topology nodes;

  @BeforeAll
  static void start() {
    net = BrowserNamespace.create();
    try {
      nodes = Topology.twoNodesOnRedis(Map.of("HOST", net.hostAddress()));
    } catch (RuntimeException | AssertionError e) {
      net.close();
      throw e;
    }
  }

  @AfterEach
  void noLeftovers() {
    nodes.closeClients();
  }

  @AfterAll
  static void stop() {
    try {
      if (nodes != null) {
        nodes.close();
      }
    } finally {
      if (net != null) {
        net.close();
      }
    }
  }

  @Test
  void twoPagesOnTwoNodesConnectChatAndDecodeVideo() {
    String screenshot = System.getProperty("switchboard.e2e.screenshot");
    JsonObject extra = new JsonObject();
    if (screenshot != null && !screenshot.isBlank()) {
      extra.put("screenshot", Path.of(System.getProperty("basedir", ".")).resolve(screenshot).toAbsolutePath().toString());
    }
    JsonObject report = run("pair", "team-standup", List.of(nodes.a(), nodes.b()), extra);
    List<JsonObject> pages = pages(report);
    assertChat(report, pages.get(1), "Alice:hello from Alice");
    assertChat(report, pages.get(0), "Bob:hi Alice, Bob here");
    for (JsonObject page : pages) {
      assertHealthy(report, page, 1);
      JsonArray frames = page.getJsonArray("framesDecoded");
      assertNotNull(frames, () -> "no video stats\n" + report.encodePrettily());
      assertTrue(frames.getInteger(1) > frames.getInteger(0),
          () -> page.getString("name") + " decoded no new video frames in a second: " + frames);
    }
  }

  @Test
  void threePagesOnTwoNodesFormAFullMesh() {
    JsonObject report = run("mesh", "mesh-of-three", List.of(nodes.a(), nodes.b(), nodes.a()), new JsonObject());
    for (JsonObject page : pages(report)) {
      assertHealthy(report, page, 2);
    }
  }

  @Test
  void closingAPageRemovesItFromTheOthersAcrossNodes() {
    JsonObject report = run("close", "one-leaves", List.of(nodes.a(), nodes.b(), nodes.b()), new JsonObject());
    List<JsonObject> pages = pages(report);
    assertTrue(pages.get(2).getBoolean("closed", false), () -> "Carol's page should be closed\n" + report.encodePrettily());
    for (JsonObject page : pages.subList(0, 2)) {
      assertHealthy(report, page, 1);
      assertChat(report, page, "Carol left (their connection closed).");
      assertEquals(1, page.getInteger("tiles"), () -> "Carol's video should be gone\n" + report.encodePrettily());
    }
  }

  /**
   * Runs one case of browser-call.mjs in {@code room} with one page per node in
   * {@code pageNodes}; returns its report. Rooms need no random names: the topology's Redis key
   * prefix is unique.
   */
  private static JsonObject run(String scenario, String room, List<ServerFixture> pageNodes, JsonObject extra) {
    JsonArray urls = new JsonArray();
    for (ServerFixture node : pageNodes) {
      urls.add("http://" + net.hostAddress() + ":" + node.port() + "/");
    }
    JsonObject config = extra.copy()
        .put("case", scenario)
        .put("pages", urls)
        .put("room", room)
        .put("executablePath", net.chromium().toString())
        .put("timeoutMs", SCRIPT_BUDGET_MS);
    NodeScript.Result result = NodeScript.run("browser-call.mjs", config, SCRIPT_TIMEOUT);
    JsonObject report = result.output();
    if (result.exitCode() == BROWSER_UNAVAILABLE) {
      String why = "headless Chromium did not start (" + net + "): "
          + (report == null ? "" : report.getString("reason")) + "\n" + result.stderr();
      Executables.unavailable(why);
    }
    assertNotNull(report, result.describe());
    assertEquals(0, result.exitCode(), () -> report.getString("reason") + "\n" + report.encodePrettily()
        + "\n--- stderr\n" + result.stderr());
    return report;
  }

  private static List<JsonObject> pages(JsonObject report) {
    return report.getJsonArray("pages").stream().map(JsonObject.class::cast).toList();
  }

  /**
   * The page is connected to its node, has {@code peers} connected peer connections, whose
   * selected candidate pairs run inside the test's namespace, and showed no error.
   */
  private static void assertHealthy(JsonObject report, JsonObject page, int peers) {
    String name = page.getString("name");
    assertEquals("Connected to the server", page.getString("serverStatus"), () -> name + "\n" + report.encodePrettily());
    assertEquals(Collections.nCopies(peers, "connected"), page.getJsonArray("peerStates").getList(),
        () -> name + "'s peer connections\n" + report.encodePrettily());
    JsonArray pairs = page.getJsonArray("candidatePairs");
    assertEquals(peers, pairs.size(), () -> name + "'s selected candidate pairs\n" + report.encodePrettily());
    String expected = net.browserAddress() + " -> " + net.browserAddress();
    for (Object pair : pairs) {
      assertEquals(expected, pair, () -> name + "'s media left the test's namespace\n" + report.encodePrettily());
    }
    assertNull(page.getString("notice"), () -> name + " showed an error\n" + report.encodePrettily());
    assertEquals(List.of(), page.getJsonArray("consoleErrors").getList(),
        () -> name + " logged errors\n" + report.encodePrettily());
  }

  private static void assertChat(JsonObject report, JsonObject page, String line) {
    assertTrue(page.getJsonArray("chat").contains(line),
        () -> page.getString("name") + "'s chat lacks \"" + line + "\"\n" + report.encodePrettily());
  }
}
