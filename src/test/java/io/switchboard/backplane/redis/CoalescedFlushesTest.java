package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.RedisFixture;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Redis client on the class path lets CoalescedFlushes reach the publisher's socket (a client
 * upgrade that moves its private field fails here, instead of quietly costing a system call per
 * relay), and a burst published in one event-loop turn leaves in a handful of flushes, every
 * message delivered in order.
 */
class CoalescedFlushesTest {
  private static final int BURST = 2000;
  private static Vertx vertx;
  private static Redis client;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    client = Redis.createClient(vertx, RedisFixture.shared().uri());
  }

  @AfterAll
  static void stop() {
    client.close();
    vertx.close();
  }

  @Test
  void aBurstFromOneTurnLeavesInAFewFlushesAndArrivesInOrder() throws Exception {
    String channel = RedisFixture.uniquePrefix() + ":coalesced";
    LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
    RedisConnection subscriber = client.connect().await(5, TimeUnit.SECONDS);
    subscriber.handler(push -> {
      if (push.size() == 3 && "message".equals(push.get(0).toString())) {
        received.add(push.get(2).toString());
      }
    });
    subscriber.send(Request.cmd(Command.SUBSCRIBE).arg(channel)).await(5, TimeUnit.SECONDS);
    // Made and used on one context, so that the whole burst is written in one event-loop task.
    Context context = vertx.getOrCreateContext();
    RedisConnection publisher = Bursts.onContext(context, client::connect);
    assertTrue(CoalescedFlushes.apply(publisher), "the reflective check failed against this Redis client");
    AtomicInteger flushes = Bursts.countFlushes(CoalescedFlushes.pipeline(publisher));

    List<Request> burst = new ArrayList<>();
    for (int i = 0; i < BURST; i++) {
      burst.add(Request.cmd(Command.PUBLISH).arg(channel).arg(Integer.toString(i)));
    }
    Bursts.sendInOneTask(context, publisher, burst);
    for (int i = 0; i < BURST; i++) {
      assertEquals(Integer.toString(i), received.poll(5, TimeUnit.SECONDS));
    }
    assertTrue(flushes.get() <= BURST / 100, flushes.get() + " flushes for " + BURST + " publishes");
    publisher.close();
    subscriber.close();
  }
}
