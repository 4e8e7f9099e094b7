package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;

import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ClusterFixture;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Tls;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Redis backplane on a real Redis Cluster (three masters, three replicas, all local
 * processes, each requiring a password), with resume off: the contract every backplane meets (resume on a
 * cluster: {@link RedisClusterResumeTest}), then sharded relays and membership with rooms on every shard, capacity under
 * racing joins from several nodes, reaping, and what a failover, a killed master and a migrated
 * slot do to rooms that are in use. One cluster serves the class; every test leaves it with three
 * masters with one replica each. {@link RedisClusterTlsTest} runs all of it again over TLS.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class RedisClusterBackplaneTest extends BackplaneContractTest {
  private static final long WAIT_MS = 5000;
  static final String PASSWORD = "cluster-pw";
  /** How long relays may be lost while a slot changes hands: measured, and printed, below it. */
  private static final long RECOVERY_BOUND_MS = 10_000;
  static ClusterFixture cluster;
  // With TLS (RedisClusterTlsTest), the certificate every node serves and the nodes trust.
  static Tls tls;
  static Vertx vertx;

  String prefix;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  // The cluster is started before the first test rather than in start(), so that a subclass's
  // own @BeforeAll, which runs after this class's, can ask for TLS first.
  @BeforeEach
  void cluster() {
    if (cluster == null) {
      // With a password on every node: the seeds' credentials must reach every master the client
      // finds, and the per-master clients of the room listing.
      cluster = ClusterFixture.start(PASSWORD, tls);
    }
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      vertx.close();
    }
    if (cluster != null) {
      cluster.close();
    }
    cluster = null;
    tls = null;
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  @Test
  void relaysAndMembershipCrossNodesWithRoomsOnEveryShard() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", atB);
    Map<Integer, List<RoomId>> byMaster = roomsOnEveryMaster(3);
    List<RoomId> rooms = byMaster.values().stream().flatMap(List::stream).toList();
    Map<RoomId, PeerId[]> pairs = new HashMap<>();
    for (RoomId room : rooms) {
      PeerId atNodeA = peer();
      PeerId atNodeB = peer();
      pairs.put(room, new PeerId[] {atNodeA, atNodeB});
      await(a.join(room, new Member(atNodeA, "{\"n\":\"a\"}"), 10));
      JoinResult joined = await(b.join(room, new Member(atNodeB, "{}"), 10));
      assertEquals(List.of(new JoinResult.Placed(new Member(atNodeA, "{\"n\":\"a\"}"), "a")), joined.others(),
          "b's join sees a's member in " + room);
      await(b.subscribe(room));
    }
    for (RoomId room : rooms) {
      await(a.publish(relay(room, pairs.get(room)[0], pairs.get(room)[1], "{\"room\":\"" + room.value() + "\"}")));
    }
    Set<RoomId> heard = new HashSet<>();
    for (int i = 0; i < rooms.size(); i++) {
      heard.add(next(atB).room());
    }
    assertEquals(new HashSet<>(rooms), heard, "one relay in every room, each shard carrying some");
    for (int master : cluster.masterPorts()) {
      assertTrue(Integer.parseInt(String.valueOf(cluster.command(master, "DBSIZE"))) > 0,
          "master " + master + " holds room keys");
    }
  }

  @Test
  void aWrongPasswordStopsStartUp() {
    List<String> wrong = cluster.seedUrls().stream().map(url -> url.replace(PASSWORD, "wrong")).toList();
    Backplane node = node(wrong, "w");
    Exception failed = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
        () -> await(node.start(new io.switchboard.support.IgnoringListener())));
    assertTrue(failed.getMessage() != null, failed.toString());
  }

  @Test
  void anAclUserReachesEveryMasterAndTheListing() throws Exception {
    // Set on every running node now: a node the fault tests restarted lost what was set before.
    cluster.commandOnEveryNode("ACL", "SETUSER", "switchboard", "on", ">acl-pw", "~*", "&*", "+@all");
    List<String> seeds = cluster.seedUrls().stream()
        .map(url -> url.replace("://:" + PASSWORD + "@", "://switchboard:acl-pw@")).toList();
    Map<Integer, List<RoomId>> byMaster = roomsOnEveryMaster(1);
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    Backplane a = started(node(seeds, "a"), new LinkedBlockingQueue<>());
    Backplane b = started(node(seeds, "b"), atB);
    for (RoomId room : byMaster.values().stream().flatMap(List::stream).toList()) {
      PeerId atA = peer();
      PeerId atBPeer = peer();
      await(a.join(room, new Member(atA, "{}"), 10));
      assertEquals(1, await(b.join(room, new Member(atBPeer, "{}"), 10)).others().size());
      await(b.subscribe(room));
      await(a.publish(relay(room, atA, atBPeer, "{}")));
      assertEquals(room, next(atB).room());
    }
    assertEquals(3, await(a.rooms(null, 100)).rooms().size(), "the listing's own clients log in as the user too");
  }

  @Test
  void aRoomNeverOverfillsUnderJoinsRacingFromSeveralNodes() throws Exception {
    List<Backplane> racers = List.of(started("a", new LinkedBlockingQueue<>()),
        started("b", new LinkedBlockingQueue<>()), started("c", new LinkedBlockingQueue<>()));
    RoomId room = room();
    List<Future<JoinResult>> joins = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      joins.add(racers.get(i % racers.size()).join(room, new Member(peer(), "{}"), 5));
    }
    int admitted = 0;
    for (Future<JoinResult> join : joins) {
      try {
        join.await(WAIT_MS, TimeUnit.MILLISECONDS);
        admitted++;
      } catch (SignalingException full) {
        assertEquals(ErrorCode.ROOM_FULL, full.code());
      }
    }
    assertEquals(5, admitted);
    assertEquals(5, await(racers.get(0).members(room)).size());
  }

  @Test
  void aDeadNodesMembersAreReapedWhereverTheirRoomsLive() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atA = new LinkedBlockingQueue<>();
    List<RoomId> rooms = roomsOnEveryMaster(1).values().stream().flatMap(List::stream).toList();
    Backplane dead = node("d");
    Map<RoomId, PeerId> lost = new HashMap<>();
    for (RoomId room : rooms) {
      lost.put(room, peer());
      await(dead.join(room, new Member(lost.get(room), "{}"), 10));
    }
    Backplane a = started("a", atA);
    for (RoomId room : rooms) {
      await(a.subscribe(room));
    }
    // Known to the registry and never heartbeating: dead as far as the reaper can tell.
    cluster.command(cluster.masterOfSlot(ClusterFixture.slot(prefix + ":{nodes}")), "ZADD", prefix + ":{nodes}",
        Long.toString(System.currentTimeMillis() - 10_000), "d");
    Set<BackplaneMessage> heard = new HashSet<>();
    for (int i = 0; i < rooms.size(); i++) {
      heard.add(next(atA));
    }
    for (BackplaneMessage message : heard) {
      assertEquals(new PeerLeft(message.room(), lost.get(message.room()), LeaveReason.NODE_LOST), message.event());
    }
    for (RoomId room : rooms) {
      assertEquals(List.of(), await(a.members(room)));
    }
  }

  @Test
  void relaysComeBackAfterAFailoverAndAfterAMasterIsKilled() throws Exception {
    Call call = call();
    Backplane a = call.a();
    Backplane b = call.b();
    RoomId room = call.room();
    int slot = ClusterFixture.slot(prefix + ":{" + room.value() + "}:members");

    Outage failover = streamThrough(call, () -> cluster.failover(cluster.masterOfSlot(slot)));
    assertEquals(2, await(a.members(room)).size(), "membership survives the failover");
    // The new master never ran a script (replication copies a script's writes, not the script):
    // NOSCRIPT is answered by sending it.
    await(b.join(room, new Member(peer(), "{}"), 10));

    int master = cluster.masterOfSlot(slot);
    Outage kill = streamThrough(call, () -> cluster.killMaster(master));
    assertEquals(3, await(a.members(room)).size(), "membership survives a killed master (its replica had it)");
    await(b.join(room, new Member(peer(), "{}"), 10));
    cluster.restart(master);
    System.out.printf("CLUSTER-IT CLUSTER FAILOVER: %s; SIGKILL of a master: %s%n", failover, kill);
  }

  @Test
  void relaysGoOnWhenARoomsSlotMigratesWhileInUse() throws Exception {
    Call call = call();
    Backplane a = call.a();
    Backplane b = call.b();
    RoomId room = call.room();
    await(a.publish(relay(room, call.atA(), call.atB(), "{\"before\":true}")));
    assertEquals(room, next(call.atNodeB()).room());
    int slot = ClusterFixture.slot(prefix + ":{" + room.value() + "}:members");
    int from = cluster.masterOfSlot(slot);
    int to = cluster.masterPorts().stream().filter(port -> port != from).findFirst().orElseThrow();

    Outage migration = streamThrough(call, () -> cluster.migrateSlot(slot, to));
    assertEquals(2, await(b.members(room)).size(), "the room's keys moved with its slot");
    System.out.printf("CLUSTER-IT slot migration: %s%n", migration);
  }

  @Test
  void aSlotMovingWhereANodeHasNoChannelLeavesItsRoomsAlone() throws Exception {
    Call call = call();
    int roomSlot = ClusterFixture.slot(prefix + ":{" + call.room().value() + "}:events");
    int controlSlot = ClusterFixture.slot(prefix + ":control");
    int roomMaster = cluster.masterOfSlot(roomSlot);
    // A slot on another master, where neither node listens: as in a reshard of others' rooms.
    int slot;
    int from;
    do {
      slot = ClusterFixture.slot(prefix + ":{" + room().value() + "}:events");
      from = cluster.masterOfSlot(slot);
    } while (from == roomMaster || slot == controlSlot);
    int movedSlot = slot;
    int source = from;
    int to = cluster.masterPorts().stream().filter(port -> port != source && port != roomMaster).findFirst()
        .orElseThrow();
    Outage outage = migrateWhileStreaming(call, movedSlot, to);
    assertEquals(0, outage.lost(), "relays in a room whose slot did not move: " + outage);
  }

  @Test
  void aSlotMovingMovesOnlyItsOwnRoomsWhileTheNodeStaysReady() throws Exception {
    Call call = call();
    int controlSlot = ClusterFixture.slot(prefix + ":control");
    int streamSlot = ClusterFixture.slot(prefix + ":{" + call.room().value() + "}:events");
    RoomId moving;
    int slot;
    do {
      moving = room();
      slot = ClusterFixture.slot(prefix + ":{" + moving.value() + "}:events");
    } while (slot == controlSlot || slot == streamSlot);
    PeerId onA = peer();
    PeerId onB = peer();
    await(call.a().join(moving, new Member(onA, "{}"), 10));
    await(call.b().join(moving, new Member(onB, "{}"), 10));
    await(call.b().subscribe(moving));
    int movedSlot = slot;
    int from = cluster.masterOfSlot(slot);
    int to = cluster.masterPorts().stream().filter(port -> port != from).findFirst().orElseThrow();
    Outage outage = migrateWhileStreaming(call, movedSlot, to);
    assertEquals(0, outage.lost(), "relays in a room whose slot did not move, beside one whose slot did: " + outage);

    // The moved room's channel now lives on its new master, and node b hears it there.
    call.atNodeB().clear();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    boolean heard = false;
    while (!heard && System.nanoTime() < deadline) {
      call.a().publish(relay(moving, onA, onB, "{\"after\":1}"));
      BackplaneMessage got = call.atNodeB().poll(200, TimeUnit.MILLISECONDS);
      heard = got != null && got.room().equals(moving);
    }
    assertTrue(heard, "a relay in the moved room reaches node b");
    assertEquals(2, await(call.b().members(moving)).size(), "its members stay listed");
  }

  @Test
  void twoServersOnTheClusterCarryACallBetweenTheirClients() {
    Map<String, String> cluster = new HashMap<>(Map.of(
        "REDIS_MODE", "cluster",
        "REDIS_URL", String.join(",", RedisClusterBackplaneTest.cluster.seedUrls()),
        "REDIS_KEY_PREFIX", prefix,
        "RESUME_WINDOW_SECONDS", "0",
        "EVENT_LOOPS", "1"));
    if (tls != null) {
      cluster.put("REDIS_TLS_CA_FILE", tlsCaFile());
    }
    try (ServerFixture one = ServerFixture.start(with(cluster, "NODE_ID", "one"));
        ServerFixture two = ServerFixture.start(with(cluster, "NODE_ID", "two"))) {
      for (RoomId room : roomsOnEveryMaster(1).values().stream().flatMap(List::stream).toList()) {
        TestClient alice = one.connect();
        TestClient bob = two.connect();
        alice.join(room.value(), null);
        assertEquals(alice.peerId(), bob.join(room.value(), null).getJsonArray("peers").getJsonObject(0).getString("peer"));
        assertEquals(bob.peerId(), alice.next("peer-joined").getString("peer"));
        bob.send("{\"type\":\"offer\",\"room\":\"" + room.value() + "\",\"to\":\"" + alice.peerId()
            + "\",\"data\":{\"sdp\":\"v=0\"}}");
        assertEquals(bob.peerId(), alice.next("offer").getString("from"));
        alice.send("{\"type\":\"answer\",\"room\":\"" + room.value() + "\",\"to\":\"" + bob.peerId()
            + "\",\"data\":{\"sdp\":\"v=0\"}}");
        assertEquals(alice.peerId(), bob.next("answer").getString("from"));
        bob.close();
        assertEquals(bob.peerId(), alice.next("peer-left").getString("peer"));
        alice.close();
      }
    }
  }

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    Map<String, String> out = new HashMap<>(base);
    out.put(key, value);
    return out;
  }

  /** Two started nodes and a room with a member on each, b subscribed: what b receives lands in atNodeB. */
  private record Call(Backplane a, Backplane b, RoomId room, PeerId atA, PeerId atB,
      LinkedBlockingQueue<BackplaneMessage> atNodeB) {}

  private Call call() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atNodeB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", atNodeB);
    RoomId room = room();
    PeerId atA = peer();
    PeerId atB = peer();
    await(a.join(room, new Member(atA, "{}"), 10));
    await(b.join(room, new Member(atB, "{}"), 10));
    await(b.subscribe(room));
    return new Call(a, b, room, atA, atB, atNodeB);
  }

  /**
   * Migrates 'slot' to the master on port 'to' while a relay stream runs in the call's room, and
   * checks that node b stayed ready throughout.
   */
  private Outage migrateWhileStreaming(Call call, int slot, int to) throws Exception {
    List<Boolean> readiness = new java.util.concurrent.CopyOnWriteArrayList<>();
    long watch = vertx.setPeriodic(20, id -> readiness.add(call.b().ready()));
    Outage outage;
    try {
      // Long enough for every node's reading of CLUSTER SLOTS (once a second) to see the move.
      outage = streamThrough(call, () -> {
        cluster.migrateSlot(slot, to);
        Thread.sleep(2 * 1000);
      });
    } finally {
      vertx.cancelTimer(watch);
    }
    assertTrue(!readiness.isEmpty() && !readiness.contains(false), "b stayed ready: " + readiness);
    return outage;
  }

  /** What a fault cost a stream of relays: how many were lost, all sent within 'windowMs' of its start. */
  private record Outage(int lost, long windowMs) {
    @Override
    public String toString() {
      return lost + " relays lost, all sent within " + windowMs
          + " ms after the fault began; none before, none after, none twice, none out of order";
    }
  }

  private interface Fault {
    void run() throws Exception;
  }

  /**
   * Streams numbered relays from 'from' (one every 20 ms, on a thread of its own) while 'fault'
   * runs, until half a second of them has arrived after it, and checks what arrived: none twice,
   * none out of order, none lost among those sent before the fault began, and every loss among
   * relays sent within RECOVERY_BOUND_MS of that.
   *
   * <p>Out of order was possible before ForwardedPublishes: Redis 7.0 runs an SPUBLISH sent to a
   * replica of the channel's master (the old master, to a node whose slot map is not read again
   * yet) and passes it to the shard's other nodes over the cluster bus, later than one sent to the
   * master directly, and relays 33, 35, 34 were seen after a failover here.
   */
  private static Outage streamThrough(Call call, Fault fault) throws Exception {
    Backplane from = call.a();
    LinkedBlockingQueue<BackplaneMessage> inbox = call.atNodeB();
    RoomId room = call.room();
    PeerId sender = call.atA();
    PeerId recipient = call.atB();
    inbox.clear();
    Map<Integer, Long> sentAt = new java.util.concurrent.ConcurrentHashMap<>();
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    Thread sending = new Thread(() -> {
      for (int i = 0; i < 1500 && !stop.get(); i++) {
        sentAt.put(i, System.nanoTime());
        from.publish(relay(room, sender, recipient, "{\"i\":" + i + "}"));
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "relay-stream");
    List<Integer> received = new ArrayList<>();
    sending.start();
    try {
      while (received.size() < 10) {
        BackplaneMessage got = next(inbox);
        if (got.event() instanceof Relayed) {
          received.add(number(got));
        }
      }
      long faultAt = System.nanoTime();
      fault.run();
      long deadline = faultAt + TimeUnit.MILLISECONDS.toNanos(RECOVERY_BOUND_MS) + TimeUnit.SECONDS.toNanos(1);
      int afterFault = 0;
      while (afterFault < 25) {
        BackplaneMessage got = inbox.poll(50, TimeUnit.MILLISECONDS);
        assertTrue(System.nanoTime() < deadline, "relays did not flow again within " + RECOVERY_BOUND_MS + " ms");
        if (got != null && got.event() instanceof Relayed) {
          int i = number(got);
          received.add(i);
          afterFault += sentAt.get(i) > faultAt ? 1 : 0;
        }
      }
      stop.set(true);
      sending.join(1000);
      for (BackplaneMessage late = inbox.poll(500, TimeUnit.MILLISECONDS); late != null;
          late = inbox.poll(500, TimeUnit.MILLISECONDS)) {
        if (late.event() instanceof Relayed) {
          received.add(number(late));
        }
      }
      Set<Integer> arrived = new HashSet<>(received);
      assertEquals(received.size(), arrived.size(), "once each: " + received);
      long windowEnd = faultAt;
      int highest = -1;
      for (int i : received) {
        assertTrue(i > highest, "relay " + i + " arrived after a later one: " + received);
        highest = i;
      }
      int lost = 0;
      for (int i = 0; i <= highest; i++) {
        if (!arrived.contains(i)) {
          lost++;
          assertTrue(sentAt.get(i) >= faultAt, "relay " + i + " was lost, sent before the fault began");
          windowEnd = Math.max(windowEnd, sentAt.get(i));
        }
      }
      long windowMs = TimeUnit.NANOSECONDS.toMillis(windowEnd - faultAt);
      assertTrue(windowMs <= RECOVERY_BOUND_MS, "relays lost for " + windowMs + " ms: " + received);
      return new Outage(lost, windowMs);
    } finally {
      stop.set(true);
      sending.join(1000);
    }
  }

  private static int number(BackplaneMessage message) {
    String data = ((Relayed) message.event()).data().toString();
    return Integer.parseInt(data.substring(data.indexOf(':') + 1, data.indexOf('}')));
  }

  // Rooms whose keys live on each master, 'each' per master.
  private Map<Integer, List<RoomId>> roomsOnEveryMaster(int each) {
    Map<Integer, List<RoomId>> byMaster = new HashMap<>();
    for (int master : cluster.masterPorts()) {
      byMaster.put(master, new ArrayList<>());
    }
    while (byMaster.values().stream().anyMatch(rooms -> rooms.size() < each)) {
      RoomId room = room();
      List<RoomId> here = byMaster.get(cluster.masterOfSlot(ClusterFixture.slot(prefix + ":{" + room.value() + "}:members")));
      if (here.size() < each) {
        here.add(room);
      }
    }
    return byMaster;
  }

  @Override
  protected Backplane newNode(String nodeId) {
    return new RedisBackplane(vertx, RedisTarget.cluster(cluster.seedUrls()), tlsCaFile(), prefix, nodeId, 200, 1000,
        2000, SignalingMetrics.NOOP, RedisBackplane.Resume.OFF);
  }

  // The CA file nodes trust: the cluster's certificate with TLS, else none (the JVM's own).
  static String tlsCaFile() {
    return tls == null ? "" : tls.cert().toString();
  }

  // A node that is never started: it joins, but neither heartbeats nor subscribes.
  private Backplane node(String id) {
    Backplane node = newNode(id);
    nodes.add(node);
    return node;
  }

  // A node, not started, on these seeds (other credentials than the cluster's own).
  private Backplane node(List<String> seeds, String id) {
    return node(seeds, id, tlsCaFile());
  }

  // The same, trusting the CAs in caFile ("": the JVM's own).
  Backplane node(List<String> seeds, String id, String caFile) {
    Backplane node = new RedisBackplane(vertx, RedisTarget.cluster(seeds), caFile, prefix, id, 200, 1000, 2000,
        SignalingMetrics.NOOP, RedisBackplane.Resume.OFF);
    nodes.add(node);
    return node;
  }

  private Backplane started(Backplane node, LinkedBlockingQueue<BackplaneMessage> inbox) throws Exception {
    await(node.start(new io.switchboard.support.IgnoringListener() {
      @Override
      public void onMessage(BackplaneMessage message) {
        inbox.add(message);
      }
    }));
    return node;
  }

  private static BackplaneMessage relay(RoomId room, PeerId from, PeerId to, String data) {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    return new BackplaneMessage("a", room, to,
        new Relayed(RelayKind.SIGNAL, room, from, new RawJson(bytes, 0, bytes.length)));
  }

  private static BackplaneMessage next(LinkedBlockingQueue<BackplaneMessage> inbox) throws InterruptedException {
    BackplaneMessage message = inbox.poll(WAIT_MS, TimeUnit.MILLISECONDS);
    assertTrue(message != null, "a message within " + WAIT_MS + " ms");
    return message;
  }

  private static PeerId peer() {
    return PeerId.random(RANDOM);
  }

  private RoomId room() {
    return freshRoom();
  }
}
