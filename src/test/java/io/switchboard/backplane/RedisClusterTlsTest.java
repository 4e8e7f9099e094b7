package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ClusterFixture;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.Tls;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Redis backplane on a Redis Cluster whose nodes require a password and speak only TLS (to
 * clients; the fixture has plain ports of its own), with a self-signed certificate for 127.0.0.1
 * that the backplane trusts through its CA file. The seeds' scheme and credentials must reach
 * every master: those the cluster client finds, and those the room listing opens clients to.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RedisClusterTlsTest {
  private static final String PASSWORD = "cluster-tls-pw";
  private static final long WAIT_MS = 5000;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static ClusterFixture cluster;
  private static Tls tls;
  private static Vertx vertx;

  private final List<Backplane> nodes = new ArrayList<>();
  private String prefix;

  @BeforeAll
  static void start() throws Exception {
    tls = Tls.selfSigned(Files.createTempDirectory("switchboard-cluster-tls"));
    cluster = ClusterFixture.start(PASSWORD, tls);
    vertx = Vertx.vertx();
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
  }

  @AfterEach
  void closeNodes() throws Exception {
    for (Backplane node : nodes) {
      await(node.close());
    }
  }

  @Test
  void relaysMembershipAndTheRoomListingReachEveryMasterOverTls() throws Exception {
    assertTrue(cluster.seedUrls().stream().allMatch(url -> url.startsWith("rediss://")), cluster.seedUrls().toString());
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", atB);
    Map<Integer, RoomId> rooms = roomOnEveryMaster();
    Map<RoomId, PeerId[]> pairs = new LinkedHashMap<>();
    for (RoomId room : rooms.values()) {
      PeerId atNodeA = PeerId.random(RANDOM);
      PeerId atNodeB = PeerId.random(RANDOM);
      pairs.put(room, new PeerId[] {atNodeA, atNodeB});
      await(a.join(room, new Member(atNodeA, "{}"), 10));
      JoinResult joined = await(b.join(room, new Member(atNodeB, "{}"), 10));
      assertEquals(List.of(new JoinResult.Placed(new Member(atNodeA, "{}"), "a")), joined.others(),
          "b's join sees a's member in " + room);
      await(b.subscribe(room));
    }
    for (RoomId room : rooms.values()) {
      PeerId[] pair = pairs.get(room);
      byte[] data = ("{\"room\":\"" + room.value() + "\"}").getBytes(StandardCharsets.UTF_8);
      await(a.publish(new BackplaneMessage("a", room, pair[1],
          new Relayed(RelayKind.SIGNAL, room, pair[0], new RawJson(data, 0, data.length)))));
    }
    Set<RoomId> heard = new HashSet<>();
    while (heard.size() < rooms.size()) {
      BackplaneMessage message = atB.poll(WAIT_MS, TimeUnit.MILLISECONDS);
      assertNotNull(message, "a relay in each of " + rooms.values() + " within " + WAIT_MS + " ms; heard " + heard);
      if (message.event() instanceof Relayed) {
        heard.add(message.room());
      }
    }
    for (RoomId room : rooms.values()) {
      assertEquals(2, await(a.members(room)).size(), "a sees both members of " + room);
    }
    RoomPage page = await(b.rooms(null, 100));
    assertEquals(Set.copyOf(rooms.values()),
        page.rooms().stream().map(RoomPage.RoomCount::room).collect(Collectors.toSet()),
        "the listing, gathered from every master, names every room");
    assertTrue(page.rooms().stream().allMatch(count -> count.members() == 2), page.rooms().toString());
    assertNull(page.nextCursor());
  }

  /**
   * The fixture's faults on a TLS cluster, where it talks on plain ports of its own but hands out
   * the ports the cluster announces: a room in use keeps relaying after its slot migrates (MIGRATE
   * between nodes over TLS), after a failover, and after its master is killed.
   */
  @Test
  void aRoomInUseOutlivesAMigrationAFailoverAndAKilledMaster() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", atB);
    RoomId room = new RoomId("room-" + Long.toHexString(RANDOM.nextLong()));
    PeerId atNodeA = PeerId.random(RANDOM);
    PeerId atNodeB = PeerId.random(RANDOM);
    await(a.join(room, new Member(atNodeA, "{}"), 10));
    await(b.join(room, new Member(atNodeB, "{}"), 10));
    await(b.subscribe(room));
    String key = prefix + ":{" + room.value() + "}:members";
    int slot = ClusterFixture.slot(key);
    Set<Integer> seedPorts = cluster.seedUrls().stream()
        .map(url -> Integer.parseInt(url.substring(url.lastIndexOf(':') + 1))).collect(Collectors.toSet());
    assertTrue(seedPorts.containsAll(cluster.masterPorts()), cluster.masterPorts() + " among " + seedPorts);

    int from = cluster.masterOfSlot(slot);
    int to = cluster.masterPorts().stream().filter(port -> port != from).findFirst().orElseThrow();
    cluster.migrateSlot(slot, to);
    assertEquals(to, cluster.masterOfSlot(slot));
    assertEquals("-MOVED " + slot + " 127.0.0.1:" + to, cluster.command(from, "EXISTS", key));
    assertRelayArrives(a, atB, room, atNodeA, atNodeB);
    assertEquals(2, await(b.members(room)).size(), "the room's keys moved with its slot");

    int promoted = cluster.failover(to);
    assertEquals(to, cluster.replicaOf(promoted));
    assertRelayArrives(a, atB, room, atNodeA, atNodeB);

    int replica = cluster.killMaster(promoted);
    assertEquals(replica, cluster.masterOfSlot(slot));
    assertRelayArrives(a, atB, room, atNodeA, atNodeB);
    assertEquals(2, await(a.members(room)).size(), "membership survives a killed master");
    cluster.restart(promoted);
    assertEquals(promoted, cluster.replicaOf(replica));
    assertTrue(cluster.pid(promoted) > 0);
  }

  @Test
  void aNodeThatDoesNotTrustTheCertificateDoesNotStart() {
    // No CA file: the JVM's default trust store, which knows nothing of a self-signed certificate.
    Backplane node = node("untrusting", "");
    Exception failed = assertThrows(Exception.class, () -> await(node.start(new IgnoringListener())));
    // The client names each seed's failure in its message: the handshake, not an outage or a timeout.
    String message = String.valueOf(failed.getMessage());
    assertTrue(message.contains("SSLHandshakeException") && message.contains("PKIX"), failed.toString());
  }

  // Relays are lost while a slot's master changes, until the client follows the redirection: one
  // is sent every 200 ms until one arrives.
  private static void assertRelayArrives(Backplane from, LinkedBlockingQueue<BackplaneMessage> inbox, RoomId room,
      PeerId sender, PeerId recipient) throws InterruptedException {
    byte[] data = "{}".getBytes(StandardCharsets.UTF_8);
    BackplaneMessage relay = new BackplaneMessage("a", room, recipient,
        new Relayed(RelayKind.SIGNAL, room, sender, new RawJson(data, 0, data.length)));
    inbox.clear();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (System.nanoTime() < deadline) {
      from.publish(relay);
      BackplaneMessage got = inbox.poll(200, TimeUnit.MILLISECONDS);
      if (got != null && got.event() instanceof Relayed) {
        return;
      }
    }
    throw new AssertionError("no relay in " + room + " arrived within 15 s");
  }

  // One room per master, keyed by the master's port: each master owns the slot of its room's keys.
  private Map<Integer, RoomId> roomOnEveryMaster() {
    Map<Integer, RoomId> rooms = new LinkedHashMap<>();
    List<Integer> masters = cluster.masterPorts();
    while (rooms.size() < masters.size()) {
      RoomId room = new RoomId("room-" + Long.toHexString(RANDOM.nextLong()));
      rooms.putIfAbsent(cluster.masterOfSlot(ClusterFixture.slot(prefix + ":{" + room.value() + "}:members")), room);
    }
    return rooms;
  }

  private Backplane started(String nodeId, LinkedBlockingQueue<BackplaneMessage> inbox) throws Exception {
    Backplane node = node(nodeId, tls.cert().toString());
    await(node.start(new IgnoringListener() {
      @Override
      public void onMessage(BackplaneMessage message) {
        inbox.add(message);
      }
    }));
    return node;
  }

  private Backplane node(String nodeId, String tlsCaFile) {
    Backplane node = new RedisBackplane(vertx, RedisTarget.cluster(cluster.seedUrls()), tlsCaFile, prefix, nodeId,
        200, 1000, 2000, SignalingMetrics.NOOP, RedisBackplane.Resume.OFF);
    nodes.add(node);
    return node;
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }
}
