package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.wire.PeerId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * One peer's publishes on a Redis Cluster wait for the one before, each step driven by the test:
 * a publish starts when its supplier is called, and is answered when the test completes it.
 */
class SenderOrderTest {
  private static final PeerId ALICE = new PeerId("AAAAAAAAAAAAAAAAAAAAAA");
  private static final PeerId BOB = new PeerId("BBBBBBBBBBBBBBBBBBBBBB");
  private static final long TIMEOUT_MS = 300;

  private final Vertx vertx = Vertx.vertx();
  private final ContextInternal context = ((VertxInternal) vertx).createEventLoopContext();
  private final List<String> started = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    vertx.close().await();
  }

  /** A publish named {@code name}: records that it started, answered when {@code answer} is. */
  private java.util.function.Supplier<Future<Void>> publish(String name, Promise<Void> answer) {
    return () -> {
      started.add(name);
      return answer.future();
    };
  }

  private void settle() throws InterruptedException {
    ContextTurns.settle(context);
  }

  @Test
  void onAClusterAPeersNextPublishWaitsForTheAnswerToItsLastWhileOtherPeersGoOn() throws InterruptedException {
    SenderOrder order = new SenderOrder(context, true, 60_000, 120_000);
    Promise<Void> first = context.promise();
    Promise<Void> second = context.promise();
    Promise<Void> bobs = context.promise();
    Future<Void> firstDone = order.after(ALICE, publish("alice-1", first));
    Future<Void> secondDone = order.after(ALICE, publish("alice-2", second));
    order.after(BOB, publish("bob-1", bobs));
    settle();
    assertEquals(List.of("alice-1", "bob-1"), started, "alice-2 waits for alice-1's answer");

    first.complete();
    settle();
    assertEquals(List.of("alice-1", "bob-1", "alice-2"), started);
    assertTrue(firstDone.succeeded());
    assertTrue(!secondDone.isComplete(), "answered only when its own publish is");

    second.complete();
    bobs.complete();
    settle();
    assertTrue(secondDone.succeeded());
    assertEquals(0, order.pending(), "nothing is kept once every publish is answered");
  }

  @Test
  void aFailedPublishLetsTheNextOneGoAtOnceAndStillFails() throws InterruptedException {
    SenderOrder order = new SenderOrder(context, true, 60_000, 120_000);
    Promise<Void> first = context.promise();
    Future<Void> firstDone = order.after(ALICE, publish("alice-1", first));
    Future<Void> secondDone = order.after(ALICE, publish("alice-2", Promise.<Void>promise()));
    first.fail("MOVED");
    settle();
    assertEquals(List.of("alice-1", "alice-2"), started);
    assertTrue(firstDone.failed(), "its sender hears that it failed");
    assertTrue(!secondDone.isComplete());
  }

  /**
   * The cluster client sends a command that CLUSTERDOWN turned away again after a backoff that
   * doubles up to 1280 ms, and a command after it starts again at 10 ms: one sent ahead of an
   * unanswered one overtakes it. So a publish that waited the Redis timeout for the one before it
   * is refused, never sent ahead, and so is every later one until the unanswered one is answered.
   */
  @Test
  void aPublishStillUnansweredAfterTheRedisTimeoutGetsTheNextOnesRefusedNotSentAhead() throws Exception {
    SenderOrder order = new SenderOrder(context, true, TIMEOUT_MS, 60_000);
    Promise<Void> first = context.promise();
    order.after(ALICE, publish("alice-1", first));
    long before = System.nanoTime();
    Future<Void> second = order.after(ALICE, publish("alice-2", Promise.<Void>promise()));
    for (int i = 0; i < 100 && !second.isComplete(); i++) {
      Thread.sleep(20);
    }
    assertTrue(second.failed(), "refused once the Redis timeout has passed");
    assertTrue(System.nanoTime() - before >= TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS));
    Future<Void> third = order.after(ALICE, publish("alice-3", context.promise()));
    for (int i = 0; i < 100 && !third.isComplete(); i++) {
      Thread.sleep(20);
    }
    assertTrue(third.failed(), "a later one is refused too while the first is unanswered");
    assertEquals(List.of("alice-1"), started, "nothing sent ahead of the unanswered publish");

    first.complete();
    settle();
    order.after(ALICE, publish("alice-4", context.promise()));
    settle();
    assertEquals(List.of("alice-1", "alice-4"), started, "once it is answered, the next one goes at once");
  }

  @Test
  void aPublishNeverAnsweredIsGivenUpAfterTheAbandonBound() throws Exception {
    SenderOrder order = new SenderOrder(context, true, TIMEOUT_MS, 2 * TIMEOUT_MS);
    order.after(ALICE, publish("alice-1", context.promise()));
    for (int i = 0; i < 100 && order.pending() > 0; i++) {
      Thread.sleep(20);
    }
    assertEquals(0, order.pending(), "a peer's publishes are not refused for ever");
    order.after(ALICE, publish("alice-2", context.promise()));
    settle();
    assertEquals(List.of("alice-1", "alice-2"), started);
  }

  /**
   * Alice's relays are published from her socket's event loop, and her membership events from the
   * backplane's: a relay that waited for one of those must still be sent, and answered, on her
   * socket's thread, where the hub touches her session in the answer.
   */
  @Test
  void aPublishThatWaitedIsSentAndAnsweredOnItsCallersThread() throws InterruptedException {
    SenderOrder order = new SenderOrder(context, true, 60_000, 120_000);
    ContextInternal socket = ((VertxInternal) vertx).createEventLoopContext();
    Promise<Void> membershipEvent = context.promise();
    AtomicReference<Thread> socketThread = new AtomicReference<>();
    AtomicReference<Thread> sentOn = new AtomicReference<>();
    AtomicReference<Thread> answeredOn = new AtomicReference<>();
    order.after(ALICE, publish("peer-joined", membershipEvent));
    socket.runOnContext(v -> {
      socketThread.set(Thread.currentThread());
      order.after(ALICE, () -> {
        sentOn.set(Thread.currentThread());
        started.add("relay");
        return Future.succeededFuture();
      }).onComplete(ar -> answeredOn.set(Thread.currentThread()));
    });
    for (int i = 0; i < 250 && socketThread.get() == null; i++) {
      Thread.sleep(20);
    }
    settle();
    assertEquals(List.of("peer-joined"), started, "the relay waits for the membership event's answer");

    membershipEvent.complete();
    for (int i = 0; i < 250 && answeredOn.get() == null; i++) {
      Thread.sleep(20);
    }
    assertEquals(List.of("peer-joined", "relay"), started);
    assertEquals(socketThread.get(), sentOn.get(), "sent on the socket's thread");
    assertEquals(socketThread.get(), answeredOn.get(), "answered on the socket's thread");
  }

  @Test
  void offAClusterEveryPublishGoesAtOnce() throws InterruptedException {
    SenderOrder order = new SenderOrder(context, false, 60_000, 120_000);
    order.after(ALICE, publish("alice-1", context.promise()));
    order.after(ALICE, publish("alice-2", context.promise()));
    order.after(null, publish("server", context.promise()));
    assertEquals(List.of("alice-1", "alice-2", "server"), started);
    assertEquals(0, order.pending());
  }
}
