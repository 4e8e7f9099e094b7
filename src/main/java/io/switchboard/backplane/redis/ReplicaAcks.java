package io.switchboard.backplane.redis;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Holds back the success of a session write until {@code REDIS_WAIT_REPLICAS} replicas have it
 * ({@code WAIT}), so that an event stored for a session, once it counts as sent, outlives a
 * failover to one of them (docs/clustering.md, "Redis Sentinel").
 *
 * <p>{@code WAIT} covers every write its own connection made before it, so the writes on the
 * publisher connection share one: a write whose reply has arrived joins the next {@code WAIT},
 * sent as soon as none is in flight (one in flight may have been sent before the write was).
 * Redis holds the connection's later commands while a {@code WAIT} blocks it, so at most one is
 * in flight, and it covers everything that queued meanwhile. A {@code WAIT} that times out with
 * fewer replicas fails every write it covered: those may exist only on the master.
 *
 * <p>On a Redis Cluster the publisher is the cluster client, which sends each command to the
 * master of its slot on a connection of its own, and a keyless {@code WAIT} to any master. So
 * there the {@code WAIT} goes in a pipeline with a write to a key in the slot of every session
 * key (the one-slot layout), which takes it to that master, and, since a {@code WAIT} waits for
 * its connection's last write, makes it cover everything the master ran before, whichever
 * connection sent it; and with {@code CLUSTER MYID}, which names the master that counted. Each
 * write names the master that ran it the same way ({@link #serverRequest()} after it in its
 * pipeline), and counts only when the two are the same: after a failover or a migration the
 * {@code WAIT} may reach a new master that never had the write.
 *
 * <p>Any thread.
 */
final class ReplicaAcks {
  private final int replicas;
  private final long timeoutMs;
  // On a Redis Cluster, the key the WAIT's pipeline writes; null elsewhere.
  private final String clusterAnchor;
  private RedisConnection connection;
  // Writes whose reply arrived and that wait for the next WAIT on 'connection'.
  private List<Pending> next = new ArrayList<>();
  private boolean inFlight;

  // A write waiting for a WAIT; 'server' is the master that ran it (on a Redis Cluster), or null.
  private record Pending(Promise<Void> promise, String server) {}

  /**
   * @param replicas how many replicas must have a write; 0 waits for none
   * @param clusterAnchor on a Redis Cluster, a key in the slot of every session key, which the
   *     WAIT's pipeline writes; null elsewhere
   */
  ReplicaAcks(int replicas, long timeoutMs, String clusterAnchor) {
    this.replicas = replicas;
    this.timeoutMs = timeoutMs;
    this.clusterAnchor = clusterAnchor;
  }

  boolean enabled() {
    return replicas > 0;
  }

  /** Whether each write on the publisher must name the master that ran it ({@link #serverRequest()}). */
  boolean namesServers() {
    return enabled() && clusterAnchor != null;
  }

  /** Names the master that runs it: sent after a write in the write's own pipeline. */
  static Request serverRequest() {
    return Request.cmd(Command.CLUSTER).arg("MYID");
  }

  /** The request that waits for the replicas, for a write that goes in a pipeline of its own. */
  Request request() {
    return Request.cmd(Command.WAIT).arg(replicas).arg(timeoutMs);
  }

  /** Fails unless {@code reply}, the answer to {@link #request()}, counts enough replicas. */
  Future<Void> check(Response reply) {
    long acked = reply == null ? 0 : reply.toLong();
    return acked >= replicas ? Future.succeededFuture()
        : Future.failedFuture("the write reached " + acked + " of " + replicas + " replicas within " + timeoutMs
            + " ms");
  }

  /**
   * Completes once a {@code WAIT} sent on {@code publisher} after now has counted enough
   * replicas. Call it when a write's reply on {@code publisher} has arrived.
   *
   * @param server on a Redis Cluster, the master that ran the write (the reply to
   *     {@link #serverRequest()}); null elsewhere
   */
  Future<Void> after(RedisConnection publisher, String server) {
    if (!enabled()) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    boolean send;
    List<Pending> orphans = List.of();
    synchronized (this) {
      if (publisher != connection) {
        // A new link: the old connection's WAIT in flight answers for its own writes only, and
        // the writes waiting for its next one will never get it.
        connection = publisher;
        orphans = next;
        next = new ArrayList<>();
        inFlight = false;
      }
      next.add(new Pending(promise, server));
      send = !inFlight;
      inFlight |= send;
    }
    orphans.forEach(p -> p.promise().tryFail("the connection of the write was replaced before a replica confirmed it"));
    if (send) {
      sendWait(publisher);
    }
    return promise.future();
  }

  private void sendWait(RedisConnection publisher) {
    List<Pending> covered;
    synchronized (this) {
      covered = next;
      next = new ArrayList<>();
    }
    // The WAIT answers within its own timeout; the margin is for a connection that hangs.
    Future<String> counted = clusterAnchor == null
        ? publisher.send(request()).compose(this::check).map((String) null)
        : publisher.batch(List.of(serverRequest(), Request.cmd(Command.SET).arg(clusterAnchor).arg("1").arg("PX")
                .arg(60_000), request()))
            .compose(replies -> check(replies.get(2)).map(v -> replies.get(0).toString()));
    counted.timeout(2 * timeoutMs + 1000, TimeUnit.MILLISECONDS)
        .onComplete(ar -> {
          boolean again;
          synchronized (this) {
            again = publisher == connection && !next.isEmpty();
            if (publisher == connection) {
              inFlight = again;
            }
          }
          covered.forEach(p -> {
            if (ar.failed()) {
              p.promise().tryFail(ar.cause());
            } else if (p.server() != null && !p.server().equals(ar.result())) {
              p.promise().tryFail("the write ran on master " + p.server() + ", and the replicas were counted on "
                  + ar.result() + " (a failover or a migration in between)");
            } else {
              p.promise().tryComplete();
            }
          });
          if (again) {
            sendWait(publisher);
          }
        });
  }
}
