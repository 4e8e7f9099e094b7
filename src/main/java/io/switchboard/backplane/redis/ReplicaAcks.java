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
 * <p>Any thread.
 */
final class ReplicaAcks {
  private final int replicas;
  private final long timeoutMs;
  private RedisConnection connection;
  // Writes whose reply arrived and that wait for the next WAIT on 'connection'.
  private List<Promise<Void>> next = new ArrayList<>();
  private boolean inFlight;

  /** @param replicas how many replicas must have a write; 0 waits for none */
  ReplicaAcks(int replicas, long timeoutMs) {
    this.replicas = replicas;
    this.timeoutMs = timeoutMs;
  }

  boolean enabled() {
    return replicas > 0;
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
   */
  Future<Void> after(RedisConnection publisher) {
    if (!enabled()) {
      return Future.succeededFuture();
    }
    Promise<Void> promise = Promise.promise();
    boolean send;
    List<Promise<Void>> orphans = List.of();
    synchronized (this) {
      if (publisher != connection) {
        // A new link: the old connection's WAIT in flight answers for its own writes only, and
        // the writes waiting for its next one will never get it.
        connection = publisher;
        orphans = next;
        next = new ArrayList<>();
        inFlight = false;
      }
      next.add(promise);
      send = !inFlight;
      inFlight |= send;
    }
    orphans.forEach(p -> p.tryFail("the connection of the write was replaced before a replica confirmed it"));
    if (send) {
      sendWait(publisher);
    }
    return promise.future();
  }

  private void sendWait(RedisConnection publisher) {
    List<Promise<Void>> covered;
    synchronized (this) {
      covered = next;
      next = new ArrayList<>();
    }
    // The WAIT answers within its own timeout; the margin is for a connection that hangs.
    publisher.send(request()).timeout(2 * timeoutMs + 1000, TimeUnit.MILLISECONDS)
        .transform(ar -> ar.succeeded() ? check(ar.result()) : Future.<Void>failedFuture(ar.cause()))
        .onComplete(ar -> {
          boolean again;
          synchronized (this) {
            again = publisher == connection && !next.isEmpty();
            if (publisher == connection) {
              inFlight = again;
            }
          }
          covered.forEach(p -> {
            if (ar.succeeded()) {
              p.tryComplete();
            } else {
              p.tryFail(ar.cause());
            }
          });
          if (again) {
            sendWait(publisher);
          }
        });
  }
}
