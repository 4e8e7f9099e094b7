package io.switchboard.backplane;

import ch.qos.logback.classic.Level;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ClusterFixture;
import io.switchboard.support.ControllableProxy;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.LogCapture;
import io.switchboard.support.RecordingListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ResumingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.Member;
import io.switchboard.wire.RoomId;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Resume on a Redis Cluster (three masters with a replica each, local processes). The contract of
 * every resumable backplane runs in the spread layout, where rooms and sessions spread over the
 * masters by their own hash tags and each step touches one slot (docs/clustering.md, "Resume,
 * spread"); then: that they do spread, and that a failover or a migration of the master that
 * holds a room and its recipient's session loses no event a node accepted. With
 * {@code REDIS_WAIT_REPLICAS}, every key and channel takes the prefix as its hash tag instead.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class RedisClusterResumeTest extends ResumeContractTest {
  private static ClusterFixture cluster;
  private static Vertx vertx;
  private String prefix;
  // REDIS_WAIT_REPLICAS of the nodes newNode makes, and whether they ask for the one-slot layout.
  private int waitReplicas;
  private boolean oneSlot;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    cluster = ClusterFixture.start();
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      vertx.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
    waitReplicas = 0;
    oneSlot = false;
  }

  /**
   * Twelve rooms, each with a resumable session on each of two nodes and a relay between them:
   * every master holds rooms, sessions and room channels, and each relay is numbered and stored
   * for its recipient wherever its room and the two sessions are.
   */
  @Test
  void roomsAndSessionsSpreadOverEveryMaster() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    for (int i = 0; i < 12; i++) {
      SessionPair pair = sessionPair(a, b);
      await(a.publish(new BackplaneMessage("a", pair.room(), pair.receiver().peer(),
          relayed(pair.room(), pair.sender().peer(), "r" + i), 1, Map.of())));
      BackplaneMessage heard = numberedFor(inboxB, pair.receiver());
      assertEquals("r" + i, ((Relayed) heard.event()).data().toString());
      assertEquals(Map.of(pair.receiver().peer(), 1L), heard.seqs());
      assertEquals(List.of(1L), await(b.replay(pair.receiver().peer(), 0)).stream().map(Numbered::seq).toList());
    }
    for (int master : cluster.masterPorts()) {
      List<?> rooms = (List<?>) cluster.command(master, "KEYS", prefix + ":{room-*}:members");
      List<?> sessions = (List<?>) cluster.command(master, "KEYS", prefix + ":resume:{*}");
      List<?> channels = (List<?>) cluster.command(master, "PUBSUB", "SHARDCHANNELS", prefix + ":{*}:events");
      assertTrue(!rooms.isEmpty() && !sessions.isEmpty() && !channels.isEmpty(),
          "master " + master + " holds rooms " + rooms + ", sessions " + sessions + ", channels " + channels);
    }
  }

  @Test
  void inTheOneSlotLayoutEveryKeyAndChannelLivesOnTheMasterOfThePrefixsSlot() throws Exception {
    oneSlot = true;
    everyKeyAndChannelLivesOnTheMasterOfThePrefixsSlot();
  }

  @Test
  void withWaitReplicasEveryKeyAndChannelLivesOnTheMasterOfThePrefixsSlot() throws Exception {
    waitReplicas = 1;
    everyKeyAndChannelLivesOnTheMasterOfThePrefixsSlot();
  }

  private void everyKeyAndChannelLivesOnTheMasterOfThePrefixsSlot() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    SessionPair pair = sessionPair(a, b);
    RoomId room = pair.room();
    Member sender = pair.sender();
    Member receiver = pair.receiver();
    await(a.publish(new BackplaneMessage("a", room, receiver.peer(), relayed(room, sender.peer(), "1"), 1, Map.of())));
    assertEquals("1", ((Relayed) numberedFor(inboxB, receiver).event()).data().toString());

    int home = cluster.masterOfSlot(ClusterFixture.slot("{" + prefix + "}"));
    for (int master : cluster.masterPorts()) {
      List<?> keys = (List<?>) cluster.command(master, "KEYS", "*" + prefix + "*");
      List<?> channels = (List<?>) cluster.command(master, "PUBSUB", "SHARDCHANNELS", "*" + prefix + "*");
      if (master == home) {
        // The room's members, counter and channel, both sessions with a buffer, the nodes.
        assertTrue(keys.size() >= 7, "the keys on the prefix's master: " + keys);
        assertTrue(channels.contains("{" + prefix + "}:{" + room.value() + "}:events"), "channels: " + channels);
      } else {
        assertEquals(List.of(), keys, "keys on master " + master);
        assertEquals(List.of(), channels, "channels on master " + master);
      }
    }
  }

  /**
   * A node dies: the reaper puts its resumable member in its gap and removes the other one, and
   * another node claims the session; its session in no room gets its gap too.
   */
  @Test
  void aDeadNodesSessionGoesIntoItsGapAndIsClaimedElsewhere() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atA = new LinkedBlockingQueue<>();
    RoomId room = freshRoom();
    Member resumable = session();
    Member plain = member();
    Member watcher = session();
    // Never started, so never heartbeating: dead once the registry knows it.
    Backplane dead = newNode("d");
    nodes.add(dead);
    await(dead.register(resumable.peer(), TOKEN, null));
    Member roomless = session();
    await(dead.register(roomless.peer(), TOKEN, null));
    await(dead.join(room, resumable, 10));
    await(dead.join(room, plain, 10));
    Backplane a = started("a", atA);
    await(a.register(watcher.peer(), TOKEN, null));
    await(a.join(room, watcher, 10));
    await(a.subscribe(room));
    String registry = prefix + ":{nodes}";
    cluster.command(cluster.masterOfSlot(ClusterFixture.slot(registry)), "ZADD", registry,
        Long.toString(System.currentTimeMillis() - 10_000), "d");

    Set<Object> heard = new HashSet<>();
    heard.add(numberedFor(atA, watcher).event());
    heard.add(numberedFor(atA, watcher).event());
    assertEquals(Set.of(new PeerReconnecting(room, resumable.peer()),
        new PeerLeft(room, plain.peer(), LeaveReason.NODE_LOST)), heard);
    assertEquals(List.of(room), await(a.claim(resumable.peer(), TOKEN, null, 0, "b".repeat(64))).rooms().stream()
        .map(io.switchboard.wire.RoomMeta::room).toList());
    assertEquals(Set.of("a"), await(a.members(room)).stream().map(JoinResult.Placed::node)
        .collect(java.util.stream.Collectors.toSet()));

    // Its session in no room is given its gap when the node is buried, the last step of the reap.
    String gaps = prefix + ":{nodes}:gaps";
    int nodesMaster = cluster.masterOfSlot(ClusterFixture.slot(gaps));
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (cluster.command(nodesMaster, "ZSCORE", gaps, roomless.peer().value()) == null) {
      assertTrue(System.nanoTime() < deadline, "the dead node's session in no room never got its gap");
      Thread.sleep(20);
    }
    assertTrue(await(a.claim(roomless.peer(), TOKEN, null, 0, "b".repeat(64))).gapSinceMillis() > 0,
        "claimed from its gap");
  }

  /**
   * A rolling restart that turns REDIS_WAIT_REPLICAS on (or off) with resume on runs nodes of
   * both layouts at once, whose rooms do not meet: a node that starts beside live nodes of the
   * other layout says so.
   */
  @Test
  void aNodeStartingBesideNodesOfTheOtherLayoutWarns() throws Exception {
    waitReplicas = 1;
    Backplane spread = new RedisBackplane(vertx, RedisTarget.cluster(cluster.seedUrls()), "", prefix, "spread-node",
        200, 1000, 2000, SignalingMetrics.NOOP, RedisBackplane.Resume.OFF);
    nodes.add(spread);
    await(spread.start(new IgnoringListener()));
    try (LogCapture log = LogCapture.attach(Level.WARN)) {
      started("one-slot-node", new LinkedBlockingQueue<>());
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (log.lines().stream().noneMatch(line -> line.contains("[spread-node]"))) {
        assertTrue(System.nanoTime() < deadline, "no warning naming the other layout's node: " + log.lines());
        Thread.sleep(20);
      }
      assertTrue(log.lines().stream().anyMatch(line -> line.contains("(spread there)")), log.lines().toString());
    }
  }

  @Test
  void aFailoverOfTheMasterLosesNothingThatWasAcceptedAndTheNodesStayReady() throws Exception {
    assertEquals(0, streamNumberedRelaysThrough((master, slots) -> cluster.failover(master), "CLUSTER FAILOVER"),
        "probes that found a node unready (every 20 ms, both nodes)");
  }

  /**
   * The slots of the room and of its recipient's session migrate to another master while relays
   * stream: keys move in batches, so for a while a script's keys are split between the two
   * (Redis answers TRYAGAIN or ASK), and a relay refused meanwhile is sent again. The nodes stay
   * ready.
   */
  @Test
  void aMigrationOfTheRoomsAndTheRecipientsSlotsLosesNothingThatWasAccepted() throws Exception {
    assertEquals(0, streamNumberedRelaysThrough((master, slots) -> {
      int to = cluster.masterPorts().stream().filter(port -> port != master).findFirst().orElseThrow();
      for (int slot : slots) {
        cluster.migrateSlot(slot, to);
      }
      return to;
    }, "migration of the slots"), "probes that found a node unready (every 20 ms, both nodes)");
  }

  /**
   * The master is SIGKILLed: until its replica is elected (after the cluster's node timeout)
   * there is no master for anything, so the nodes turn unready and refuse relays, which are sent
   * again; a relay the dead master accepted reached its replica first, or this fails.
   */
  @Test
  void aKilledMasterLosesNothingThatWasAccepted() throws Exception {
    int[] killed = new int[1];
    streamNumberedRelaysThrough((master, slots) -> {
      killed[0] = master;
      return cluster.killMaster(master);
    }, "SIGKILL of the master");
    cluster.restart(killed[0]);
  }

  /**
   * {@code REDIS_WAIT_REPLICAS=1}: a numbered relay counts only once the replica of the master
   * holding everything has it, and is published only then. With that replica frozen, a relay and
   * a registration are refused, and the recipient's node hears nothing of the relay, though it
   * hears an event nobody numbered (nobody would send that again). Sent again once the replica
   * runs, the relay is found stored, in its place, and the recipient's node is told to read its
   * buffer again.
   */
  @Test
  void withWaitReplicasARelayCountsAndIsHeardOnlyOnceTheMastersReplicaHasIt() throws Exception {
    waitReplicas = 1;
    Backplane waiting = started("waiting", new LinkedBlockingQueue<>());
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<RoomId> rereadAtB = new LinkedBlockingQueue<>();
    Backplane b = startedTelling("b", atB, rereadAtB);
    SessionPair pair = sessionPair(waiting, b);
    RoomId room = pair.room();
    Member sender = pair.sender();
    Member receiver = pair.receiver();
    LongFunction<BackplaneMessage> relay = n -> new BackplaneMessage("waiting", room,
        receiver.peer(), relayed(room, sender.peer(), Long.toString(n)), n, Map.of());
    await(waiting.publish(relay.apply(1)));
    assertEquals("1", ((Relayed) numberedFor(atB, receiver).event()).data().toString());

    int master = cluster.masterOfSlot(ClusterFixture.slot("{" + prefix + "}"));
    try (AutoCloseable frozen = cluster.pause(cluster.replicaOf(master))) {
      Exception refused = assertThrows(Exception.class,
          () -> await(waiting.publish(relay.apply(2))));
      assertTrue(String.valueOf(refused.getMessage()).contains("replicas"), refused.toString());
      assertThrows(Exception.class,
          () -> await(waiting.register(session().peer(), TOKEN, null)),
          "a new session is not there until a replica has it either");
      // Not numbered by its sender (as membership events are not): nobody would send it again,
      // so it is heard though its wait failed.
      BackplaneMessage unnumbered = new BackplaneMessage("waiting", room, receiver.peer(),
          relayed(room, sender.peer(), "unnumbered"), 0, Map.of());
      assertThrows(Exception.class, () -> await(waiting.publish(unnumbered)));
      assertEquals("unnumbered", ((Relayed) numberedFor(atB, receiver).event()).data().toString(),
          "relay 2, stored but refused, was not heard; the unnumbered event after it was");
    }
    await(waiting.publish(relay.apply(2)));
    assertEquals(room, rereadAtB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS),
        "relay 2, found stored when sent again, sends its recipient's node to its buffer");
    List<String> stored = new ArrayList<>();
    for (Numbered numbered : await(b.replay(receiver.peer(), 0))) {
      stored.add(((Relayed) numbered.message().event()).data().toString());
    }
    assertEquals(List.of("1", "2", "unnumbered"), stored);
    assertEquals(null, atB.poll(200, TimeUnit.MILLISECONDS), "nothing else heard");
  }

  /**
   * A SIGKILL of the master after its replica fell behind (cut off for 1.5 s), with
   * {@code REDIS_WAIT_REPLICAS=1}: the replica is elected without the master's last writes, and
   * none of them had counted, so nothing accepted is lost. (With 0 the master alone accepts the
   * relays of those 1.5 s, and the new master does not have them.) The promoted replica has no
   * replica of its own until the killed master rejoins as one: until then every relay is refused
   * and sent again.
   */
  @Test
  void withWaitReplicasAKilledMasterWhoseReplicaLaggedLosesNothingThatWasAccepted() throws Exception {
    waitReplicas = 1;
    streamNumberedRelaysThrough((master, slots) -> {
      int promoted = cluster.killMasterWithLaggingReplica(master, 1500);
      cluster.restart(master);
      return promoted;
    }, "SIGKILL of the master after its replica lagged 1.5 s, REDIS_WAIT_REPLICAS=" + waitReplicas);
  }

  /**
   * Two servers on the cluster: Alice's socket to one is cut without a close frame, Bob (on the
   * other) hears her reconnecting and sends her three signals meanwhile, and she resumes on Bob's
   * server: the same peer id, the three in order, and Bob hears her back.
   */
  private static List<ResumingClient.Received> signals(ResumingClient client) {
    return client.events().stream().filter(r -> "signal".equals(r.json().getString("type"))).toList();
  }

  @Test
  void aClientCutOffOneServerResumesOnTheOtherWithNothingLost() {
    Map<String, String> env = Map.of("REDIS_MODE", "cluster", "REDIS_URL", String.join(",", cluster.seedUrls()),
        "REDIS_KEY_PREFIX", prefix, "RESUME_WINDOW_SECONDS", "30", "EVENT_LOOPS", "1");
    try (ServerFixture one = ServerFixture.start(with(env, "NODE_ID", "one"));
        ServerFixture two = ServerFixture.start(with(env, "NODE_ID", "two"));
        ControllableProxy proxy = ControllableProxy.to("127.0.0.1", one.port());
        ResumingClient alice = ResumingClient.connect(one.clientVertx(), one.webSocketClient(), proxy.port(), "alice",
            new ResumingClient.Options().reconnect(false))) {
      TestClient bob = two.track(TestClient.open(two.webSocketClient(),
          TestClient.options(two.port(), "/ws?resume=1", null), "bob"));
      bob.welcome();
      bob.join("call");
      alice.join("call");
      String a = alice.peer();
      assertEquals(a, bob.next("peer-joined").getString("peer"));

      proxy.cutAll();
      one.awaitCondition(() -> alice.state() == ResumingClient.State.GAP, WAIT, "alice saw her socket drop");
      assertEquals(a, bob.next("peer-reconnecting").getString("peer"));
      for (int c = 1; c <= 3; c++) {
        bob.sendJson(new JsonObject().put("type", "signal").put("room", "call").put("to", a)
            .put("data", new JsonObject().put("c", c)).put("n", c));
      }

      JsonObject resumed = alice.awaitResume(alice.resumeOn(two.port()), WAIT);
      assertEquals("resumed", resumed.getString("type"), resumed.encode());
      assertEquals(a, resumed.getString("peer"));
      try {
        // Signals only: bob's peer-joined, published after his join's reply, can reach alice
        // numbered even though her own join's roster already listed him.
        two.awaitCondition(() -> signals(alice).size() == 3, WAIT, "alice processed bob's three signals");
      } catch (AssertionError e) {
        // Seen once in several CI runs and not reproduced since: say what each side had.
        throw new AssertionError(e.getMessage() + "; alice got " + alice.frames().stream()
            .map(r -> r.connection() + ":" + r.json().encode()).toList() + ", anomalies " + alice.anomalies()
            + "; bob has unread " + unread(bob), e);
      }
      List<Integer> counters = new ArrayList<>();
      for (ResumingClient.Received r : signals(alice)) {
        counters.add(r.json().getJsonObject("data").getInteger("c"));
      }
      assertEquals(List.of(1, 2, 3), counters, "in order, each once");
      assertEquals(a, bob.next("peer-resumed").getString("peer"));
      alice.relay("signal", "call", bob.peerId(), new JsonObject().put("back", true));
      assertEquals(a, bob.next("signal").getString("from"));
    }
  }

  /**
   * Two servers with {@code REDIS_WAIT_REPLICAS=1}: while the replica of the master holding
   * everything is frozen, Bob's numbered signal to Alice is refused with {@code unavailable} and
   * Alice hears nothing. Sent again once the replica runs, it is found stored, and the refetch
   * notice brings it to Alice from her buffer, once.
   */
  @Test
  void withWaitReplicasARefusedSignalSentAgainReachesItsRecipientOnce() throws Exception {
    Map<String, String> env = Map.of("REDIS_MODE", "cluster", "REDIS_URL", String.join(",", cluster.seedUrls()),
        "REDIS_KEY_PREFIX", prefix, "RESUME_WINDOW_SECONDS", "30", "EVENT_LOOPS", "1", "REDIS_WAIT_REPLICAS", "1");
    try (ServerFixture one = ServerFixture.start(with(env, "NODE_ID", "one"));
        ServerFixture two = ServerFixture.start(with(env, "NODE_ID", "two"))) {
      TestClient alice = one.track(TestClient.open(one.webSocketClient(),
          TestClient.options(one.port(), "/ws?resume=1", null), "alice"));
      TestClient bob = two.track(TestClient.open(two.webSocketClient(),
          TestClient.options(two.port(), "/ws?resume=1", null), "bob"));
      alice.welcome();
      bob.welcome();
      alice.join("call");
      bob.join("call");
      alice.nextOfType("peer-joined", WAIT);
      JsonObject signal = new JsonObject().put("type", "signal").put("room", "call").put("to", alice.peerId())
          .put("id", "s1").put("n", 1).put("data", new JsonObject().put("c", 1));

      int master = cluster.masterOfSlot(ClusterFixture.slot("{" + prefix + "}"));
      try (AutoCloseable frozen = cluster.pause(cluster.replicaOf(master))) {
        bob.sendJson(signal);
        JsonObject refused = bob.nextOfType("error", WAIT);
        assertEquals("unavailable", refused.getString("code"), refused.encode());
        assertEquals("s1", refused.getString("id"), refused.encode());
        alice.expectNothing(java.time.Duration.ofMillis(500));
      }
      bob.sendJson(signal);
      JsonObject heard = alice.nextOfType("signal", WAIT);
      assertEquals(1, heard.getJsonObject("data").getInteger("c"), heard.encode());
      alice.expectNothing(java.time.Duration.ofMillis(500));
    }
  }

  private static List<String> unread(TestClient client) {
    List<String> frames = new ArrayList<>();
    for (TestClient.Frame f = client.pollNow(); f != null && frames.size() < 50; f = client.pollNow()) {
      frames.add(f.toString());
    }
    return frames;
  }

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    Map<String, String> out = new HashMap<>(base);
    out.put(key, value);
    return out;
  }

  /**
   * Node a sends numbered relays to a session on node b, one every 20 ms, each sent again with
   * its number until it is accepted (as the client library does with a relay refused as
   * unavailable), while 'fault' is done to the master holding everything. Then the session's
   * buffer must hold every accepted relay once, in order, numbered without a gap, and what b
   * heard live must be a part of it in the same order (what it missed live, the node fetches
   * from the buffer once told its subscription is back: docs/protocol.md, "Resume"). Returns how many readiness probes (every 20
   * ms, both nodes) found a node unready meanwhile.
   */
  private int streamNumberedRelaysThrough(Fault fault, String name) throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Set<RoomId> missedAtB = ConcurrentHashMap.newKeySet();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = startedTelling("b", inboxB, missedAtB);
    SessionPair pair = pairOnOneMaster(a, b);
    List<Integer> slots = homeSlots(pair);
    RoomId room = pair.room();
    Member sender = pair.sender();
    Member receiver = pair.receiver();

    AtomicLong accepted = new AtomicLong();
    AtomicLong refusals = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    Thread sending = new Thread(() -> {
      long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      for (long n = 1; n <= 3000 && !stop.get() && System.nanoTime() < giveUp; n++) {
        BackplaneMessage relay = new BackplaneMessage("a", room, receiver.peer(),
            relayed(room, sender.peer(), Long.toString(n)), n, Map.of());
        while (System.nanoTime() < giveUp) {
          try {
            a.publish(relay).await(5, TimeUnit.SECONDS);
            accepted.set(n);
            break;
          } catch (Throwable refused) {
            // Any failure (some of Vert.x's are not Exceptions): sent again, as a client would.
            refusals.incrementAndGet();
            sleep(50);
          }
        }
        sleep(20);
      }
    }, "numbered-relays");
    sending.start();
    List<Boolean> readiness = new java.util.concurrent.CopyOnWriteArrayList<>();
    long watch = vertx.setPeriodic(20, id -> {
      readiness.add(a.ready());
      readiness.add(b.ready());
    });
    long faultStarted;
    long faultEnded;
    try {
      awaitAccepted(accepted, 10);
      int master = cluster.masterOfSlot(slots.get(0));
      faultStarted = System.nanoTime();
      fault.apply(master, slots);
      faultEnded = System.nanoTime();
      awaitAccepted(accepted, accepted.get() + 25);
    } finally {
      vertx.cancelTimer(watch);
      stop.set(true);
      sending.join(10_000);
    }
    assertTrue(missedAtB.contains(room), "node b was told that its subscription to the room was cut and is back");
    long last = accepted.get();
    int unready = (int) readiness.stream().filter(ready -> !ready).count();

    List<Numbered> stored = await(b.replay(receiver.peer(), 0));
    List<String> storedData = new ArrayList<>();
    for (int i = 0; i < stored.size(); i++) {
      assertEquals(i + 1, stored.get(i).seq(), "numbered without a gap");
      storedData.add(((Relayed) stored.get(i).message().event()).data().toString());
    }
    List<String> expected = new ArrayList<>();
    for (long n = 1; n <= last; n++) {
      expected.add(Long.toString(n));
    }
    assertEquals(expected, storedData, "every accepted relay stored once, in order");

    List<Long> live = new ArrayList<>();
    for (BackplaneMessage got = inboxB.poll(500, TimeUnit.MILLISECONDS); got != null;
        got = inboxB.poll(500, TimeUnit.MILLISECONDS)) {
      Long seq = got.seqs().get(receiver.peer());
      if (seq != null) {
        live.add(seq);
        assertEquals(storedData.get((int) (seq - 1)), ((Relayed) got.event()).data().toString(),
            "heard live under number " + seq + " what is stored under it");
      }
    }
    for (int k = 1; k < live.size(); k++) {
      assertTrue(live.get(k) > live.get(k - 1), "heard live in order, once each: " + live);
    }
    System.out.printf("CLUSTER-RESUME %s: %d relays accepted, all stored; %d refusals sent again; %d of them "
            + "heard live; the fault took %d ms; %d of %d readiness probes unready%n", name, last, refusals.get(),
        live.size(), TimeUnit.NANOSECONDS.toMillis(faultEnded - faultStarted), unready, readiness.size());
    return unready;
  }

  /** What a test does to the master of {@code slots}; answers the master they are on after it. */
  private interface Fault {
    int apply(int master, List<Integer> slots) throws Exception;
  }

  /**
   * A session pair whose room and recipient's session are on one master, so that a fault of that
   * master hits the relays' stores and their channel alike (only one slot with a replica wait).
   */
  private SessionPair pairOnOneMaster(Backplane from, Backplane at) throws Exception {
    for (int attempt = 0; attempt < 20; attempt++) {
      SessionPair pair = sessionPair(from, at);
      List<Integer> slots = homeSlots(pair);
      if (slots.stream().map(cluster::masterOfSlot).distinct().count() == 1) {
        return pair;
      }
    }
    throw new AssertionError("no room and session on one master in 20 tries");
  }

  // The slots that hold the pair's room and its recipient's session.
  private List<Integer> homeSlots(SessionPair pair) {
    if (waitReplicas > 0) {
      return List.of(ClusterFixture.slot("{" + prefix + "}"));
    }
    return List.of(ClusterFixture.slot("{" + pair.room().value() + "}"),
        ClusterFixture.slot("{" + pair.receiver().peer().value() + "}"));
  }

  /** A started node whose messages go to {@code inbox}, and the rooms it must read again to {@code missed}. */
  private Backplane startedTelling(String nodeId, Collection<BackplaneMessage> inbox, Collection<RoomId> missed)
      throws Exception {
    Backplane node = newNode(nodeId);
    nodes.add(node);
    await(node.start(new RecordingListener(inbox, missed)));
    return node;
  }

  private static void awaitAccepted(AtomicLong accepted, long atLeast) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (accepted.get() < atLeast) {
      assertTrue(System.nanoTime() < deadline, "only " + accepted.get() + " relays accepted, waiting for " + atLeast);
      Thread.sleep(20);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static BackplaneMessage numberedFor(LinkedBlockingQueue<BackplaneMessage> inbox, Member peer)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      BackplaneMessage got = inbox.poll(50, TimeUnit.MILLISECONDS);
      if (got != null && got.seqs().containsKey(peer.peer())) {
        return got;
      }
    }
    throw new AssertionError("no numbered message for " + peer.peer());
  }

  @Override
  protected Backplane newNode(String nodeId) {
    // A WAIT that times out holds the node's heartbeat for up to half the command timeout: the
    // node timeout must outlast it, as the defaults' does, or a frozen replica looks like dead nodes.
    long nodeTimeoutMs = waitReplicas > 0 ? 3000 : 1000;
    RedisTarget target = RedisTarget.cluster(cluster.seedUrls());
    return new RedisBackplane(vertx, oneSlot ? target.inOneSlot() : target, "", prefix, nodeId, 200, nodeTimeoutMs,
        2000, SignalingMetrics.NOOP, new RedisBackplane.Resume(30_000, DEFAULT_BUFFERED_EVENTS, 1 << 20, waitReplicas));
  }

  /**
   * The contract of every resumable backplane on the same cluster in the one-slot layout asked for
   * with {@code REDIS_CLUSTER_LAYOUT=one-slot} and no replica wait (docs/clustering.md, "Two
   * layouts"): the session scripts touch a session's keys and its rooms' in one step, as on a
   * standalone server.
   */
  @Nested
  class OneSlot extends ResumeContractTest {
    @BeforeEach
    void askForOneSlot() {
      oneSlot = true;
    }

    /** A server started with {@code REDIS_CLUSTER_LAYOUT=one-slot} heartbeats in the prefix's slot. */
    @Test
    void theSettingPutsAServersKeysInThePrefixsSlot() {
      try (ServerFixture server = ServerFixture.start(Map.of("REDIS_MODE", "cluster", "REDIS_URL",
          String.join(",", cluster.seedUrls()), "REDIS_KEY_PREFIX", prefix, "REDIS_CLUSTER_LAYOUT", "one-slot",
          "NODE_ID", "one-slot-server"))) {
        int home = cluster.masterOfSlot(ClusterFixture.slot("{" + prefix + "}"));
        assertEquals(List.of("{" + prefix + "}:node:one-slot-server"),
            cluster.command(home, "KEYS", "{" + prefix + "}:node:one-slot-server"));
      }
    }

    @Override
    protected Backplane newNode(String nodeId) {
      return RedisClusterResumeTest.this.newNode(nodeId);
    }
  }
}
