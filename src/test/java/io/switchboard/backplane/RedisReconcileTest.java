package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.Wait;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The periodic reconciliation: every subscribed room's membership, as Redis stores it, reaches
 * the listener's {@code reconcile} on the backplane's own context; rooms no longer subscribed do
 * not.
 */
class RedisReconcileTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final SecureRandom RANDOM = new SecureRandom();

  private Vertx vertx;
  private final List<RedisBackplane> nodes = new ArrayList<>();
  private String prefix;
  // Room -> what the last reconcile call for it carried.
  private final Map<RoomId, List<JoinResult.Placed>> reconciled = new ConcurrentHashMap<>();
  private final List<String> wrongThread = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    prefix = RedisFixture.uniquePrefix();
  }

  @AfterEach
  void tearDown() {
    for (RedisBackplane node : nodes) {
      Wait.await(node.close(), WAIT);
    }
    Wait.await(vertx.close(), WAIT);
  }

  // NODE_TIMEOUT_MS 200: a round every 600 ms +-20%.
  private RedisBackplane node(String id) {
    RedisBackplane node = new RedisBackplane(vertx, RedisFixture.shared().uri(), "", prefix, id, 100, 200, 2000,
        SignalingMetrics.NOOP);
    nodes.add(node);
    Context[] seen = new Context[1];
    Wait.await(node.start(new IgnoringListener() {
      @Override
      public void reconcile(RoomId room, List<JoinResult.Placed> members) {
        Context now = Vertx.currentContext();
        if (now == null || (seen[0] != null && seen[0] != now)) {
          wrongThread.add(Thread.currentThread().getName());
        }
        seen[0] = now;
        reconciled.put(room, members);
      }
    }), WAIT);
    return node;
  }

  @Test
  void everySubscribedRoomIsHandedToReconcileWithItsStoredMembers() {
    RedisBackplane a = node("a");
    RedisBackplane b = node("b");
    RoomId kept = new RoomId("kept-" + Long.toHexString(RANDOM.nextLong()));
    RoomId dropped = new RoomId("dropped-" + Long.toHexString(RANDOM.nextLong()));
    Member onB = new Member(PeerId.random(RANDOM), "{\"x\":1}");
    Wait.await(a.subscribe(kept), WAIT);
    Wait.await(a.subscribe(dropped), WAIT);
    Wait.await(b.join(kept, onB, 10), WAIT);
    Wait.until(vertx, () -> reconciled.containsKey(dropped)
            && List.of(new JoinResult.Placed(onB, "b")).equals(reconciled.get(kept)),
        WAIT, "a round saw both rooms, and b's member in 'kept'");

    Wait.await(a.unsubscribe(dropped), WAIT);
    // From here on no round can hand 'dropped' over: it is checked when the members arrive.
    reconciled.clear();
    Wait.until(vertx, () -> reconciled.containsKey(kept), WAIT, "a round after the unsubscribe");
    assertFalse(reconciled.containsKey(dropped), "an unsubscribed room was reconciled");
    assertEquals(List.of(), wrongThread, "reconcile ran off the backplane's context");
    assertTrue(b.ready());
  }
}
