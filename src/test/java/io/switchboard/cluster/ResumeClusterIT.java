package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.switchboard.support.NodeProcess;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ResumingClient;
import io.switchboard.support.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
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
  private static final Duration SETTLE = Duration.ofSeconds(2);
  private static final Duration ALL_LIVE = Duration.ofSeconds(15);
  private static final Duration DELIVERY = Duration.ofSeconds(20);

  private record Pair(String room, ResumingClient a, ResumingClient b) {
  }

  private final List<NodeProcess> started = new CopyOnWriteArrayList<>();
  /** The nodes clients may (re)connect to, in the order they try them. */
  private final List<NodeProcess> serving = new CopyOnWriteArrayList<>();
  private final List<ResumingClient> clients = new CopyOnWriteArrayList<>();
  private final List<Pair> pairs = new ArrayList<>();
  private Vertx vertx;
  private WebSocketClient ws;
  private long loadTimer = -1;

  @AfterEach
  void stopEverything() {
    if (loadTimer != -1) {
      vertx.cancelTimer(loadTimer);
    }
    clients.forEach(ResumingClient::vanish);
    started.forEach(NodeProcess::close);
    if (vertx != null) {
      Wait.await(vertx.close(), Duration.ofSeconds(10));
    }
  }

  /**
   * {@code fastDeath} shortens the heartbeat for the crash case; the rolling restart keeps the
   * defaults, so that two busy cores cannot get a live node declared dead.
   */
  private Map<String, String> env(String prefix, boolean fastDeath) {
    return Map.of("REDIS_URL", RedisFixture.shared().uri(), "REDIS_KEY_PREFIX", prefix,
        "DRAIN_DELAY_SECONDS", "0",
        "SHUTDOWN_GRACE_SECONDS", "5",
        "NODE_HEARTBEAT_MS", fastDeath ? "200" : "1000",
        "NODE_TIMEOUT_MS", fastDeath ? "1000" : "5000",
        "RESUME_WINDOW_SECONDS", Integer.toString(WINDOW_SECONDS));
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
  private void connectPairs(List<NodeProcess> nodes) {
    for (int k = 0; k < PAIRS; k++) {
      String room = "pair-" + k;
      ResumingClient a = connect(nodes.get(k % nodes.size()), "a" + k, true);
      ResumingClient b = connect(nodes.get((k + 1) % nodes.size()), "b" + k, true);
      a.join(room);
      b.join(room);
      pairs.add(new Pair(room, a, b));
    }
    // Before any load: each a has heard its b join, so both know the other's id.
    Wait.until(vertx, () -> pairs.stream().allMatch(p -> p.a().events().size() == 1), Duration.ofSeconds(10),
        "every a heard peer-joined");
  }

  private void startLoad() {
    long period = 1000L / RATE_PER_SECOND;
    loadTimer = vertx.setPeriodic(period, id -> {
      for (Pair p : pairs) {
        send(p.a(), p.b(), p.room());
        send(p.b(), p.a(), p.room());
      }
    });
  }

  private static void send(ResumingClient from, ResumingClient to, String room) {
    // The counter is the relay's n: these are the only relays a client sends.
    long c = from.relaysSent() + 1;
    from.relay("signal", room, to.peer(), new JsonObject().put("s", from.name()).put("c", c));
  }

  private void stopLoad() {
    vertx.cancelTimer(loadTimer);
    loadTimer = -1;
  }

  private void awaitAllLive(Duration timeout) {
    Wait.until(vertx, () -> clients.stream().allMatch(c -> (c.state() == ResumingClient.State.LIVE || c.state() == ResumingClient.State.FAILED
            || c.state() == ResumingClient.State.CLOSED)), timeout, "every client live again");
  }

  private static long signalsFrom(ResumingClient receiver, ResumingClient sender) {
    return receiver.events().stream()
        .filter(r -> "signal".equals(r.type()) && sender.peer().equals(r.json().getString("from")))
        .count();
  }

  /** Waits, bounded, until every relay sent has been received by its pair's other peer. */
  private void awaitDelivery() {
    long deadline = System.nanoTime() + DELIVERY.toNanos();
    while (System.nanoTime() < deadline) {
      boolean done = true;
      for (Pair p : pairs) {
        if (signalsFrom(p.b(), p.a()) < p.a().relaysSent() || signalsFrom(p.a(), p.b()) < p.b().relaysSent()) {
          done = false;
          break;
        }
      }
      if (done) {
        return;
      }
      sleep(100);
    }
  }

  /**
   * Everything the document promises for the load, as a list of broken promises (empty when
   * all held); {@code except} is a peer whose {@code peer-left} is expected.
   */
  private List<String> check(String except) {
    List<String> broken = new ArrayList<>();
    long sent = 0;
    long received = 0;
    long repeated = 0;
    for (Pair p : pairs) {
      for (ResumingClient[] dir : new ResumingClient[][] {{p.a(), p.b()}, {p.b(), p.a()}}) {
        ResumingClient from = dir[0];
        ResumingClient to = dir[1];
        sent += from.relaysSent();
        List<Long> counters = new ArrayList<>();
        for (ResumingClient.Received r : to.events()) {
          if ("signal".equals(r.type())) {
            if (!from.peer().equals(r.json().getString("from"))) {
              broken.add(to.name() + ": signal from " + r.json().getString("from") + ", expected " + from.peer());
            }
            counters.add(r.json().getJsonObject("data").getLong("c"));
          }
        }
        received += counters.size();
        for (int i = 0; i < counters.size(); i++) {
          if (counters.get(i) != i + 1) {
            broken.add(to.name() + ": message " + (i + 1) + " from " + from.name() + " was " + counters.get(i)
                + " (around: " + counters.subList(Math.max(0, i - 3), Math.min(counters.size(), i + 4)) + ")");
            break;
          }
        }
        if (counters.size() != from.relaysSent()) {
          broken.add(to.name() + ": received " + counters.size() + " of " + from.relaysSent() + " from " + from.name());
        }
      }
    }
    for (ResumingClient c : clients) {
      repeated += c.repeatedSeqs();
      if (c.repeatedSeqs() > 0) {
        broken.add(c.name() + ": " + c.repeatedSeqs() + " numbered events received again after a resume");
      }
      for (String anomaly : c.anomalies()) {
        broken.add(c.name() + ": " + anomaly);
      }
      for (ResumingClient.Received r : c.events()) {
        if ("peer-left".equals(r.type()) && !r.json().getString("peer").equals(except)) {
          broken.add(c.name() + " heard " + r.json().encode());
        }
      }
      if (c.state() != ResumingClient.State.LIVE && !c.peer().equals(except)) {
        broken.add(c + " is not live at the end");
      }
    }
    System.out.printf("RESUME-IT messages: sent %d, received %d (each once, in order unless listed), "
        + "numbered events repeated by the server %d, broken promises %d%n", sent, received, repeated, broken.size());
    return broken;
  }

  private static void assertNoneBroken(List<String> broken) {
    assertTrue(broken.isEmpty(), broken.size() + " broken, first ones:\n  "
        + String.join("\n  ", broken.subList(0, Math.min(30, broken.size()))));
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
    Path logs = NodeProcess.logDirectory();
    Map<String, String> env = env(RedisFixture.uniquePrefix(), false);
    List<NodeProcess> initial = startNodes(env, logs, "roll-a", "roll-b", "roll-c");
    serving.addAll(initial);
    startClients();
    connectPairs(initial);
    Map<String, String> before = new java.util.HashMap<>();
    clients.forEach(c -> before.put(c.name(), c.peer()));
    startLoad();
    sleep(SETTLE.toMillis());

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
      sleep(SETTLE.toMillis());
    }
    stopLoad();
    awaitDelivery();

    long drops = clients.stream().mapToLong(c -> c.dropsAt().size()).sum();
    long resumes = clients.stream().mapToLong(c -> c.resumedAt().size()).sum();
    System.out.printf("RESUME-IT rolling: %d pairs at %d/s each way, %d drops, %d resumes, drop->resumed %s%n",
        PAIRS, RATE_PER_SECOND, drops, resumes, percentiles(gaps()));
    List<String> broken = check(null);
    for (ResumingClient c : clients) {
      if (!c.peer().equals(before.get(c.name()))) {
        broken.add(c.name() + " changed its peer id");
      }
    }
    assertTrue(drops >= PAIRS * 2L, "every client was on a drained node at least once; drops " + drops);
    assertNoneBroken(broken);
  }

  @Test
  void aKilledNodesClientsResumeElsewhereAndAPeerThatNeverReturnsExpires() throws Exception {
    Path logs = NodeProcess.logDirectory();
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
    startLoad();
    sleep(SETTLE.toMillis() + 1000);

    List<ResumingClient> moving = clients.stream()
        .filter(c -> c != loner && c.currentPort() == victim.port()).toList();
    // Before the kill, so that the loner does not even try to come back.
    loner.vanish();
    long killed = System.nanoTime();
    victim.kill();
    awaitAllLive(Duration.ofSeconds(WINDOW_SECONDS));
    List<Long> killToResumed = new ArrayList<>();
    for (ResumingClient c : moving) {
      c.resumedAt().stream().filter(t -> t > killed).findFirst()
          .ifPresentOrElse(t -> killToResumed.add((t - killed) / 1_000_000),
              () -> fail(c + " did not resume after the kill"));
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
    List<String> watcherSaw = watcher.events().stream().map(r -> r.type()).toList();
    assertTrue(watcherSaw.indexOf("peer-reconnecting") >= 0
        && watcherSaw.indexOf("peer-reconnecting") < watcherSaw.indexOf("peer-left"),
        "peer-reconnecting before peer-left: " + watcherSaw);

    stopLoad();
    awaitDelivery();
    clients.remove(loner);
    List<String> broken = check(loner.peer());
    // Only the watcher may hear of the loner; nothing else may leave anyone.
    assertNoneBroken(broken);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
