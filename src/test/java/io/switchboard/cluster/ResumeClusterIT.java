package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.switchboard.support.NodeProcess;
import io.switchboard.support.PairLoad;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ResumingClient;
import io.switchboard.support.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Resume across real node processes on one Redis, under load: pairs of peers on different nodes
 * exchange numbered messages at 10/s each while nodes are drained one after another (SIGTERM) or
 * one is killed (SIGKILL). The clients ({@link ResumingClient}) follow docs/protocol.md "Resume"
 * and nothing else; the test then requires that every message arrived exactly once and in
 * order, that nobody heard {@code peer-left} and that every peer kept its id, and, for the crash,
 * that a peer that never comes back is reported {@code expired} within the window.
 *
 * <p>The figures (resume latencies, counts) are printed with the prefix {@code RESUME-IT} so they
 * can be quoted. Scale with {@code -Dresume.pairs} and {@code -Dresume.rate} on a slow machine.
 */
class ResumeClusterIT {
  private static final int PAIRS = Integer.getInteger("resume.pairs", 100);
  private static final int RATE_PER_SECOND = Integer.getInteger("resume.rate", 10);
  private static final int WINDOW_SECONDS = 10;
  private static final long NODE_TIMEOUT_MS = 5000;
  private static final long HEARTBEAT_MS = 500;
  private static final Duration SETTLE = Duration.ofSeconds(2);
  private static final Duration ALL_LIVE = Duration.ofSeconds(15);
  private static final Duration DELIVERY = Duration.ofSeconds(20);

  private final List<NodeProcess> started = new CopyOnWriteArrayList<>();
  /** The nodes clients may (re)connect to, in the order they try them. */
  private final List<NodeProcess> serving = new CopyOnWriteArrayList<>();
  private final List<ResumingClient> clients = new CopyOnWriteArrayList<>();
  private final PairLoad load = new PairLoad();
  private Vertx vertx;
  private Path logs;
  private WebSocketClient ws;

  @AfterEach
  void stopEverything() {
    load.stop();
    clients.forEach(ResumingClient::vanish);
    started.forEach(NodeProcess::close);
    if (vertx != null) {
      Wait.await(vertx.close(), Duration.ofSeconds(10));
    }
  }

  /**
   * {@code fastDeath} sets the crash case's heartbeat to 500 ms, keeping the default 5 s node
   * timeout: with 1 s or 2.5 s, two shared busy cores made live nodes (the watcher's among them)
   * miss their deadline and be declared dead, which is another test. The rolling restart keeps
   * both defaults.
   */
  private Map<String, String> env(String prefix, boolean fastDeath) {
    return Map.of("REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix,
        "DRAIN_DELAY_SECONDS", "0",
        "SHUTDOWN_GRACE_SECONDS", "5",
        "NODE_HEARTBEAT_MS", fastDeath ? Long.toString(HEARTBEAT_MS) : "1000",
        "NODE_TIMEOUT_MS", fastDeath ? Long.toString(NODE_TIMEOUT_MS) : "5000",
        "RESUME_WINDOW_SECONDS", Integer.toString(WINDOW_SECONDS),
        // As k8s/base ships: a node that takes the moving clients has its set-up path compiled
        // (without it, drop -> resumed p99 was 1.7-2.1 s here instead of 0.4-0.7 s).
        "WARMUP_CONNECTIONS", "1000");
  }

