package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ClusterFixture;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * On a Redis Cluster the publisher is the cluster client's connection, which holds a socket per
 * master. CoalescedFlushes reaches each of them (a client upgrade that moves the private map
 * fails here), a burst of SPUBLISHes made in one event-loop turn leaves every master's socket in
 * a handful of flushes and arrives in order, and a socket the client opens later, to a new master
 * after a failover, is coalesced once applied again (the backplane does so after each reading of
 * the slot map). With {@code REDIS_WAIT_REPLICAS}, a write on it counts only when the master that
 * ran it is the one whose {@code WAIT} counted the replicas, and that {@code WAIT} covers
 * everything the master ran before it, whichever connection sent it.
 */
class ClusterPublisherTest {
  private static final int PER_MASTER = 600;
  private static final String REPLICA_ACKS_TAG = "{replica-acks}";
  private static ClusterFixture cluster;
  private static Vertx vertx;
  private static Redis client;

  @BeforeAll
  static void start() {
    cluster = ClusterFixture.start();
    vertx = Vertx.vertx();
    client = Redis.createClient(vertx, RedisTarget.cluster(cluster.seedUrls()).master(new RedisOptions()));
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (vertx != null) {
      vertx.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void aBurstFromOneTurnLeavesEveryMastersSocketInAFewFlushesAndArrivesInOrder() throws Exception {
    Context context = vertx.getOrCreateContext();
    RedisConnection publisher = Bursts.onContext(context, client::connect);
    assertTrue(CoalescedFlushes.apply(publisher), "the reflective check failed against this Redis client");
    Map<?, ?> masters = CoalescedFlushes.masterConnections(publisher);
    assertNotNull(masters, "not a cluster connection");
    // After the other test's failover the client may also still hold a socket to the old master.
    assertTrue(masters.size() >= cluster.masterPorts().size(), "a socket per master: " + masters.keySet());
    List<AtomicInteger> flushes = new ArrayList<>();
    for (Object master : masters.values()) {
      flushes.add(Bursts.countFlushes(CoalescedFlushes.pipeline((RedisConnection) master)));
    }

    Map<String, LinkedBlockingQueue<String>> received = new LinkedHashMap<>();
    List<RedisConnection> subscribers = new ArrayList<>();
    for (int port : cluster.masterPorts()) {
      String channel = channelOn(port, "burst");
      LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
      received.put(channel, queue);
      subscribers.add(subscribe(port, channel, queue));
    }

    List<Request> burst = new ArrayList<>();
    for (int i = 0; i < PER_MASTER; i++) {
      for (String channel : received.keySet()) {
        burst.add(Request.cmd(Command.SPUBLISH).arg(channel).arg(Integer.toString(i)));
      }
    }
    Bursts.sendInOneTask(context, publisher, burst);
    for (Map.Entry<String, LinkedBlockingQueue<String>> channel : received.entrySet()) {
      for (int i = 0; i < PER_MASTER; i++) {
        assertEquals(Integer.toString(i), channel.getValue().poll(5, TimeUnit.SECONDS), "on " + channel.getKey());
      }
    }
    for (AtomicInteger count : flushes) {
      assertTrue(count.get() <= PER_MASTER / 50, count.get() + " flushes for " + PER_MASTER + " publishes");
    }
    subscribers.forEach(RedisConnection::close);
    publisher.close();
  }

  @Test
  void aSocketOpenedToANewMasterAfterAFailoverIsCoalescedWhenAppliedAgain() throws Exception {
    Context context = vertx.getOrCreateContext();
    RedisConnection publisher = Bursts.onContext(context, client::connect);
    assertTrue(CoalescedFlushes.apply(publisher));
    int newMaster = cluster.failover(cluster.masterPorts().get(0));
    // A write there goes to the old master, a replica now, whose MOVED answer the client follows,
    // opening a socket to the new master on the way (a replica takes an SPUBLISH itself).
    String key = channelOn(newMaster, "moved");
    Bursts.onContext(context, () -> publisher.send(Request.cmd(Command.SET).arg(key).arg("after")));
    Map<?, ?> masters = CoalescedFlushes.masterConnections(publisher);
    assertFalse(allCoalesced(masters), "the failover opened no new socket: this test shows nothing");

    assertTrue(CoalescedFlushes.apply(publisher));
    assertTrue(allCoalesced(masters), "a socket is left uncoalesced");
    publisher.close();
  }

  @Test
  void aWriteCountsOnlyWhereTheMasterThatRanItCountedItsReplicas() throws Exception {
    RedisConnection publisher = await(client.connect());
    ReplicaAcks acks = new ReplicaAcks(1, 1000, REPLICA_ACKS_TAG + ":anchor");
    List<Response> replies = await(publisher.batch(List.of(
        Request.cmd(Command.SET).arg(REPLICA_ACKS_TAG + ":x").arg("1"), ReplicaAcks.serverRequest())));
    String ranOn = replies.get(1).toString();

    await(acks.after(publisher, ranOn));
    Exception elsewhere = assertThrows(Exception.class, () -> await(acks.after(publisher, "f".repeat(40))),
        "counted on a master that never ran the write (a failover between the two)");
    assertTrue(elsewhere.getMessage().contains("ran on master"), elsewhere.toString());

    int master = cluster.masterOfSlot(ClusterFixture.slot(REPLICA_ACKS_TAG));
    try (AutoCloseable frozen = cluster.pause(cluster.replicaOf(master))) {
      // Written on another connection: the publisher's own writes were all acknowledged, and
      // the WAIT must still cover this one.
      cluster.command(master, "SET", REPLICA_ACKS_TAG + ":y", "1");
      Exception uncounted = assertThrows(Exception.class, () -> await(acks.after(publisher, ranOn)));
      assertTrue(uncounted.getMessage().contains("replicas"), uncounted.toString());
    }
    await(acks.after(publisher, ranOn));
  }

  private static boolean allCoalesced(Map<?, ?> masters) {
    synchronized (masters) {
      return masters.values().stream().allMatch(master ->
          CoalescedFlushes.pipeline((RedisConnection) master).get(CoalescedFlushes.HANDLER_NAME) != null);
    }
  }

  /** A sharded channel (or key) whose slot the master on {@code port} serves. */
  private static String channelOn(int port, String name) {
    for (int i = 0; i < 100_000; i++) {
      String channel = "{" + name + "-" + i + "}:events";
      if (cluster.masterOfSlot(ClusterFixture.slot(channel)) == port) {
        return channel;
      }
    }
    throw new AssertionError("no channel found on port " + port);
  }

  private static RedisConnection subscribe(int port, String channel, LinkedBlockingQueue<String> into)
      throws Exception {
    RedisConnection subscriber = Redis.createClient(vertx, "redis://127.0.0.1:" + port).connect()
        .await(5, TimeUnit.SECONDS);
    subscriber.handler(push -> {
      if (push.size() == 3 && "smessage".equals(push.get(0).toString())) {
        into.add(push.get(2).toString());
      }
    });
    subscriber.send(Request.cmd(Command.SSUBSCRIBE).arg(channel)).await(5, TimeUnit.SECONDS);
    return subscriber;
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }
}
