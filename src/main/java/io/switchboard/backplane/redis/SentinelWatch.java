package io.switchboard.backplane.redis;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens on one sentinel for {@code +switch-master} of our master, so that a failover moves the
 * node at once. Without it the node would stay on the old master until Sentinel reconfigures it
 * as a replica and kills its clients, seconds later; meanwhile the pooled commands, whose
 * topology the client refreshes every second, would already be writing to the new master.
 *
 * <p>Losing the sentinel is not losing Redis: the watch only logs and tries again every
 * {@link #RETRY_MS}, through whichever sentinel answers. Confined to the backplane's context.
 */
final class SentinelWatch {
  private static final Logger log = LoggerFactory.getLogger(SentinelWatch.class);
  static final String CHANNEL = "+switch-master";
  private static final long RETRY_MS = 1000;
  /** How long after a switch to reconnect: sentinels were seen to agree about 250 ms after it. */
  static final long SETTLE_MS = 500;

  private final Vertx vertx;
  private final ContextInternal context;
  private final RedisOptions options;
  private final String master;
  private final Consumer<String> onSwitch;
  private Redis client;
  private long retryTimer = -1;
  private boolean closed;

  /** @param options reaching a sentinel ({@link RedisTarget#sentinels}) */
  SentinelWatch(Vertx vertx, ContextInternal context, RedisOptions options, String master, Consumer<String> onSwitch) {
    this.vertx = vertx;
    this.context = context;
    this.options = options;
    this.master = master;
    this.onSwitch = onSwitch;
  }

  void start() {
    if (closed) {
      return;
    }
    // A client per try: closing it drops whatever half-open socket the try left.
    Redis attempt = Redis.createClient(vertx, options);
    client = attempt;
    attempt.connect()
        .compose(connection -> {
          connection.handler(this::onPush);
          connection.exceptionHandler(e -> retry(attempt, e.toString()));
          connection.endHandler(v -> retry(attempt, "connection closed"));
          return connection.send(Request.cmd(Command.SUBSCRIBE).arg(CHANNEL));
        })
        .onFailure(e -> retry(attempt, e.toString()));
  }

  Future<Void> close() {
    closed = true;
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
      retryTimer = -1;
    }
    return client == null ? context.succeededFuture() : client.close();
  }

  private void onPush(Response push) {
    if (push == null || push.size() < 3 || !"message".equals(push.get(0).toString())) {
      return;
    }
    // "<master name> <old ip> <old port> <new ip> <new port>"
    String switched = push.get(2).toString();
    if (switched.startsWith(master + " ")) {
      log.warn("sentinel reports a failover of {}: {}", master, switched);
      onSwitch.accept(switched);
    }
  }

  private void retry(Redis attempt, String why) {
    if (closed || attempt != client || retryTimer >= 0) {
      return;
    }
    log.warn("cannot watch the sentinels for failovers ({}); retrying in {} ms", why, RETRY_MS);
    attempt.close();
    retryTimer = vertx.setTimer(RETRY_MS, id -> {
      retryTimer = -1;
      start();
    });
  }
}
