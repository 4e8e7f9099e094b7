package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ControllableProxy;
import io.switchboard.support.ControllableProxy.Direction;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.Wait;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A relay to one resumable peer is stored with plain commands, so Redis no longer tells a
 * retransmission apart: the node does, and a resume must first fence off the node that held the
 * session (docs/clustering.md, "Resumable sessions"). Node "a" reaches Redis through a {@link
 * ControllableProxy}, so that the test decides when its stores arrive; node "b" resumes the
 * session. Without the fence, b reads the accepted relay number while a's store is still held,
 * and the client's retransmission of that relay is stored twice.
 */
class RedisFenceTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final RedisBackplane.Resume RESUME = new RedisBackplane.Resume(30_000, 1000, 1 << 20);

  private Vertx vertx;
  private ControllableProxy proxy;
  private Redis direct;
  private String prefix;
  private final List<RedisBackplane> nodes = new ArrayList<>();
  private final RoomId room = new RoomId("room-" + Long.toHexString(RANDOM.nextLong()));
  private final PeerId sender = PeerId.random(RANDOM, true);
  private final PeerId recipient = PeerId.random(RANDOM, true);

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    proxy = ControllableProxy.toRedis(RedisFixture.shared().uri());
    direct = Redis.createClient(vertx, RedisFixture.shared().uri());
    prefix = RedisFixture.uniquePrefix();
  }

  @AfterEach
  void tearDown() {
    try {
      proxy.resume(Direction.TO_CLIENT);
      proxy.resume(Direction.TO_SERVER);
      for (RedisBackplane node : nodes) {
        Wait.await(node.close().transform(ar -> Future.succeededFuture()), WAIT);
      }
    } finally {
      proxy.close();
      Wait.await(direct.close(), WAIT);
      Wait.await(vertx.close(), WAIT);
    }
  }

  @Test
  void aResumeReadsWhatTheSessionAcceptedOnlyAfterThePreviousNodesStoresLanded() {
    RedisBackplane a = started("a", proxy.redisUri(RedisFixture.shared().uri()), 5000);
    RedisBackplane b = started("b", RedisFixture.shared().uri(), 5000);
    sessionsInOneRoom(a, b);
    Wait.await(a.publish(relay(1)), WAIT);

    proxy.stop(Direction.TO_SERVER);
    Future<Void> held = a.publish(relay(2));
    Future<Claim> claim = b.claim(sender, "t", null, 0, "t2");
    // a answers the fence behind its held store: the answer waits in the proxy, and so does b.
    proxy.await(() -> proxy.held(Direction.TO_SERVER).contains(" reply "), WAIT, "a's answer to the fence");
    assertFalse(claim.isComplete(), "the claim waits for the answer");

    proxy.resume(Direction.TO_SERVER);
    Wait.await(held, WAIT);
    assertEquals(2, Wait.await(claim, WAIT).acked(), "the relay a stored last counts as accepted");
    assertEquals(2, storedFor(recipient));
  }

  @Test
  void aPreviousNodeThatDoesNotAnswerHasItsPublisherConnectionClosed() {
    RedisBackplane a = started("a", proxy.redisUri(RedisFixture.shared().uri()), 5000);
    RedisBackplane b = started("b", RedisFixture.shared().uri(), 1000);
    sessionsInOneRoom(a, b);
    Wait.await(a.publish(relay(1)), WAIT);

    proxy.stop(Direction.TO_SERVER);
    Future<Void> held = a.publish(relay(2));
    Claim claim = Wait.await(b.claim(sender, "t", null, 0, "t2"), WAIT);
    assertEquals(1, claim.acked(), "a's store never reached Redis");

    proxy.resume(Direction.TO_SERVER);
    Wait.await(held.transform(ar -> Future.succeededFuture(ar.succeeded())), WAIT);
    assertTrue(held.failed(), "its connection was closed before Redis read the store");
    assertEquals(1, storedFor(recipient), "so it was never stored: the client's retransmission is the only copy");
    assertEquals("1", hget(session(sender), "in"));
  }

  @Test
  void aPreviousNodeThatIsGoneIsNotWaitedFor() {
    RedisBackplane a = started("a", RedisFixture.shared().uri(), 5000);
    RedisBackplane b = started("b", RedisFixture.shared().uri(), 5000);
    sessionsInOneRoom(a, b);
    Wait.await(a.publish(relay(1)), WAIT);
    nodes.remove(a);
    Wait.await(a.close(), WAIT);

    long start = System.nanoTime();
    assertEquals(1, Wait.await(b.claim(sender, "t", null, 0, "t2"), WAIT).acked());
    assertTrue(System.nanoTime() - start < 4_000_000_000L, "answered well within the fence's timeout");
  }

  @Test
  void aStoreThatWentUnansweredSendsTheSendersNextRelayThroughTheScript() throws Exception {
    RedisBackplane a = started("a", proxy.redisUri(RedisFixture.shared().uri()), 500);
    RedisBackplane b = started("b", RedisFixture.shared().uri(), 5000);
    sessionsInOneRoom(a, b);
    LinkedBlockingQueue<String> heard = listen();

    proxy.stop(Direction.TO_CLIENT);
    Future<Void> unanswered = a.publish(relay(1));
    Wait.await(unanswered.transform(ar -> Future.succeededFuture()), WAIT);
    assertTrue(unanswered.failed(), "no answer within the command timeout");
    proxy.resume(Direction.TO_CLIENT);
    // Its heartbeat went unanswered too: the node may be connecting again.
    Wait.until(vertx, a::ready, WAIT, "a ready");
    assertEquals(1, storedFor(recipient), "stored all the same");
    assertNull(heard.poll(200, TimeUnit.MILLISECONDS), "and never published");

    Wait.await(a.publish(relay(1)), WAIT);
    assertEquals(1, storedFor(recipient), "the retransmission went through publish.lua, which found it stored");
    String refetch = heard.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertTrue(refetch != null && refetch.startsWith("1 a refetch "), "and told the room's nodes to read it: " + refetch);

    Wait.await(a.publish(relay(2)), WAIT);
    assertEquals(2, storedFor(recipient));
    String published = heard.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertTrue(published != null && published.contains(" " + recipient.value() + ":2\n"),
        "the next relay is a plain store again, published with its number: " + published);
  }

  // What the room's channel carries, as a plain subscriber hears it.
  private LinkedBlockingQueue<String> listen() {
    LinkedBlockingQueue<String> heard = new LinkedBlockingQueue<>();
    RedisConnection connection = Wait.await(direct.connect(), WAIT);
    connection.handler(push -> {
      if (push.size() == 3 && "message".equals(push.get(0).toString())) {
        heard.add(push.get(2).toString());
      }
    });
    Wait.await(connection.send(Request.cmd(Command.SUBSCRIBE).arg(prefix + ":{" + room.value() + "}:events")), WAIT);
    return heard;
  }

  private RedisBackplane started(String id, String uri, long commandTimeoutMs) {
    RedisBackplane node = new RedisBackplane(vertx, RedisTarget.standalone(uri), "", prefix, id, 200, 5000,
        commandTimeoutMs, SignalingMetrics.NOOP, RESUME);
    nodes.add(node);
    Wait.await(node.start(new IgnoringListener()), WAIT);
    return node;
  }

  // The sender's session on a, the recipient's on b, both in one room.
  private void sessionsInOneRoom(RedisBackplane a, RedisBackplane b) {
    Wait.await(a.register(sender, "t", null), WAIT);
    Wait.await(b.register(recipient, "u", null), WAIT);
    Wait.await(a.join(room, new Member(sender, "{}"), 10), WAIT);
    Wait.await(b.join(room, new Member(recipient, "{}"), 10), WAIT);
  }

  private BackplaneMessage relay(long n) {
    byte[] data = ("{\"n\":" + n + "}").getBytes(StandardCharsets.UTF_8);
    return new BackplaneMessage("a", room, recipient,
        new Relayed(RelayKind.SIGNAL, room, sender, new RawJson(data, 0, data.length)), n, Map.of());
  }

  private String session(PeerId peer) {
    return prefix + ":resume:{" + peer.value() + "}";
  }

  // How many events the recipient's buffer got: its stream's last id.
  private long storedFor(PeerId peer) {
    Response entries = redis(Request.cmd(Command.XREVRANGE).arg(session(peer) + ":stream").arg("+").arg("-")
        .arg("COUNT").arg(1));
    return entries.size() == 0 ? 0 : Long.parseLong(entries.get(0).get(0).toString().substring(2));
  }

  private String hget(String key, String field) {
    Response value = redis(Request.cmd(Command.HGET).arg(key).arg(field));
    return value == null ? null : value.toString();
  }

  private Response redis(Request request) {
    return Wait.await(direct.send(request), WAIT);
  }
}
