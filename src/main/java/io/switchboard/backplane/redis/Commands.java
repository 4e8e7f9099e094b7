package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.SignalingMetrics;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The pooled client for ordinary commands (scripts, reads, heartbeats), each with the command
 * timeout and each failure counted. Futures complete on the context that issued the command.
 *
 * <p>A command answered by a node that is not the master ({@link Connections#wrongNode}) retires
 * the client that sent it: its pool may hold other connections to that node (opened after a
 * failover while the client's view of the sentinels was stale, or to a server turned replica),
 * which would fail every write for as long as they live. A fresh client is made, which asks the
 * sentinels again, and {@code onWrongNode} is told, so that the dedicated connections move too.
 * Any thread.
 */
final class Commands {
  private final Supplier<Redis> factory;
  private final long timeoutMs;
  private final SignalingMetrics metrics;
  private final Consumer<String> onWrongNode;
  private final boolean sharded;
  private Redis redis;
  private boolean closed;

  /**
   * @param sharded whether the client is a Redis Cluster's, where one pipeline must stay in one
   *     slot: {@link #batch} then sends each command on its own
   */
  Commands(Supplier<Redis> factory, long timeoutMs, SignalingMetrics metrics, Consumer<String> onWrongNode,
      boolean sharded) {
    this.factory = factory;
    this.timeoutMs = timeoutMs;
    this.metrics = metrics;
    this.onWrongNode = onWrongNode;
    this.sharded = sharded;
    this.redis = factory.get();
  }

  long timeoutMs() {
    return timeoutMs;
  }

  Future<Response> script(LuaScripts.Script script, List<String> keys, List<String> args) {
    Redis used = client();
    return LuaScripts.run(used, script, keys, args)
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> failed(used, script.name(), e));
  }

  Future<Response> send(Request request) {
    Redis used = client();
    return used.send(request)
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> failed(used, "command", e));
  }

  /**
   * Several commands pipelined on one connection: one round trip. On a Redis Cluster, where keys
   * of several slots cannot share a pipeline, each is sent on its own (still in parallel).
   */
  Future<List<Response>> batch(List<Request> requests, String operation) {
    if (sharded) {
      return Future.all(requests.stream().map(this::send).toList()).map(all -> all.<Response>list());
    }
    return pipeline(requests, operation);
  }

  /**
   * In one pipeline on one connection, so that Redis runs them in order on one server, a Redis
   * Cluster's too: every command there must be keyless or in the slot of the first keyed one.
   */
  Future<List<Response>> pipeline(List<Request> requests, String operation) {
    Redis used = client();
    return used.batch(requests)
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> failed(used, operation, e));
  }

  Future<Void> close() {
    Redis last;
    synchronized (this) {
      closed = true;
      last = redis;
    }
    return last.close();
  }

  private synchronized Redis client() {
    return redis;
  }

  /** Starts over with a fresh client, which asks the sentinels again: the master moved. */
  void recycle() {
    replace(client());
  }

  private void failed(Redis used, String operation, Throwable e) {
    metrics.backplaneError(operation);
    // Only the first failure of a client replaces it; the others were sent on it too.
    if (Connections.wrongNode(e) && replace(used)) {
      onWrongNode.accept(operation + ": " + e.getMessage());
    }
  }

  private boolean replace(Redis used) {
    synchronized (this) {
      if (closed || used != redis) {
        return false;
      }
      redis = factory.get();
    }
    used.close();
    return true;
  }
}
