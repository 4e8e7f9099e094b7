package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ClusterFixture;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code REDIS_WAIT_REPLICAS} on a Redis Cluster, where the publisher is the cluster client: a
 * write counts only when the master that ran it is the one whose {@code WAIT} counted the
 * replicas, and that {@code WAIT} covers everything the master ran before it, whichever
 * connection sent it.
 */
class ClusterReplicaAcksTest {
  private static final String TAG = "{replica-acks}";
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
  void aWriteCountsOnlyWhereTheMasterThatRanItCountedItsReplicas() throws Exception {
    RedisConnection publisher = await(client.connect());
    ReplicaAcks acks = new ReplicaAcks(1, 1000, TAG + ":anchor");
    List<Response> replies = await(publisher.batch(List.of(Request.cmd(Command.SET).arg(TAG + ":x").arg("1"),
        ReplicaAcks.serverRequest())));
    String ranOn = replies.get(1).toString();

    await(acks.after(publisher, ranOn));
    Exception elsewhere = assertThrows(Exception.class, () -> await(acks.after(publisher, "f".repeat(40))),
        "counted on a master that never ran the write (a failover between the two)");
    assertTrue(elsewhere.getMessage().contains("ran on master"), elsewhere.toString());

    int master = cluster.masterOfSlot(ClusterFixture.slot(TAG));
    try (AutoCloseable frozen = cluster.pause(cluster.replicaOf(master))) {
      // Written on another connection: the publisher's own writes were all acknowledged, and
      // the WAIT must still cover this one.
      cluster.command(master, "SET", TAG + ":y", "1");
      Exception uncounted = assertThrows(Exception.class, () -> await(acks.after(publisher, ranOn)));
      assertTrue(uncounted.getMessage().contains("replicas"), uncounted.toString());
    }
    await(acks.after(publisher, ranOn));
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }
}
