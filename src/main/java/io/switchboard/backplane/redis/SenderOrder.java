package io.switchboard.backplane.redis;

import io.switchboard.wire.PeerId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Keeps one peer's publishes in the order the node made them, on a Redis Cluster. The cluster
 * client sends a command that MOVED, ASK, TRYAGAIN or CLUSTERDOWN turned away again, on its own
 * time, while the commands after it may already go straight to the slot's new master: during a
 * failover or a slot migration one sender's relays could overtake each other, and a numbered one
 * that is overtaken would look like a retransmission to publish.lua and be dropped as one. So
 * there each publish about a peer waits until the one before it has been answered, or for at
 * most the Redis timeout. On one connection to one server the order holds by itself, and this
 * passes every publish straight through. Thread-safe.
 */
final class SenderOrder {
  private final ContextInternal context;
  private final boolean enabled;
  private final long timeoutMs;
  // The last publish about each peer, until it has been answered.
  private final ConcurrentHashMap<PeerId, Future<Void>> last = new ConcurrentHashMap<>();

  SenderOrder(ContextInternal context, boolean enabled, long timeoutMs) {
    this.context = context;
    this.enabled = enabled;
    this.timeoutMs = timeoutMs;
  }

  /** Runs {@code publish} once the previous publish about {@code peer} has been answered. */
  Future<Void> after(PeerId peer, Supplier<Future<Void>> publish) {
    if (!enabled || peer == null) {
      return publish.get();
    }
    Promise<Void> mine = context.promise();
    Future<Void> previous = last.put(peer, mine.future());
    if (previous == null) {
      publish.get().onComplete(mine);
    } else {
      // A publish that is never answered must not hold the peer's later ones for ever.
      Future.any(previous.otherwiseEmpty(), context.timer(timeoutMs, TimeUnit.MILLISECONDS))
          .onComplete(ar -> publish.get().onComplete(mine));
    }
    mine.future().onComplete(ar -> last.remove(peer, mine.future()));
    return mine.future();
  }

  /** Peers with a publish not yet answered, for tests. */
  int pending() {
    return last.size();
  }
}
