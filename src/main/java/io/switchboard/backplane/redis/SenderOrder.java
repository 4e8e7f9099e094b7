package io.switchboard.backplane.redis;

import io.switchboard.wire.PeerId;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Keeps one peer's publishes in the order the node made them, on a Redis Cluster. The cluster
 * client sends a command that MOVED, ASK, TRYAGAIN or CLUSTERDOWN turned away again, on its own
 * time, while the commands after it may already go straight to the slot's new master: during a
 * failover or a slot migration one sender's relays could overtake each other, and a numbered one
 * that is overtaken would look like a retransmission to publish.lua and be dropped as one. So
 * there each publish about a peer waits until the one before it has been answered. The same holds
 * with {@code REDIS_WAIT_REPLICAS}, where a numbered event is published only once a replica has
 * it, after the node's other publishes sent meanwhile. Otherwise, on one connection to one
 * server, the order holds by itself, and this passes every publish straight through.
 *
 * <p>A publish never goes ahead of an unanswered one: after a CLUSTERDOWN the client retries a
 * command with a backoff that doubles up to 1280 ms, and starts a later one at 10 ms, so one sent
 * ahead would overtake it. One that waited the Redis timeout is refused instead, as when Redis is
 * down, and its sender sends it again; so is every later one about the peer until the unanswered
 * one is answered. The client fails a command within about 15 s of retries; one still unanswered
 * after {@code abandonMs} (its connection hung) is given up, so that a peer's publishes are not
 * refused for ever.
 *
 * <p>A publish that waits is still sent, and answered, on its caller's context, as one that
 * does not wait is: callers touch their sessions in the answer, on their socket's thread.
 * Thread-safe.
 */
final class SenderOrder {
  private final ContextInternal fallback;
  private final boolean enabled;
  private final long timeoutMs;
  private final long abandonMs;
  // Each peer's last publish, completed once it and every one before it are answered (or refused,
  // or given up): the next one goes only then.
  private final ConcurrentHashMap<PeerId, Future<Void>> last = new ConcurrentHashMap<>();

  /**
   * {@code fallback} runs what a caller outside any Vert.x context asked for (the backplane's own
   * context).
   */
  SenderOrder(ContextInternal fallback, boolean enabled, long timeoutMs, long abandonMs) {
    this.fallback = fallback;
    this.enabled = enabled;
    this.timeoutMs = timeoutMs;
    this.abandonMs = abandonMs;
  }

  /**
   * Runs {@code publish} once the previous publish about {@code peer} has been answered; fails
   * without running it if that takes longer than the Redis timeout.
   */
  Future<Void> after(PeerId peer, Supplier<Future<Void>> publish) {
    if (!enabled || peer == null) {
      return publish.get();
    }
    Context current = Vertx.currentContext();
    ContextInternal caller = current instanceof ContextInternal internal ? internal : fallback;
    Promise<Void> answer = caller.promise();
    Promise<Void> settled = caller.promise();
    Future<Void> previous = last.put(peer, settled.future());
    settled.future().onComplete(ar -> last.remove(peer, settled.future()));
    if (previous == null) {
      send(caller, publish, answer, settled);
      return answer.future();
    }
    Promise<Void> turn = caller.promise();
    long deadline = caller.setTimer(timeoutMs, id -> turn.tryFail(
        "redis backplane: an earlier publish about this peer is still unanswered"));
    previous.onComplete(ar -> turn.tryComplete());
    // The caller's promise calls this back on the caller's context, whoever answered 'previous'.
    turn.future().onComplete(ar -> {
      caller.owner().cancelTimer(deadline);
      if (ar.succeeded()) {
        send(caller, publish, answer, settled);
      } else {
        answer.fail(ar.cause());
        previous.onComplete(before -> settled.tryComplete());
      }
    });
    return answer.future();
  }

  private void send(ContextInternal caller, Supplier<Future<Void>> publish, Promise<Void> answer,
      Promise<Void> settled) {
    long abandon = caller.setTimer(abandonMs, id -> settled.tryComplete());
    publish.get().onComplete(ar -> {
      caller.owner().cancelTimer(abandon);
      if (ar.succeeded()) {
        answer.complete();
      } else {
        answer.fail(ar.cause());
      }
      settled.tryComplete();
    });
  }

  /** Completes once every publish about {@code peer} made so far is answered (or refused, or given up). */
  Future<Void> settled(PeerId peer) {
    Future<Void> previous = peer == null ? null : last.get(peer);
    return previous == null ? Future.succeededFuture() : previous;
  }

  /** Peers with a publish not yet settled, for tests. */
  int pending() {
    return last.size();
  }
}
