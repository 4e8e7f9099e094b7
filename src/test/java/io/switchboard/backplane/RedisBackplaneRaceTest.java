package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ControllableProxy;
import io.switchboard.support.ControllableProxy.Direction;
import io.switchboard.support.RecordingListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.Wait;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Races between the Redis backplane and Redis itself, made repeatable by a {@link
 * ControllableProxy} between the node and a real redis-server. Another plain client talks to
 * Redis directly, to publish and to look at what Redis sees.
 */
class RedisBackplaneRaceTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final SecureRandom RANDOM = new SecureRandom();

  private Vertx vertx;
  private ControllableProxy proxy;
  private Redis direct;
  private RedisBackplane node;
  private String prefix;
  private final LinkedBlockingQueue<BackplaneMessage> inbox = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<RoomId> missed = new LinkedBlockingQueue<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    String uri = RedisFixture.shared().uri();
    proxy = ControllableProxy.toRedis(uri);
    direct = Redis.createClient(vertx, uri);
    prefix = RedisFixture.uniquePrefix();
  }

  @AfterEach
  void tearDown() {
    try {
      if (node != null) {
        proxy.resume(Direction.TO_CLIENT);
        proxy.resume(Direction.TO_SERVER);
        proxy.release();
        Wait.await(node.close().transform(ar -> Future.succeededFuture()), WAIT);
      }
    } finally {
      proxy.close();
      Wait.await(direct.close(), WAIT);
      Wait.await(vertx.close(), WAIT);
    }
  }

  private RedisBackplane startNode(long heartbeatMs, long nodeTimeoutMs, long commandTimeoutMs) {
    node = new RedisBackplane(vertx, proxy.redisUri(RedisFixture.shared().uri()), "", prefix, "racer",
        heartbeatMs, nodeTimeoutMs, commandTimeoutMs, SignalingMetrics.NOOP);
    Wait.await(node.start(new RecordingListener(inbox, missed)), WAIT);
    return node;
  }

  // Cuts the node's connections and holds every new one, until reconnect().
  private void cutOff() throws InterruptedException {
    proxy.stop(Direction.TO_SERVER);
    proxy.stop(Direction.TO_CLIENT);
    proxy.cutAll();
    until(() -> !node.ready(), "the node saw the outage");
  }

  private void reconnect() throws InterruptedException {
    proxy.resume(Direction.TO_SERVER);
    proxy.resume(Direction.TO_CLIENT);
    until(node::ready, "ready again");
  }

  private String channel(RoomId room) {
    return prefix + ":{" + room.value() + "}:events";
  }

  private long numsub(RoomId room) {
    Response reply = Wait.await(direct.send(Request.cmd(Command.PUBSUB).arg("NUMSUB").arg(channel(room))), WAIT);
    // RESP3 answers a map, RESP2 a flat [channel, count] array.
    return reply.isMap() ? reply.get(channel(room)).toLong() : reply.get(1).toLong();
  }

  // What another node's backplane would publish, in the wire format of WireFormat.
  private long publishFromElsewhere(RoomId room, String data) {
    String payload = "1 elsewhere signal " + PeerId.random(RANDOM).value() + " - " + 0 + "\n" + data;
    return Wait.await(direct.send(Request.cmd(Command.PUBLISH).arg(channel(room))
        .arg(payload.getBytes(StandardCharsets.UTF_8))), WAIT).toLong();
  }

  // The (un)subscribe confirmations for the room's channel that the stopped proxy holds, in order.
  private List<String> heldConfirmations(RoomId room) {
    String held = proxy.held(Direction.TO_CLIENT);
    List<String> kinds = new java.util.ArrayList<>();
    java.util.regex.Matcher m = java.util.regex.Pattern
        .compile("\\$(\\d+)\r\n(subscribe|unsubscribe)\r\n\\$\\d+\r\n" + java.util.regex.Pattern.quote(channel(room)))
        .matcher(held);
    while (m.find()) {
      kinds.add(m.group(2));
    }
    return kinds;
  }

  // Polls from the test thread, since the condition itself asks Redis; at most WAIT / 10 ms checks.
  private static void until(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
    for (long checks = WAIT.toMillis() / 10; checks > 0; checks--) {
      if (condition.getAsBoolean()) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("not within " + WAIT.toMillis() + " ms: " + what);
  }

  private static RoomId freshRoom() {
    return new RoomId("race-" + Long.toHexString(RANDOM.nextLong()));
  }

  /**
   * Issue 11, item 3. A message Redis sent before it confirmed the UNSUBSCRIBE arrives after the
   * node called unsubscribe: it must not reach the listener, and unsubscribe completes only on
   * Redis's confirmation.
   */
  /**
   * An outage longer than the node timeout, with reconnection attempts by then further apart than
   * the timeout: the reconnection's own heartbeat finds the node's key expired, as it must be. That
   * tells the listener (the node may have been reaped), but must not throw the link being prepared
   * away: the next attempt would find the key expired again, and so on for ever.
   */
  @Test
  void aReconnectionAfterAnOutageLongerThanTheNodeTimeoutCompletes() throws Exception {
    startNode(100, 300, 200);
    assertTrue(node.ready());
    cutOff();
    // Attempts time out after 600 ms and back off 100 ms, doubling up to 2 s: by now they come
    // seconds apart, far more than the 300 ms node timeout.
    Thread.sleep(5000);
    reconnect();
  }

  /**
   * What was published while the node's connections were cut never reaches it: once it has
   * reconnected and subscribed again, it tells the listener which rooms may have missed events
   * (so that resumable sessions there fetch them from their buffers).
   */
  @Test
  void aReconnectionTellsTheListenerWhichRoomsMissedEvents() throws Exception {
    startNode(100, 1000, 500);
    RoomId room = freshRoom();
    Wait.await(node.subscribe(room), WAIT);
    cutOff();
    assertEquals(0, publishFromElsewhere(room, "\"while cut off\""), "nobody subscribed to hear it");
    assertNull(missed.poll(), "told before the subscription is back");
    reconnect();
    assertEquals(room, missed.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    assertNull(inbox.poll(), "the message published meanwhile is not delivered");
  }

  @Test
  void unsubscribeCompletesOnRedisConfirmationAndDropsMessagesAlreadyInFlight() throws Exception {
    startNode(1000, 5000, 2000);
    RoomId room = freshRoom();
    Wait.await(node.subscribe(room), WAIT);
    assertEquals(1, numsub(room));

    proxy.stop(Direction.TO_CLIENT);
    assertEquals(1, publishFromElsewhere(room, "\"in flight\""), "Redis handed the message to the node's connection");
    Future<Void> unsubscribed = node.unsubscribe(room);
    // Redis has executed the UNSUBSCRIBE: the proxy holds its confirmation, behind the message.
    until(() -> heldConfirmations(room).equals(List.of("unsubscribe")), "Redis answered the UNSUBSCRIBE");
    assertEquals(0, numsub(room));
    assertFalse(unsubscribed.isComplete(), "unsubscribe completed before Redis confirmed it");

    proxy.resume(Direction.TO_CLIENT);
    Wait.await(unsubscribed, WAIT);
    // The message was ahead of the confirmation on the same connection, so it has been handled.
    assertNull(inbox.poll(), "a message for a room no longer subscribed reached the listener");
  }

  /**
   * Subscribed, unsubscribed and subscribed again before Redis answers: the confirmations are
   * matched in order, the unsubscribe completes before the new subscribe, and the room ends
   * subscribed, receiving what is published next.
   */
  @Test
  void backToBackSubscribeUnsubscribeSubscribeAreConfirmedInOrder() throws Exception {
    startNode(1000, 5000, 2000);
    RoomId room = freshRoom();
    Wait.await(node.subscribe(room), WAIT);

    proxy.stop(Direction.TO_CLIENT);
    Future<Void> unsubscribed = node.unsubscribe(room);
    Future<Void> subscribedAgain = node.subscribe(room);
    List<String> order = new java.util.concurrent.CopyOnWriteArrayList<>();
    unsubscribed.onSuccess(v -> order.add("unsubscribed"));
    subscribedAgain.onSuccess(v -> order.add("subscribed"));
    // Redis has executed both: the proxy holds both confirmations.
    until(() -> heldConfirmations(room).equals(List.of("unsubscribe", "subscribe")),
        "Redis answered UNSUBSCRIBE and SUBSCRIBE");
    assertFalse(unsubscribed.isComplete(), "unsubscribe completed before Redis confirmed it");
    assertFalse(subscribedAgain.isComplete(), "subscribe completed before Redis confirmed it");

    proxy.resume(Direction.TO_CLIENT);
    Wait.await(subscribedAgain, WAIT);
    Wait.await(unsubscribed, WAIT);
    assertEquals(List.of("unsubscribed", "subscribed"), order);
    assertEquals(1, publishFromElsewhere(room, "\"after\""));
    assertEquals("\"after\"", ((Relayed) inbox.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).event()).data().toString());
    assertNull(inbox.poll());
  }

  /**
   * A leave asked for while the member's join is in flight (the join's answer held): once both
   * are done the member is gone, and a reconnection, which re-asserts the members the node
   * holds, must not bring it back.
   */
  @Test
  void aMemberThatLeftDuringItsJoinIsNotReassertedAfterAReconnection() throws Exception {
    startNode(1000, 5000, 2000);
    RoomId room = freshRoom();
    Member member = new Member(PeerId.random(RANDOM), "{}");

    proxy.stop(Direction.TO_CLIENT);
    Future<JoinResult> joined = node.join(room, member, 10);
    Future<Void> left = node.leave(room, member.peer());
    proxy.resume(Direction.TO_CLIENT);
    Wait.await(joined, WAIT);
    Wait.await(left, WAIT);
    assertEquals(List.of(), storedMembers(room), "after the leave");

    int before = proxy.links().size();
    proxy.cutAll();
    proxy.await(() -> proxy.links().size() >= before + 2, WAIT, "the reconnection's two connections");
    until(node::ready, "the node reconnected (and re-asserted what it holds)");
    assertEquals(List.of(), storedMembers(room), "members in Redis after the reconnection");
  }

  private List<String> storedMembers(RoomId room) {
    Response all = Wait.await(direct.send(Request.cmd(Command.HKEYS).arg(prefix + ":{" + room.value() + "}:members")), WAIT);
    List<String> peers = new java.util.ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      peers.add(all.get(i).toString());
    }
    return peers;
  }

  /**
   * Issue 11, item 4. A connection attempt that finishes after its timeout must not install its
   * connections: the node keeps exactly one subscriber, receives each message once, and closes
   * what the late attempt opened.
   */
  @Test
  void aConnectionAttemptThatCompletesAfterItsTimeoutInstallsNothingAndIsClosed() throws Exception {
    // Attempt timeout = 3 x command timeout = 1.5 s.
    startNode(100, 1000, 500);
    RoomId room = freshRoom();
    Wait.await(node.subscribe(room), WAIT);
    int before = proxy.links().size();

    proxy.holdNext(1);
    proxy.cutAll();
    proxy.await(() -> proxy.links().size() > before, WAIT, "the first reconnection attempt arrived");
    ControllableProxy.Link late = proxy.links().get(before);
    assertTrue(late.wasHeld());
    Wait.until(vertx, node::ready, WAIT, "a later attempt connected while the first was held");
    assertEquals(1, numsub(room));

    proxy.release();
    // Either the late attempt's connection is closed by the node, or it subscribes too.
    until(() -> late.closedByClient() || numsub(room) > 1, "the late attempt finished one way or the other");
    assertEquals(1, numsub(room), "subscriber connections to Redis for the room");
    assertTrue(late.closedByClient(), "the late attempt's connection was closed by the node");

    assertEquals(1, publishFromElsewhere(room, "1"));
    assertEquals("1", ((Relayed) inbox.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).event()).data().toString());
    assertEquals(1, publishFromElsewhere(room, "2"));
    assertEquals("2", ((Relayed) inbox.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).event()).data().toString());
    assertNull(inbox.poll(), "a message was delivered twice");
  }
}