  /** Starts the nodes in parallel (a JVM takes seconds to start) and waits for all of them. */
  private List<NodeProcess> startNodes(Map<String, String> env, Path logs, String... ids) {
    List<CompletableFuture<NodeProcess>> starting = new ArrayList<>();
    for (String id : ids) {
      starting.add(CompletableFuture.supplyAsync(() -> {
        try {
          NodeProcess node = NodeProcess.start(id, env, logs);
          started.add(node);
          return node;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    List<NodeProcess> nodes = new ArrayList<>();
    for (CompletableFuture<NodeProcess> f : starting) {
      nodes.add(f.join());
    }
    return nodes;
  }

  private Supplier<List<Integer>> servingPorts() {
    return () -> serving.stream().map(NodeProcess::port).toList();
  }

  private void startClients() {
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    ws = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(2000)
        .setConnectTimeout(5000));
  }

  private ResumingClient connect(NodeProcess node, String name, boolean reconnect) {
    ResumingClient c = ResumingClient.connect(vertx, ws, node.port(), servingPorts(), name,
        new ResumingClient.Options().reconnect(reconnect));
    clients.add(c);
    return c;
  }

  /** {@code PAIRS} rooms of two, the peers of each on two different nodes. */
  private void connectPairs(List<NodeProcess> nodes) throws Exception {
    long t0 = System.nanoTime();
    // A few pairs at a time: one by one, two hundred handshakes and joins take seconds.
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<ResumingClient[]>> made = new ArrayList<>();
      for (int k = 0; k < PAIRS; k++) {
        int pair = k;
        made.add(pool.submit(() -> {
          String room = "pair-" + pair;
          ResumingClient a = connect(nodes.get(pair % nodes.size()), "a" + pair, true);
          ResumingClient b = connect(nodes.get((pair + 1) % nodes.size()), "b" + pair, true);
          a.join(room);
          b.join(room);
          return new ResumingClient[] {a, b};
        }));
      }
      for (int k = 0; k < PAIRS; k++) {
        ResumingClient[] ab = made.get(k).get(30, TimeUnit.SECONDS);
        load.add("pair-" + k, ab[0], ab[1]);
      }
    } finally {
      pool.shutdownNow();
    }
    Wait.until(vertx, load::allIntroduced, Duration.ofSeconds(10), "every a heard its b join");
    System.out.printf("RESUME-IT setup: %d clients connected and paired in %d ms%n", 2 * PAIRS,
        (System.nanoTime() - t0) / 1_000_000);
  }

  private void awaitAllLive(Duration timeout) {
    Wait.until(vertx, () -> clients.stream().allMatch(c -> c.state() == ResumingClient.State.LIVE
        || c.state() == ResumingClient.State.FAILED || c.state() == ResumingClient.State.CLOSED),
        timeout, "every client live again");
  }

  /** Stops the load, waits for the last messages and judges everything the clients saw. */
  private PairLoad.Verdict finish(Predicate<JsonObject> leaveExpected) {
    load.stop();
    boolean delivered = load.awaitDelivery(DELIVERY);
    PairLoad.Verdict verdict = load.judge(clients, leaveExpected);
    System.out.println("RESUME-IT messages: " + verdict.summary() + (delivered ? "" : " (delivery incomplete)"));
    long unavailable = clients.stream().mapToLong(ResumingClient::unavailableErrors).sum();
    long limited = clients.stream().mapToLong(ResumingClient::rateLimitedErrors).sum();
    long resent = clients.stream().mapToLong(ResumingClient::resent).sum();
    System.out.printf("RESUME-IT relays: %d answered unavailable, %d rate-limited with their id (relays and pings), %d sent again "
        + "(after resumed, unavailable or rate-limited); resumes answered unavailable and made again: %d%n",
        unavailable, limited, resent, clients.stream().mapToLong(ResumingClient::resumeUnavailableErrors).sum());
    if (!verdict.broken().isEmpty()) {
      // Every broken promise and every client's story, for the report; the assertion shows the first few.
      Path dump = logs.resolve("resume-it-" + System.nanoTime() + ".txt");
      List<String> lines = new ArrayList<>(verdict.broken());
      for (ResumingClient c : clients) {
        lines.add(c + " drops " + c.dropCodes() + " resumes " + c.resumedAt().size() + " unavailable "
            + c.unavailableErrors() + " rate-limited " + c.rateLimitedErrors() + " anomalies " + c.anomalies());
      }
      try {
        Files.write(dump, lines);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      System.out.println("RESUME-IT everything broken: " + dump);
    }
    return verdict;
  }

  private static String percentiles(List<Long> millis) {
    if (millis.isEmpty()) {
      return "none";
    }
    List<Long> sorted = new ArrayList<>(millis);
    Collections.sort(sorted);
    return String.format("n=%d p50=%d ms p99=%d ms max=%d ms", sorted.size(), at(sorted, 0.50), at(sorted, 0.99),
        sorted.get(sorted.size() - 1));
  }

  private static long at(List<Long> sorted, double q) {
    return sorted.get(Math.max(0, (int) Math.ceil(q * sorted.size()) - 1));
  }

  /** Drop → resumed, for every drop of every client, in ms. */
  private List<Long> gaps() {
    List<Long> out = new ArrayList<>();
    for (ResumingClient c : clients) {
      List<Long> drops = c.dropsAt();
      List<Long> resumes = c.resumedAt();
      for (long drop : drops) {
        resumes.stream().filter(t -> t >= drop).findFirst().ifPresent(t -> out.add((t - drop) / 1_000_000));
      }
    }
    return out;
  }

  @Test
  void aRollingRestartUnderLoadLosesNothingRepeatsNothingAndNobodyLeaves() throws Exception {
    logs = NodeProcess.logDirectory();
    Map<String, String> env = env(RedisFixture.uniquePrefix(), false);
    List<NodeProcess> initial = startNodes(env, logs, "roll-a", "roll-b", "roll-c");
    serving.addAll(initial);
    startClients();
    connectPairs(initial);
    load.start(vertx, RATE_PER_SECOND);
    Wait.sleep(SETTLE.toMillis());

    for (int i = 0; i < initial.size(); i++) {
      // The replacement first, so capacity never shrinks below three nodes' worth.
      NodeProcess fresh = startNodes(env, logs, "roll-new-" + i).get(0);
      serving.add(fresh);
      NodeProcess old = initial.get(i);
      int port = old.port();
      long moving = clients.stream().filter(c -> c.currentPort() == port).count();
      serving.remove(old);
      long t0 = System.nanoTime();
      old.terminate();
      assertEquals(0, old.awaitExit(Duration.ofSeconds(15)), "exit code of " + old.nodeId() + "; see " + old.log());
      awaitAllLive(ALL_LIVE);
      System.out.printf("RESUME-IT rolling: %s drained (SIGTERM), %d clients moved, all live again %d ms after the signal%n",
          old.nodeId(), moving, (System.nanoTime() - t0) / 1_000_000);
      Wait.sleep(SETTLE.toMillis());
    }
    PairLoad.Verdict verdict = finish(m -> false);
    long drops = clients.stream().mapToLong(c -> c.dropsAt().size()).sum();
    long resumes = clients.stream().mapToLong(c -> c.resumedAt().size()).sum();
    System.out.printf("RESUME-IT rolling: %d pairs at %d/s each way, %d drops, %d resumes, drop->resumed %s%n",
        PAIRS, RATE_PER_SECOND, drops, resumes, percentiles(gaps()));
    assertTrue(drops >= PAIRS * 2L, "every client was on a drained node at least once; drops " + drops);
    assertTrue(verdict.broken().isEmpty(), verdict.firstBroken(30));
  }

  @Test
  void aKilledNodesClientsResumeElsewhereAndAPeerThatNeverReturnsExpires() throws Exception {
    logs = NodeProcess.logDirectory();
    Map<String, String> env = env(RedisFixture.uniquePrefix(), true);
    List<NodeProcess> nodes = startNodes(env, logs, "crash-a", "crash-b", "crash-c");
    // The dead node stays in the list: clients must skip it by themselves.
    serving.addAll(nodes);
    NodeProcess victim = nodes.get(2);
    startClients();
    connectPairs(nodes);
    ResumingClient loner = connect(victim, "loner", false);
    ResumingClient watcher = connect(nodes.get(0), "watcher", true);
    loner.join("lonely");
    watcher.join("lonely");
    Wait.until(vertx, () -> loner.events().size() == 1, Duration.ofSeconds(5), "loner heard watcher join");
    load.start(vertx, RATE_PER_SECOND);
    Wait.sleep(SETTLE.toMillis() + 1000);

    List<ResumingClient> moving = clients.stream()
        .filter(c -> c != loner && c.currentPort() == victim.port()).toList();
    // Before the kill, so that the loner does not even try to come back.
    loner.vanish();
    long killed = System.nanoTime();
    victim.kill();
    // Not just "live": right after the kill a client has not yet seen its socket drop.
    long deadline = System.nanoTime() + Duration.ofSeconds(WINDOW_SECONDS).toNanos();
    while (System.nanoTime() < deadline
        && !moving.stream().allMatch(c -> c.resumedAt().stream().anyMatch(t -> t > killed))) {
      Wait.sleep(20);
    }
    List<Long> killToResumed = new ArrayList<>();
    for (ResumingClient c : moving) {
      c.resumedAt().stream().filter(t -> t > killed).findFirst()
          .ifPresentOrElse(t -> killToResumed.add((t - killed) / 1_000_000),
              () -> fail(c + " did not resume within the window after the kill; drops " + c.dropCodes()
                  + ", anomalies " + c.anomalies()));
    }
    System.out.printf("RESUME-IT crash: %d clients on the killed node; SIGKILL->resumed %s%n", moving.size(),
        percentiles(killToResumed));

    // The loner never comes back: its peer hears it expire, within the window and 2 s of the kill.
    long bound = killed + Duration.ofSeconds(WINDOW_SECONDS + 2).toNanos();
    Wait.until(vertx, () -> watcher.events().stream().anyMatch(r -> "peer-left".equals(r.type())),
        Duration.ofNanos(Math.max(0, bound - System.nanoTime()) + Duration.ofSeconds(3).toNanos()),
        "watcher hears peer-left");
    ResumingClient.Received left = watcher.events().stream().filter(r -> "peer-left".equals(r.type())).findFirst().get();
    long leftAfter = (left.nanos() - killed) / 1_000_000;
    System.out.printf("RESUME-IT crash: the peer that never returned was reported %s %d ms after SIGKILL (window %d s)%n",
        left.json().getString("reason"), leftAfter, WINDOW_SECONDS);
    assertEquals(loner.peer(), left.json().getString("peer"), left.json().encode());
    assertEquals("expired", left.json().getString("reason"), left.json().encode());
    assertTrue(left.nanos() <= bound, "peer-left expired came " + leftAfter + " ms after the kill");
    long reconnectingAfter = watcher.events().stream().filter(r -> "peer-reconnecting".equals(r.type()))
        .findFirst().map(r -> (r.nanos() - killed) / 1_000_000).orElse(Long.MIN_VALUE);
    System.out.printf("RESUME-IT crash: the watcher heard peer-reconnecting %d ms after SIGKILL%n", reconnectingAfter);
    // The window runs from the dead node's last heartbeat, which comes at most a node timeout and
    // a heartbeat before the node is found dead (when the watcher hears peer-reconnecting); a busy
    // node's heartbeats come late, so this is counted from the detection, not from the kill. An
    // expiry earlier than that would refuse a client that came back in time.
    long gapMillis = leftAfter - reconnectingAfter;
    long shortest = WINDOW_SECONDS * 1000L - NODE_TIMEOUT_MS - HEARTBEAT_MS - 1000;
    assertTrue(reconnectingAfter != Long.MIN_VALUE && gapMillis >= shortest,
        "the watcher heard peer-reconnecting " + reconnectingAfter + " ms and peer-left expired " + leftAfter
            + " ms after the kill: a gap of " + gapMillis + " ms, shorter than the window allows (" + shortest + " ms)");
    List<String> watcherSaw = watcher.events().stream().map(r -> r.type()).toList();
    assertTrue(watcherSaw.indexOf("peer-reconnecting") >= 0
        && watcherSaw.indexOf("peer-reconnecting") < watcherSaw.indexOf("peer-left"),
        "peer-reconnecting before peer-left: " + watcherSaw);

    clients.remove(loner);
    String gone = loner.peer();
    // Only the watcher may hear of the loner, as above; nothing else may leave anyone.
    PairLoad.Verdict verdict = finish(m -> gone.equals(m.getString("peer")));
    assertTrue(verdict.broken().isEmpty(), verdict.firstBroken(30));
  }

}
