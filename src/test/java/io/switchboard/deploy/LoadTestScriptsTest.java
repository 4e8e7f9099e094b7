package io.switchboard.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.switchboard.support.NodeScript;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.Tokens;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The k6 scripts in loadtest/: k6 cannot be installed here, so Node checks that each one parses
 * as an ES module, their message types are checked against docs/protocol.md, and each script's
 * iteration is run once in Node (src/test/k6shim stands in for the k6 modules) against two real
 * nodes sharing Redis. Without Node the test fails under {@code CI=true}; elsewhere it is skipped
 * with a message.
 */
class LoadTestScriptsTest {
  private static final Path LOADTEST = Path.of("loadtest");
  private static final Path SHIM = Path.of("src", "test", "k6shim");
  private static final Path PROTOCOL = Path.of("docs", "protocol.md");
  private static final Duration NODE_TIMEOUT = Duration.ofSeconds(60);
  private static final List<String> SCRIPTS = List.of("pairs.js", "rooms.js", "soak.js");

  private static String node;

  @BeforeAll
  static void findNode() {
    node = NodeScript.nodeBinary().toString();
  }

  @Test
  void everyScriptParsesAsAnEsModule() throws Exception {
    List<Path> scripts = scripts();
    for (String name : SCRIPTS) {
      assertTrue(scripts.contains(LOADTEST.resolve(name)), "missing loadtest/" + name);
    }
    for (Path script : scripts) {
      // --check parses without resolving imports, so k6/... need not exist.
      Result r = run(List.of(node, "--input-type=module", "--check"), Map.of(), script);
      assertEquals(0, r.exit(), script + " does not parse:\n" + r.stderr());
    }
  }

  @Test
  void scriptsSendAndHandleOnlyMessageTypesOfTheProtocol() throws IOException {
    String doc = Files.readString(PROTOCOL);
    String clientToServer = section(doc, "## Client → server");
    String serverToClient = section(doc, "## Server → client");
    Set<String> sent = new TreeSet<>();
    Set<String> handled = new TreeSet<>();
    for (Path script : scripts()) {
      String source = Files.readString(script);
      collect(Pattern.compile("\\btype: '([a-z-]+)'"), source, sent);
      collect(Pattern.compile("\\.relay\\('([a-z-]+)'"), source, sent);
      collect(Pattern.compile("\\.on\\('([a-z-]+)'"), source, handled);
    }
    assertTrue(sent.containsAll(Set.of("join", "leave", "offer", "answer", "candidate", "signal", "ping")), "sent: " + sent);
    assertTrue(handled.containsAll(Set.of("welcome", "joined", "peer-joined", "peer-left", "pong", "error")), "handled: " + handled);
    for (String type : sent) {
      assertTrue(clientToServer.contains("`" + type + "`"), "loadtest/ sends '" + type + "', not a client message of docs/protocol.md");
    }
    for (String type : handled) {
      assertTrue(serverToClient.contains("`" + type + "`"), "loadtest/ handles '" + type + "', not a server message of docs/protocol.md");
    }
  }

