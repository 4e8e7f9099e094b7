package io.switchboard.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.NodeScript;
import io.switchboard.support.ScriptedBackplane;
import io.switchboard.support.ScriptedBackplane.Op;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Tokens;
import io.switchboard.support.Topology;
import io.switchboard.support.Wait;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * switchboard.js without a browser: the files a node serves for it, and the library itself, as
 * served, run in Node (src/test/node/client-library.mjs) against two real nodes sharing Redis,
 * and against a node that requires tokens and hands out TURN credentials.
 */
class ClientLibraryTest {
  private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(30);
  private static final int SCRIPT_BUDGET_MS = 15_000;
  private static final Map<String, String> ENV = Map.of("DRAIN_DELAY_SECONDS", "0");
  private static final String STOP_NODE_A = "stop node A now";

  private Topology nodes;

  @AfterEach
  void stopNodes() {
    if (nodes != null) {
      try {
        nodes.closeClients();
      } finally {
        nodes.close();
      }
    }
  }

  @Test
  void nodesServeTheLibraryAndTheDemoWithTypesAndRevalidation() throws Exception {
    try (ServerFixture node = ServerFixture.start()) {
      HttpClient http = HttpClient.newBuilder().connectTimeout(TestClient.WAIT).build();
      HttpResponse<String> page = send(http, node, "/", "GET", null);
      assertEquals(200, page.statusCode());
      assertEquals("text/html;charset=UTF-8", page.headers().firstValue("content-type").orElse(""));
      assertTrue(page.body().contains("<script type=\"module\" src=\"demo.js\">"), page.body());

      HttpResponse<String> library = send(http, node, "/switchboard.js", "GET", null);
      assertEquals(200, library.statusCode());
      assertEquals("text/javascript;charset=UTF-8", library.headers().firstValue("content-type").orElse(""));
      assertEquals("no-cache", library.headers().firstValue("cache-control").orElse(""));
      assertEquals("nosniff", library.headers().firstValue("x-content-type-options").orElse(""));
      assertTrue(library.body().contains("export class SwitchboardClient"));
      String lastModified = library.headers().firstValue("last-modified").orElseThrow();
      assertEquals(304, send(http, node, "/switchboard.js", "GET", lastModified).statusCode(),
          "an unchanged file is revalidated with a 304");

      assertEquals("text/css;charset=UTF-8",
          send(http, node, "/demo.css", "GET", null).headers().firstValue("content-type").orElse(""));
      assertEquals(200, send(http, node, "/switchboard.js", "HEAD", null).statusCode());
      assertEquals(404, send(http, node, "/missing.js", "GET", null).statusCode());
      assertEquals(404, send(http, node, "/webroot/index.html", "GET", null).statusCode());
      assertEquals(200, send(http, node, "/health/live", "GET", null).statusCode(), "other routes are unaffected");
    }
  }

  @Test
  void protocolAcrossTwoNodes() {
    nodes = Topology.twoNodesOnRedis(ENV);
    JsonObject report = finish(start("protocol"));
    assertEquals("text/javascript;charset=UTF-8", report.getString("contentType"));
  }

  @Test
  void reconnectsToAnotherNodeAndRejoinsWhenItsNodeStops() {
    failover(false);
  }

  @Test
  void resumesOnAnotherNodeWhenItsNodeStops() {
    failover(true);
  }

  @Test
  void resumesAfterASocketCutWithNothingLostOrRepeated() {
    nodes = Topology.twoNodesOnRedis(ENV);
    JsonObject report = finish(start("resume"));
    assertTrue(report.getInteger("backlogInGap") >= 120, report::encodePrettily);
  }

  @Test
  void startsAFreshSessionAndRejoinsWhenTheResumeIsRefused() {
    Map<String, String> env = new HashMap<>(ENV);
    env.put("RESUME_WINDOW_SECONDS", "1");
    nodes = Topology.twoNodesOnRedis(env);
    finish(start("resume-failed"));
  }

  @Test
  void resumesAgainFromANewSocketWhenTheSessionStoreIsOutOfReach() {
    ScriptedBackplane backplane = ScriptedBackplane.first("solo", Op.CLAIM);
    try (ServerFixture node = ServerFixture.start(ENV, backplane)) {
      CompletableFuture<NodeScript.Result> script = start("resume-retried", node, node, new JsonObject());
      int[] claims = {0};
      // The scripted backplane holds what the node publishes until it is delivered, and every
      // claim of a session: the first fails as an unreachable store would, the second goes through.
      node.awaitCondition(() -> {
        backplane.deliver();
        if (backplane.pending().stream().anyMatch(step -> step.op() == Op.CLAIM)) {
          ScriptedBackplane.Step claim = backplane.next(Op.CLAIM);
          if (claims[0]++ == 0) {
            claim.fail(new IllegalStateException("the session store is out of reach"));
          } else {
            claim.answer();
          }
        }
        return script.isDone();
      }, SCRIPT_TIMEOUT, "the script to end");
      finish(script);
      assertEquals(2, claims[0], "two resumes: the refused one and the one that went through");
    }
  }

