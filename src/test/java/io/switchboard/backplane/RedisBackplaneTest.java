package io.switchboard.backplane;

import io.switchboard.signaling.port.Backplane;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.RedisFixture;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.switchboard.signaling.port.Disconnect;
import io.vertx.redis.client.Request;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The contract, on the Redis backplane: nodes of one test share one Redis key prefix. */
class RedisBackplaneTest extends ResumeContractTest {
  private static Vertx vertx;
  private String prefix;

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeVertx() {
    vertx.close();
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  /**
   * Where other keys outnumber the rooms' (other clusters, other prefixes), one SCAN batch holds
   * few rooms or none: a page then takes several SCAN calls, may come back short, and the walk
   * still lists every room once.
   */
  @Test
  void roomsPagesThroughAKeyspaceWhereRoomsAreSparse() throws Exception {
    Redis direct = Redis.createClient(vertx, RedisFixture.shared().uri());
    String noise = RedisFixture.uniquePrefix();
    Request fill = Request.cmd(Command.MSET);
    for (int i = 0; i < 3000; i++) {
      fill.arg(noise + ":{room-" + i + "}:members").arg("not a hash of this cluster");
    }
    try {
      await(direct.send(fill));
      Backplane a = started("a", new LinkedBlockingQueue<>());
      Set<RoomId> expected = new HashSet<>();
      for (int i = 0; i < 30; i++) {
        RoomId room = freshRoom();
        await(a.join(room, new Member(PeerId.random(new SecureRandom()), "{}"), 10));
        expected.add(room);
      }
      List<RoomId> listed = new ArrayList<>();
      String cursor = null;
      int pages = 0;
      do {
        RoomPage page = await(a.rooms(cursor, 7));
        assertTrue(page.rooms().size() <= 7);
        page.rooms().forEach(c -> listed.add(c.room()));
        cursor = page.nextCursor();
        assertTrue(++pages <= 200, "the walk ends");
      } while (cursor != null);
      assertEquals(expected, new HashSet<>(listed));
      assertEquals(listed.size(), new HashSet<>(listed).size(), "no room twice while nothing changes");
    } finally {
      Request clean = Request.cmd(Command.DEL);
      for (int i = 0; i < 3000; i++) {
        clean.arg(noise + ":{room-" + i + "}:members");
      }
      await(direct.send(clean));
      direct.close();
    }
  }

  /**
   * A subscriber of the control channel that never replies stands for a node that hangs: the
   * request fails after the command timeout instead of answering "no such peer".
   */
  @Test
  void disconnectFailsWhenANodeDoesNotAnswerInTime() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Redis silent = Redis.createClient(vertx, RedisFixture.shared().uri());
    try {
      RedisConnection connection = await(silent.connect());
      connection.handler(push -> { }); // hears every request, answers none
      await(connection.send(Request.cmd(Command.SUBSCRIBE).arg(prefix + ":control")));
      long started = System.nanoTime();
      Exception failed = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> await(a.disconnect(new Disconnect(PeerId.random(new SecureRandom()), 4003, "x"))));
      long tookMs = (System.nanoTime() - started) / 1_000_000;
      assertTrue(failed.getMessage().contains("not every node answered"), failed.toString());
      assertTrue(tookMs >= 1500 && tookMs < 4000, "after the 2 s command timeout: " + tookMs + " ms");
    } finally {
      silent.close();
    }
  }

  @Override
  protected Backplane newNode(String nodeId) {
    return new RedisBackplane(vertx, RedisTarget.standalone(RedisFixture.shared().uri()), "", prefix,
        nodeId, 200, 1000, 2000, SignalingMetrics.NOOP,
        new RedisBackplane.Resume(30_000, DEFAULT_BUFFERED_EVENTS, 1 << 20));
  }
}
