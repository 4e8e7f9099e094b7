package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.SentinelFixture;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * {@code REDIS_WAIT_REPLICAS}: a session write counts only once a replica has it, so what a node
 * accepted outlives a failover. On a master, a replica and three sentinels (local processes).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisReplicaWaitTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final long COMMAND_TIMEOUT_MS = 1000;
  private static final long WAIT_MS = 10_000;
  private static Vertx vertx;
  private static SentinelFixture sentinels;

  private final List<RedisBackplane> nodes = new ArrayList<>();

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    sentinels = SentinelFixture.start();
  }

  @AfterAll
  static void stop() {
    if (sentinels != null) {
      sentinels.close();
    }
    vertx.close();
  }

  @AfterEach
  void closeNodes() throws Exception {
    for (RedisBackplane node : nodes) {
      await(node.close());
    }
  }

  @Test
  @Order(1)
  void aNumberedRelayCountsOnlyOnceAReplicaHasItAndItsRetryIsStoredOnce() throws Exception {
    String prefix = RedisFixture.uniquePrefix();
    RedisBackplane waiting = node("waiting", prefix, 1);
    RedisBackplane notWaiting = node("not-waiting", prefix, 0);
    Pair pair = pair(waiting);
    RoomId room = pair.room();
    PeerId from = pair.from();
    PeerId to = pair.to();
    await(waiting.publish(relay(room, from, to, 1)));

    try (AutoCloseable paused = sentinels.pauseReplicas()) {
      Exception refused = assertThrows(Exception.class, () -> await(waiting.publish(relay(room, from, to, 2))));
      assertTrue(String.valueOf(refused.getMessage()).contains("replicas"), refused.toString());
      assertThrows(Exception.class, () -> await(waiting.register(PeerId.random(RANDOM, true), "x", null)),
          "a new session is not there until a replica has it either");
      // Without waiting, the master's word is enough: this is what a failover may lose.
      await(notWaiting.publish(relay(room, from, to, 3)));
    }
    // The client sends 2 again, as after any `unavailable`: stored once, in its place.
    await(waiting.publish(relay(room, from, to, 2)));
    assertEquals(List.of(1L, 2L, 3L), relayNumbers(await(waiting.replay(to, 0))));
  }

  @Test
  @Order(2) // last: the old master needs about 10 s to become a replica again
  void everyRelayAcceptedAroundAFailoverIsOnTheNewMaster() throws Exception {
    String prefix = RedisFixture.uniquePrefix();
    RedisBackplane node = node("node", prefix, 1);
    Pair pair = pair(node);
    RoomId room = pair.room();
    PeerId from = pair.from();
    PeerId to = pair.to();

    // A client's loop: each relay is sent until accepted, then the next one.
    Thread failover = new Thread(() -> sentinels.failover(), "failover");
    long last = 0;
    int refusals = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    failover.start();
    boolean refused = false;
    // Until the failover is over and 400 are accepted, and never stopping on a refused one: a
    // refused relay may still have been stored, and only sending it again settles it.
    while ((failover.isAlive() || last < 400 || refused) && System.nanoTime() < deadline) {
      try {
        await(node.publish(relay(room, from, to, last + 1)));
        last++;
        refused = false;
      } catch (Exception e) {
        refused = true;
        refusals++;
        Thread.sleep(20);
      }
    }
    failover.join(TimeUnit.SECONDS.toMillis(30));
    // Sentinel turns the old master into a replica about 10 s after an asked failover: until
    // then it takes writes that are not passed on, and a node that still wrote there would have
    // them acknowledged by nobody.
    RedisBackplane fresh = node("fresh", prefix, 1);
    List<Long> stored = relayNumbers(await(fresh.replay(to, 0)));
    List<Long> accepted = LongStream.rangeClosed(1, last).boxed().toList();
    List<Long> missing = accepted.stream().filter(n -> !stored.contains(n)).toList();
    System.out.printf("REPLICA-WAIT failover: %d relays accepted, %d refusals (each sent again), %d accepted but "
        + "missing on the new master%n", last, refusals, missing.size());
    assertEquals(accepted, stored, "every accepted relay once, in order; missing " + missing);
  }

  private record Pair(RoomId room, PeerId from, PeerId to) {}

  /** Two resumable sessions on {@code node}, members of a fresh room. */
  private static Pair pair(RedisBackplane node) throws Exception {
    Pair pair = new Pair(new RoomId("wait-" + Long.toHexString(RANDOM.nextLong())), PeerId.random(RANDOM, true),
        PeerId.random(RANDOM, true));
    for (PeerId peer : List.of(pair.from(), pair.to())) {
      await(node.register(peer, "token-" + peer.value(), null));
      await(node.join(pair.room(), new Member(peer, "{}"), 10));
    }
    return pair;
  }

  private RedisBackplane node(String id, String prefix, int waitReplicas) throws Exception {
    RedisBackplane node = new RedisBackplane(vertx, RedisTarget.sentinel(SentinelFixture.MASTER,
        sentinels.sentinelUrls()), "", prefix, id, 200, 3000, COMMAND_TIMEOUT_MS, SignalingMetrics.NOOP,
        new RedisBackplane.Resume(30_000, 100_000, 64 << 20, waitReplicas));
    nodes.add(node);
    await(node.start(new IgnoringListener()));
    return node;
  }

  private static BackplaneMessage relay(RoomId room, PeerId from, PeerId to, long n) {
    byte[] data = ("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8);
    return new BackplaneMessage("test", room, to, new Relayed(RelayKind.SIGNAL, room, from,
        new RawJson(data, 0, data.length)), n, Map.of());
  }

  private static List<Long> relayNumbers(List<Numbered> stored) {
    return stored.stream().map(n -> ((Relayed) n.message().event()).data().toString())
        .map(text -> Long.parseLong(text.replaceAll("[^0-9]", ""))).toList();
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }
}