  private void failover(boolean resume) {
    nodes = Topology.twoNodesOnRedis(ENV);
    // Node A stops only once the script listens for what b must see: stopped as soon as the
    // servers had both in the room, b's peer-left could arrive with its join's answer, before
    // the script, still awaiting that answer, listened for it.
    CountDownLatch listening = new CountDownLatch(1);
    CompletableFuture<NodeScript.Result> script = start("failover", nodes.a(), nodes.b(),
        new JsonObject().put("resume", resume), line -> {
          if (line.endsWith(STOP_NODE_A)) {
            listening.countDown();
          }
        });
    nodes.a().awaitCondition(() -> script.isDone() || listening.getCount() == 0, SCRIPT_TIMEOUT,
        "the script to say: " + STOP_NODE_A);
    if (!script.isDone()) {
      assertEquals(1, nodes.a().server().openConnections(), "a is on node A");
      Wait.await(nodes.a().beginServerClose(), Duration.ofSeconds(15));
    }
    finish(script);
  }

  @Test
  void sendsItsTokenAndUsesTheTurnCredentialsOfWelcome() {
    String secret = "client-library-test-hs256-secret-0123456789";
    try (ServerFixture node = ServerFixture.start(Map.of("AUTH_JWT_SECRET", secret,
        "TURN_URLS", "turn:turn.example.org:3478", "TURN_SECRET", "client-library-turn-secret"))) {
      String token = Tokens.hs256(secret.getBytes(StandardCharsets.UTF_8),
          new JsonObject().put("sub", "alice").put("exp", Tokens.now() + 300));
      finish(start("secured", node, node, new JsonObject().put("token", token)));
    }
  }

  @Test
  void emitsServerMessagesAndStaysClosedAfterAnOperatorsDisconnect() {
    String key = "client-library-test-admin-key-0123456789";
    try (ServerFixture node = ServerFixture.start(Map.of("ADMIN_PORT", "0", "ADMIN_API_KEY", key))) {
      finish(start("operated", node, node, new JsonObject()
          .put("admin", "http://127.0.0.1:" + node.server().adminPort()).put("key", key)));
    }
  }

  private CompletableFuture<NodeScript.Result> start(String scenario) {
    return start(scenario, nodes.a(), nodes.b(), new JsonObject());
  }

  private static CompletableFuture<NodeScript.Result> start(String scenario, ServerFixture a, ServerFixture b,
      JsonObject extra) {
    return start(scenario, a, b, extra, line -> { });
  }

  private static CompletableFuture<NodeScript.Result> start(String scenario, ServerFixture a, ServerFixture b,
      JsonObject extra, Consumer<String> stderrLines) {
    JsonObject config = extra.copy()
        .put("case", scenario)
        .put("library", "http://127.0.0.1:" + a.port() + "/switchboard.js")
        .put("urls", new JsonArray().add(wsUrl(a)).add(wsUrl(b)))
        .put("timeoutMs", SCRIPT_BUDGET_MS);
    return CompletableFuture.supplyAsync(() -> NodeScript.run("client-library.mjs", config, SCRIPT_TIMEOUT, stderrLines));
  }

  private static JsonObject finish(CompletableFuture<NodeScript.Result> script) {
    NodeScript.Result result;
    try {
      result = script.get(SCRIPT_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      // Rethrown as they are, so that NodeScript's skip (no node outside CI) stays a skip.
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw e.getCause() instanceof Error err ? err : new AssertionError(e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("client-library.mjs did not finish", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    JsonObject report = result.output();
    assertNotNull(report, result.describe());
    assertEquals(0, result.exitCode(), () -> "failures: " + report.getJsonArray("failures") + "\n" + result.describe());
    return report;
  }

  private static String wsUrl(ServerFixture node) {
    return "ws://127.0.0.1:" + node.port() + "/ws";
  }

  private static HttpResponse<String> send(HttpClient http, ServerFixture node, String path, String method,
      String ifModifiedSince) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + path))
        .timeout(TestClient.WAIT)
        .method(method, HttpRequest.BodyPublishers.noBody());
    if (ifModifiedSince != null) {
      request.header("If-Modified-Since", ifModifiedSince);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
