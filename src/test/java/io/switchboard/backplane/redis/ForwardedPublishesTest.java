package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A publish that ran on a replica (its reply counts no receiver) holds its peer's next one until
 * this node hears it from the channel's master, each step driven by the test: Redis's reply is a
 * promise the test completes, and the echo is the call the subscriber makes when it hears the
 * node's own message. This is the order of a failover on a Redis Cluster, where relay 34, sent to
 * the old master, reached the subscribers after relay 35, sent to the new one.
 */
class ForwardedPublishesTest {
  private static final PeerId ALICE = new PeerId("AAAAAAAAAAAAAAAAAAAAAA");
  private static final RoomId ROOM = new RoomId("call");
  private static final long NEVER_MS = 60_000;

  private final Vertx vertx = Vertx.vertx();
  private final ContextInternal context = ((VertxInternal) vertx).createEventLoopContext();
  private final SenderOrder order = new SenderOrder(context, true, NEVER_MS, 2 * NEVER_MS);
  private final List<String> started = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  /** Alice's publish stamped {@code micros}, through {@code forwarded}: Redis replies with {@code reply}. */
  private Future<Void> publish(ForwardedPublishes forwarded, long micros, Promise<Long> reply) {
    Supplier<Future<Void>> send = () -> forwarded.send(ROOM, ALICE, micros, () -> {
      started.add("relay-" + micros);
      return reply.future();
    });
    return order.after(ALICE, send);
  }

  private void settle() throws InterruptedException {
    ContextTurns.settle(context);
  }

  @Test
  void aPublishThatRanOnAReplicaHoldsThePeersNextUntilThisNodeHearsIt() throws InterruptedException {
    ForwardedPublishes forwarded = new ForwardedPublishes(vertx, NEVER_MS);
    Promise<Long> first = Promise.promise();
    Future<Void> firstDone = publish(forwarded, 34, first);
    publish(forwarded, 35, Promise.promise());
    settle();

    first.complete(0L); // run on a replica: no receiver there
    settle();
    assertEquals(List.of("relay-34"), started, "relay 35 waits until 34 has reached the master");
    assertFalse(firstDone.isComplete());

    forwarded.heard(ROOM, ALICE, 33); // an older message of alice's, heard late: not this one
    settle();
    assertEquals(List.of("relay-34"), started);

    forwarded.heard(ROOM, ALICE, 34);
    settle();
    assertEquals(List.of("relay-34", "relay-35"), started);
    assertTrue(firstDone.succeeded());
  }

  @Test
  void aPublishTheMasterRanIsAnsweredAtOnce() throws InterruptedException {
    ForwardedPublishes forwarded = new ForwardedPublishes(vertx, NEVER_MS);
    Promise<Long> first = Promise.promise();
    Future<Void> firstDone = publish(forwarded, 34, first);
    publish(forwarded, 35, Promise.promise());
    settle();

    first.complete(2L);
    settle();
    assertEquals(List.of("relay-34", "relay-35"), started);
    assertTrue(firstDone.succeeded());
    assertEquals(1, forwarded.awaited(), "only relay 35, still unanswered, is awaited");
  }

  @Test
  void anEchoHeardBeforeTheReplyCounts() throws InterruptedException {
    ForwardedPublishes forwarded = new ForwardedPublishes(vertx, NEVER_MS);
    Promise<Long> first = Promise.promise();
    publish(forwarded, 34, first);
    publish(forwarded, 35, Promise.promise());
    settle();

    forwarded.heard(ROOM, ALICE, 34);
    first.complete(0L);
    settle();
    assertEquals(List.of("relay-34", "relay-35"), started);
  }

  @Test
  void aPublishNobodyHereCanHearHoldsTheNextForTheBoundOnly() throws Exception {
    // Long enough that the steps before the bound passes never take it, however slow the machine.
    ForwardedPublishes forwarded = new ForwardedPublishes(vertx, 2_000);
    Promise<Long> first = Promise.promise();
    Future<Void> firstDone = publish(forwarded, 34, first);
    Promise<Long> second = Promise.promise();
    Future<Void> secondDone = publish(forwarded, 35, second);
    settle();

    first.complete(0L);
    settle();
    assertEquals(List.of("relay-34"), started);
    firstDone.await(5, TimeUnit.SECONDS);
    settle();
    assertEquals(List.of("relay-34", "relay-35"), started, "sent once the bound has passed");
    second.complete(1L);
    secondDone.await(5, TimeUnit.SECONDS);
    assertEquals(0, forwarded.awaited(), "nothing is kept once every publish is answered");
  }

  @Test
  void aFailedPublishIsNotAwaited() throws InterruptedException {
    ForwardedPublishes forwarded = new ForwardedPublishes(vertx, NEVER_MS);
    Promise<Long> first = Promise.promise();
    Future<Void> firstDone = publish(forwarded, 34, first);
    settle();

    first.fail("CLUSTERDOWN");
    settle();
    assertTrue(firstDone.failed());
    assertEquals(0, forwarded.awaited());
  }
}