  @Test
  void eachScriptCompletesAnIterationAcrossTwoNodesWithoutLossOrErrors() throws Exception {
    String version = run(List.of(node, "--version"), Map.of(), null).stdout().strip();
    Matcher v = Pattern.compile("v(\\d+)\\.(\\d+)\\..*").matcher(version);
    assertTrue(v.matches() && Integer.parseInt(v.group(1)) * 100 + Integer.parseInt(v.group(2)) >= 2010,
        "running the scripts needs Node 20.10 or later (its WebSocket client and module hooks); found " + version);
    String prefix = RedisFixture.uniquePrefix();
    Map<String, String> cluster = Map.of("REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix);
    try (ServerFixture a = ServerFixture.start(cluster); ServerFixture b = ServerFixture.start(cluster)) {
      String targets = "ws://127.0.0.1:" + a.port() + "/ws,ws://127.0.0.1:" + b.port() + "/ws";

      JsonObject pairs = iteration("pairs.js", Map.of("TARGETS", targets, "HOLD_SECONDS", "1", "CANDIDATES", "3"));
      assertEquals(1.0, sum(pairs, "calls_completed"), pairs.encode());
      assertEquals(0.0, sum(pairs, "calls_failed") + sum(pairs, "messages_lost") + sum(pairs, "errors"), pairs.encode());
      // offer + answer + 3 candidates each way + at least one signal each way
      assertTrue(sum(pairs, "messages_received") >= 10, pairs.encode());
      assertEquals(sum(pairs, "messages_sent"), sum(pairs, "messages_received"));
      assertEquals(sum(pairs, "messages_received"), count(pairs, "relay_latency"));
      assertEquals(1, count(pairs, "call_setup"));
      for (ServerFixture server : List.of(a, b)) {
        assertTrue(server.metrics().value("switchboard_backplane_published_total") > 0,
            "caller and callee sit on different nodes, so both nodes publish");
      }

      JsonObject rooms = iteration("rooms.js", Map.of("TARGETS", targets, "HOLD_SECONDS", "1", "ROOM_SIZE", "3", "RATE", "4"));
      assertEquals(1.0, sum(rooms, "rooms_completed"), rooms.encode());
      assertEquals(0.0, sum(rooms, "rooms_failed") + sum(rooms, "messages_lost") + sum(rooms, "errors"), rooms.encode());
      assertTrue(sum(rooms, "broadcasts_sent") > 0);
      assertEquals(sum(rooms, "broadcasts_sent") * 2, sum(rooms, "messages_received"), "each broadcast reaches the 2 others");

      JsonObject soak = iteration("soak.js", Map.of("TARGETS", targets, "SESSION_SECONDS", "3", "PING_SECONDS", "1"));
      assertEquals(List.of(1.0), values(soak, "connected"), soak.encode());
      assertTrue(count(soak, "pong_rtt") >= 1, soak.encode());
      assertEquals(0.0, sum(soak, "pongs_missing") + sum(soak, "server_closes") + sum(soak, "errors"), soak.encode());
    }
  }

  @Test
  void theScriptsPresentTOKENToAServerThatRequiresOne() throws Exception {
    String secret = "load-test-secret-load-test-secret-0123";
    try (ServerFixture server = ServerFixture.start(Map.of("AUTH_JWT_SECRET", secret))) {
      String target = "ws://127.0.0.1:" + server.port() + "/ws";
      JsonObject refused = iteration("pairs.js", Map.of("TARGETS", target, "HOLD_SECONDS", "1", "CANDIDATES", "1"));
      assertTrue(sum(refused, "errors") > 0, "no token, no socket: " + refused.encode());
      assertFalse(refused.containsKey("calls_completed") && sum(refused, "calls_completed") > 0, refused.encode());
      String token = Tokens.hs256(secret.getBytes(StandardCharsets.UTF_8),
          new JsonObject().put("sub", "k6").put("exp", Tokens.now() + 600));
      JsonObject pairs = iteration("pairs.js", Map.of("TARGETS", target, "TOKEN", token, "HOLD_SECONDS", "1", "CANDIDATES", "1"));
      assertEquals(1.0, sum(pairs, "calls_completed"), pairs.encode());
      assertEquals(0.0, sum(pairs, "calls_failed") + sum(pairs, "errors"), pairs.encode());
    }
  }

  /**
   * Runs one iteration of {@code script} as VU 1 in Node and returns what its metrics recorded;
   * also checks that every threshold names a metric the script records (k6 refuses others).
   */
  private static JsonObject iteration(String script, Map<String, String> env) throws Exception {
    Result r = run(List.of(node, "--experimental-websocket", "--import", SHIM.resolve("register.mjs").toUri().toString(),
        SHIM.resolve("run.mjs").toString(), LOADTEST.resolve(script).toString(), "1", "0"), env, null);
    assertEquals(0, r.exit(), script + " failed:\n" + r.stderr());
    JsonObject out = new JsonObject(r.stdout().strip());
    JsonObject samples = out.getJsonObject("samples");
    for (String metric : out.getJsonObject("options").getJsonObject("thresholds").fieldNames()) {
      assertTrue(samples.containsKey(metric), script + " has a threshold on " + metric + ", a metric it does not define");
    }
    return samples;
  }

  private static double sum(JsonObject samples, String metric) {
    return values(samples, metric).stream().mapToDouble(Double::doubleValue).sum();
  }

  private static int count(JsonObject samples, String metric) {
    return values(samples, metric).size();
  }

  private static List<Double> values(JsonObject samples, String metric) {
    JsonArray list = samples.getJsonArray(metric);
    assertTrue(list != null, "no metric " + metric + " in " + samples.fieldNames());
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      out.add(list.getJsonObject(i).getDouble("value"));
    }
    return out;
  }

  private record Result(int exit, String stdout, String stderr) {}

  private static Result run(List<String> command, Map<String, String> env, Path stdin) throws Exception {
    Path out = Files.createTempFile("loadtest", ".out");
    Path err = Files.createTempFile("loadtest", ".err");
    try {
      ProcessBuilder builder = new ProcessBuilder(command)
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .redirectInput(stdin == null ? ProcessBuilder.Redirect.from(new File("/dev/null")) : ProcessBuilder.Redirect.from(stdin.toFile()));
      builder.environment().putAll(env);
      Process process = builder.start();
      if (!process.waitFor(NODE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        fail(String.join(" ", command) + " did not finish within " + NODE_TIMEOUT.toSeconds() + " s:\n" + Files.readString(err));
      }
      return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  private static List<Path> scripts() throws IOException {
    try (Stream<Path> walk = Files.walk(LOADTEST)) {
      List<Path> scripts = walk.filter(p -> p.toString().endsWith(".js")).sorted().collect(Collectors.toList());
      assertFalse(scripts.isEmpty());
      return scripts;
    }
  }

  private static void collect(Pattern pattern, String source, Set<String> into) {
    Matcher m = pattern.matcher(source);
    while (m.find()) {
      into.add(m.group(1));
    }
  }

  private static String section(String doc, String heading) {
    int start = doc.indexOf(heading);
    assertTrue(start >= 0, heading + " missing from " + PROTOCOL);
    int end = doc.indexOf("\n## ", start + heading.length());
    return doc.substring(start, end < 0 ? doc.length() : end);
  }
}
