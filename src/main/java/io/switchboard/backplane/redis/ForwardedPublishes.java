package io.switchboard.backplane.redis;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * On a Redis Cluster, answers a publish that ran on a replica only once it has reached the
 * channel's master, so that the next publish about the same peer ({@link SenderOrder} sends it
 * after this answer) cannot overtake it there.
 *
 * <p>Redis 7 runs an SPUBLISH sent to a replica of the channel's master instead of answering
 * MOVED, and passes the message to the master over the cluster bus, which delivers it later than
 * an SPUBLISH sent to the master directly. After a failover the cluster client keeps sending to
 * the old master, now a replica, until it reads the slot map again (once a second), so the first
 * relay sent to the new master could overtake the last one sent to the old. The reply tells the
 * two apart: it counts the receivers on the node that ran the command, and this node's own
 * subscriber is one of them on the channel's master. A reply of 0 therefore means the message ran
 * elsewhere, and its answer waits until this node's own subscription hears it, or
 * {@code waitMs} at most (the channel's subscription may be moving too, then there is nothing to
 * hear; the cluster bus takes far less). A node that is not subscribed to the channel gets 0 as
 * well and waits the bound, which only delays that peer's next publish.
 *
 * <p>Thread-safe: publishes are made on their callers' threads, echoes heard on the backplane's.
 */
final class ForwardedPublishes {
  private final Vertx vertx;
  private final long waitMs;
  private final ConcurrentHashMap<Sent, Promise<Void>> awaited = new ConcurrentHashMap<>();

  private record Sent(RoomId room, PeerId peer, long sentMicros) {}

  ForwardedPublishes(Vertx vertx, long waitMs) {
    this.vertx = vertx;
    this.waitMs = waitMs;
  }

  /**
   * Sends the publish about {@code peer} in {@code room} stamped {@code sentMicros} that
   * {@code publish} makes, and answers it once it has reached the channel's master: at once when
   * the reply counts any receiver, else when this node hears it or after the bound.
   */
  Future<Void> send(RoomId room, PeerId peer, long sentMicros, Supplier<Future<Long>> publish) {
    Sent sent = new Sent(room, peer, sentMicros);
    // Expected before it is sent: the echo can come back before the reply does.
    Promise<Void> heard = Promise.promise();
    awaited.put(sent, heard);
    return publish.get()
        .onFailure(e -> awaited.remove(sent, heard))
        .compose(receivers -> {
          if (receivers > 0) {
            awaited.remove(sent, heard);
            return Future.succeededFuture();
          }
          long bound = vertx.setTimer(waitMs, id -> heard.tryComplete());
          return heard.future().onComplete(v -> {
            vertx.cancelTimer(bound);
            awaited.remove(sent, heard);
          });
        });
  }

  /** This node's subscription delivered its own publish about {@code peer} stamped {@code sentMicros}. */
  void heard(RoomId room, PeerId peer, long sentMicros) {
    Promise<Void> heard = awaited.get(new Sent(room, peer, sentMicros));
    if (heard != null) {
      heard.tryComplete();
    }
  }

  /** Publishes still waiting to be heard, for tests. */
  int awaited() {
    return awaited.size();
  }
}
