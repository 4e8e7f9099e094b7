package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.SignalingMetrics;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The pooled client for ordinary commands (scripts, reads, heartbeats), each with the command
 * timeout and each failure counted. Futures complete on the context that issued the command.
 */
final class Commands {
  private final Redis redis;
  private final long timeoutMs;
  private final SignalingMetrics metrics;

  Commands(Redis redis, long timeoutMs, SignalingMetrics metrics) {
    this.redis = redis;
    this.timeoutMs = timeoutMs;
    this.metrics = metrics;
  }

  long timeoutMs() {
    return timeoutMs;
  }

  Future<Response> script(LuaScripts.Script script, List<String> keys, List<String> args) {
    return LuaScripts.run(redis, script, keys, args)
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> metrics.backplaneError(script.name()));
  }

  Future<Response> send(Request request) {
    return redis.send(request)
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> metrics.backplaneError("command"));
  }

  /** Several commands pipelined on one connection: one round trip. */
  Future<List<Response>> batch(List<Request> requests, String operation) {
    return redis.batch(requests)
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> metrics.backplaneError(operation));
  }

  Future<Void> close() {
    return redis.close();
  }
}
