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
 * there each publish about a peer waits until the one before it has been answered, or for at
 * most the Redis timeout. The same holds with {@code REDIS_WAIT_REPLICAS}, where a numbered event
 * is published only once a replica has it, after the node's other publishes sent meanwhile.
 * Otherwise, on one connection to one server, the order holds by itself, and this passes every
 * publish straight through.
 *
 * <p>A publish that waits is still sent, and answered, on its caller's context, as one that
 * does not wait is: callers touch their sessions in the answer, on their socket's thread.
 * Thread-safe.
 */
final class SenderOrder {
  private final ContextInternal fallback;
  private final boolean enabled;
  private final long timeoutMs;
  // The last publish about each peer, until it has been answered.
  private final ConcurrentHashMap<PeerId, Future<Void>> last = new ConcurrentHashMap<>();

  /**
   * {@code fallback} runs what a caller outside any Vert.x context asked for (the backplane's own
   * context).
   */
  SenderOrder(ContextInternal fallback, boolean enabled, long timeoutMs) {
    this.fallback = fallback;
    this.enabled = enabled;
    this.timeoutMs = timeoutMs;
  }

  /** Runs {@code publish} once the previous publish about {@code peer} has been answered. */
  Future<Void> after(PeerId peer, Supplier<Future<Void>> publish) {
    if (!enabled || peer == null) {
      return publish.get();
    }
    Context current = Vertx.currentContext();
    ContextInternal caller = current instanceof ContextInternal internal ? internal : fallback;
    Promise<Void> mine = caller.promise();
    Future<Void> previous = last.put(peer, mine.future());
    if (previous == null) {
      publish.get().onComplete(mine);
    } else {
      Promise<Void> turn = caller.promise();
      // A publish that is never answered must not hold the peer's later ones for ever.
      long deadline = caller.setTimer(timeoutMs, id -> turn.tryComplete());
      previous.onComplete(ar -> turn.tryComplete());
      // The caller's promise calls this back on the caller's context, whoever answered 'previous'.
      turn.future().onComplete(ar -> {
        caller.owner().cancelTimer(deadline);
        publish.get().onComplete(mine);
      });
    }
    mine.future().onComplete(ar -> last.remove(peer, mine.future()));
    return mine.future();
  }

  /** Peers with a publish not yet answered, for tests. */
  int pending() {
    return last.size();
  }
}
