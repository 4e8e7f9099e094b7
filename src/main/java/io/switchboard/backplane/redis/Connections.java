package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.BackplaneMessage;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The two dedicated connections (one SUBSCRIBE connection, one PUBLISH connection) and their
 * reconnection.
 *
 * <p>Each connection attempt is a {@link Link} with a generation number and a Redis client of its
 * own, so that retiring an attempt closes every socket it opened, including one whose connect or
 * handshake completes only later (the client's socket group stays closed). An attempt builds its
 * connections in its own link and is installed only if it is still the current attempt when it
 * finishes within {@code attemptTimeoutMs}; a late or superseded attempt installs nothing.
 *
 * <p>Confined to the backplane's context, except {@link #readyPublisher()} and {@link #ready()},
 * which any thread may read.
 */
final class Connections {
  private static final Logger log = LoggerFactory.getLogger(Connections.class);
  private static final long INITIAL_BACKOFF_MS = 100;
  private static final long MAX_BACKOFF_MS = 2000;

  /** What the backplane does over a link's life; every call is on the backplane's context. */
  interface Hooks {
    /** A push (message or (un)subscribe confirmation) on the current link's subscriber. */
    void onPush(Response push);

    /**
     * Both connections of a new link are open but not yet installed: resubscribe, re-register
     * and so on. The link turns ready when this completes within the attempt's timeout.
     */
    Future<Void> prepare(Link link);

    /** A link that had reached {@link #prepare} is gone (lost, timed out or closed). */
    void lost(Link link);

    /** A reconnection (not the first connection) succeeded. */
    void reconnected();
  }

  /** One connection attempt and, once installed, the live connections. */
  static final class Link {
    final long generation;
    final Redis client;
    RedisConnection subscriber;
    RedisConnection publisher;
    boolean prepared;
    boolean retired;

    private Link(long generation, Redis client) {
      this.generation = generation;
      this.client = client;
    }
  }

  private final Vertx vertx;
  private final ContextInternal context;
  private final RedisOptions options;
  private final RedisKeys keys;
  private final long attemptTimeoutMs;
  private final boolean masterOnly;
  private final Function<Link, Future<RedisConnection>> subscribers;
  private Hooks hooks;

  private Link current;
  private long generation;
  private boolean attempting;
  private long reconnectTimer = -1;
  private long backoffMs = INITIAL_BACKOFF_MS;
  private boolean closed;
  // The installed link's publisher, null while not ready: the one field read off the context.
  private volatile RedisConnection readyPublisher;

  /**
   * @param options for the attempts' own clients: two connections each
   * @param masterOnly whether each connection must first show with ROLE that it reached a master:
   *     in sentinel mode a sentinel that has not yet heard of a failover names the old master,
   *     which accepts a SUBSCRIBE and a PUBLISH even once it is a replica, silently cut off from
   *     the nodes on the new master
   */
  Connections(Vertx vertx, ContextInternal context, RedisOptions options, RedisKeys keys, long attemptTimeoutMs,
      boolean masterOnly) {
    this(vertx, context, options, keys, attemptTimeoutMs, masterOnly, link -> link.client.connect());
  }

  /**
   * @param subscribers makes a link's subscriber (by default a connection of the link's own
   *     client; on a Redis Cluster, a {@link ShardedSubscriber}, which the link closes with it)
   */
  Connections(Vertx vertx, ContextInternal context, RedisOptions options, RedisKeys keys, long attemptTimeoutMs,
      boolean masterOnly, Function<Link, Future<RedisConnection>> subscribers) {
    this.vertx = vertx;
    this.context = context;
    this.options = options;
    this.keys = keys;
    this.attemptTimeoutMs = attemptTimeoutMs;
    this.masterOnly = masterOnly;
    this.subscribers = subscribers;
  }

  /**
   * True for the errors of a node that is not (or no longer) the master: the link must move, as
   * if it had dropped. READONLY comes from a replica, MASTERDOWN from a replica cut off from its
   * master (replica-serve-stale-data no).
   */
  static boolean wrongNode(Throwable e) {
    String message = e.getMessage();
    return message != null && (message.startsWith("READONLY") || message.startsWith("MASTERDOWN"));
  }

  /** The first connection; no retry if it fails (start-up reports the failure). */
  Future<Void> start(Hooks hooks) {
    this.hooks = hooks;
    return attempt();
  }

  /** True while a link is installed. Any thread. */
  boolean ready() {
    return readyPublisher != null;
  }

  /** The installed link's publisher, or null. Any thread: {@link RedisConnection#send} is. */
  RedisConnection readyPublisher() {
    return readyPublisher;
  }

  /**
   * PUBLISHes {@code message}, stamped {@code sentMicros}, on {@code publisher}; answers Redis's
   * reply, how many subscribers the server that ran it delivered it to. Any thread.
   */
  Future<Response> publish(RedisConnection publisher, BackplaneMessage message, long sentMicros) {
    return publisher.send(Request.cmd(keys.pubSub().publish).arg(keys.events(message.room()))
        .arg(WireFormat.encode(message, sentMicros)));
  }

  /** Something showed the link is broken (a heartbeat failed): drop it and reconnect. */
  void markDown(String why) {
    if (closed || current == null) {
      return;
    }
    if (ready()) {
      log.warn("redis backplane down ({}); relays to other nodes are dropped until it reconnects", why);
    }
    retire(current);
    scheduleReconnect();
  }

  /**
   * The master moved: drop the link now, and try again after {@code settleMs}, so that the
   * sentinel the client asks first has heard of the move too (they learn it from each other
   * within a few hundred milliseconds). Asked earlier, it could name the old master, which stays
   * a master until Sentinel reconfigures it, seconds later. A retry already waiting (the master
   * died, and the backoff grew while Sentinel elected another) is brought forward to then.
   */
  void moved(String why, long settleMs) {
    if (closed) {
      return;
    }
    if (reconnectTimer >= 0) {
      vertx.cancelTimer(reconnectTimer);
      reconnectTimer = -1;
    }
    backoffMs = settleMs;
    if (current != null) {
      markDown(why);
    } else {
      scheduleReconnect();
    }
  }

  /** Retires the current link for good; no reconnection after this. */
  Future<Void> close() {
    closed = true;
    if (reconnectTimer >= 0) {
      vertx.cancelTimer(reconnectTimer);
      reconnectTimer = -1;
    }
    Link last = current;
    return last == null ? context.succeededFuture() : retire(last);
  }

  private Future<Void> attempt() {
    attempting = true;
    Link link = new Link(++generation, Redis.createClient(vertx, options));
    current = link;
    return subscribers.apply(link)
        .compose(sub -> adopt(link, sub, true))
        .compose(v -> link.client.connect())
        .compose(pub -> adopt(link, pub, false))
        .compose(v -> masterOnly ? isMaster(link.subscriber).compose(w -> isMaster(link.publisher))
            : context.succeededFuture())
        .compose(v -> {
          link.prepared = true;
          return hooks.prepare(link);
        })
        .timeout(attemptTimeoutMs, TimeUnit.MILLISECONDS)
        .compose(v -> install(link))
        .onFailure(e -> retire(link))
        .onComplete(ar -> attempting = false);
  }

  private Future<Void> adopt(Link link, RedisConnection connection, boolean subscriber) {
    if (link.retired) {
      // Timed out or superseded meanwhile; retiring closed the client, and with it this socket.
      return context.failedFuture("connection attempt " + link.generation + " abandoned");
    }
    if (subscriber) {
      link.subscriber = connection;
      connection.handler(push -> {
        if (link == current && !link.retired) {
          hooks.onPush(push);
        }
      });
    } else {
      link.publisher = connection;
      CoalescedFlushes.apply(connection);
    }
    connection.exceptionHandler(e -> lost(link, e.toString()));
    connection.endHandler(v -> lost(link, "connection closed"));
    return context.succeededFuture();
  }

  private Future<Void> isMaster(RedisConnection connection) {
    return connection.send(Request.cmd(Command.ROLE)).compose(role -> {
      String name = role == null || role.size() == 0 ? "nothing" : role.get(0).toString();
      return "master".equals(name) ? context.succeededFuture()
          : context.failedFuture("the sentinels named a " + name + ", not a master (a failover under way?)");
    });
  }

  private Future<Void> install(Link link) {
    if (closed || link != current || link.retired) {
      return context.failedFuture("connection attempt " + link.generation + " superseded");
    }
    readyPublisher = link.publisher;
    backoffMs = INITIAL_BACKOFF_MS;
    return context.succeededFuture();
  }

  private void lost(Link link, String why) {
    if (link == current && !link.retired) {
      markDown(why);
    }
  }

  private Future<Void> retire(Link link) {
    if (link.retired) {
      return context.succeededFuture();
    }
    link.retired = true;
    if (link == current) {
      current = null;
      readyPublisher = null;
    }
    if (link.prepared) {
      hooks.lost(link);
    }
    Future<Void> subscriberClosed = link.subscriber instanceof ShardedSubscriber sharded ? sharded.close()
        : context.succeededFuture();
    return subscriberClosed.transform(ar -> link.client.close());
  }

  private void scheduleReconnect() {
    if (closed || attempting || reconnectTimer >= 0) {
      return;
    }
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    reconnectTimer = vertx.setTimer(delay, id -> {
      reconnectTimer = -1;
      if (closed) {
        return;
      }
      attempt().onComplete(ar -> {
        if (ar.succeeded()) {
          hooks.reconnected();
        } else {
          log.debug("redis reconnect failed: {}", ar.cause().toString());
          scheduleReconnect();
        }
      });
    });
  }
}
