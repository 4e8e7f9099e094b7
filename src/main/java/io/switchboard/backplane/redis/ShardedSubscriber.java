package io.switchboard.backplane.redis;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a Redis Cluster: a link's subscriber, made of one connection per master, to which it sends
 * each SSUBSCRIBE and SUNSUBSCRIBE by the slot of its channel, and which moves a channel by itself
 * when its slot moves. The Vert.x cluster connection cannot be used for this: it neither follows
 * a MOVED on SSUBSCRIBE nor hands the pushes of the connections it opens later to the handler.
 *
 * <p>A channel moves (is subscribed again where its slot now lives) when its master ends the
 * subscription with a {@code sunsubscribe} push nobody asked for, when a SSUBSCRIBE is answered
 * MOVED or ASK, when the connection to its master is lost, and when {@link SlotWatch} reads a new
 * master for its slot. The other channels, and the node's readiness, are left alone; once the
 * move is confirmed, {@code moved} is told, so that the room's members are asserted again. Only
 * messages from a channel's current home reach the handler, and only the confirmations of
 * subscriptions the caller asked for: the moves are this class's own business.
 *
 * <p>Confined to the backplane's context.
 */
final class ShardedSubscriber implements RedisConnection {
  private static final Logger log = LoggerFactory.getLogger(ShardedSubscriber.class);
  private static final long RETRY_MS = 100;
  private static final long MAX_RETRY_MS = 2000;

  private record Sent(String channel, boolean subscribe, boolean ownMove) {}

  /** One master's connection: the commands sent on it await their answers in order. */
  private final class Shard {
    final String address;
    final Redis client;
    final Future<RedisConnection> connection;
    final ArrayDeque<Sent> unanswered = new ArrayDeque<>();
    boolean lost;

    Shard(String address) {
      this.address = address;
      this.client = Redis.createClient(vertx, new RedisOptions(options)
          .setEndpoints(List.of(MasterKeyspaces.url(seed, address))).setMaxPoolSize(1));
      this.connection = client.connect().onSuccess(c -> {
        c.handler(push -> onPush(this, push));
        c.exceptionHandler(e -> lose(this, e.toString()));
        c.endHandler(v -> lose(this, "connection closed"));
      }).onFailure(e -> lose(this, e.toString()));
    }

    void send(Sent sent) {
      unanswered.add(sent);
      connection.onSuccess(c -> c.send(Request.cmd(sent.subscribe() ? pubSub.subscribe : pubSub.unsubscribe)
          .arg(sent.channel())).onFailure(e -> lose(this, e.toString())));
    }
  }

  private final Vertx vertx;
  private final ContextInternal context;
  private final RedisOptions options;
  private final URI seed;
  private final PubSub pubSub;
  private final Commands commands;
  private final Consumer<String> moved;
  private final Consumer<String> unsubscribed;
  // Whether the caller still wants a channel (subscribed, and not unsubscribed since).
  private final Predicate<String> wanted;
  // Slot -> its master, as CLUSTER SLOTS last named it.
  private String[] masters = new String[HashSlot.SLOTS];
  private final Map<String, Shard> shards = new HashMap<>();
  // Channel -> the shard it is subscribed on (or being), while the caller wants it.
  private final Map<String, Shard> homes = new HashMap<>();
  private Handler<Response> handler;
  // Channel -> whether its move is this class's own (see move), for the channels between homes.
  private final Map<String, Boolean> moving = new LinkedHashMap<>();
  private long retryMs = RETRY_MS;
  private long retry = -1;
  private boolean closed;

  /**
   * @param options network, TLS and credentials for the masters (standalone type)
   * @param seed a seed node's URL, whose scheme and credentials reach every master
   * @param moved told each channel that moved, once it is subscribed where it now lives
   * @param unsubscribed told each unsubscription that will get no answer (its master's connection
   *     was lost, or it was refused), and needs none: nothing arrives for its channel any more
   * @param wanted whether the caller still wants a channel, asked before a moving one is
   *     subscribed again
   */
  ShardedSubscriber(Vertx vertx, ContextInternal context, RedisOptions options, String seed, PubSub pubSub,
      Commands commands, Consumer<String> moved, Consumer<String> unsubscribed, Predicate<String> wanted) {
    this.vertx = vertx;
    this.context = context;
    this.options = options;
    this.seed = URI.create(seed);
    this.pubSub = pubSub;
    this.commands = commands;
    this.moved = moved;
    this.unsubscribed = unsubscribed;
    this.wanted = wanted;
  }

  /** Reads the slots' masters; the subscriber is usable once this completes. */
  Future<ShardedSubscriber> start() {
    return readMasters().map(this);
  }

  /**
   * The (un)subscription of {@code channel}; its answer comes as a push, as on one connection.
   *
   * @return false when nothing was sent, and no answer will come: an unsubscription of a channel
   *     that is moving, or whose master's connection is lost, so that nothing arrives for it anyway
   */
  boolean send(String channel, boolean subscribe) {
    if (subscribe) {
      Shard home = shardOf(channel);
      homes.put(channel, home);
      home.send(new Sent(channel, true, false));
      return true;
    }
    Shard home = homes.remove(channel);
    if (home == null || home.lost) {
      return false;
    }
    home.send(new Sent(channel, false, false));
    return true;
  }

  /** {@link SlotWatch} read new masters: the channels in {@code changed} slots move. */
  void slotsMoved(BitSet changed, String[] now) {
    if (closed) {
      return;
    }
    masters = now;
    if (!moving.isEmpty() && retry >= 0) {
      // Channels waiting out a pause (their master died) find their new master now.
      vertx.cancelTimer(retry);
      retry = -1;
      resubscribeMoving();
    }
    for (String channel : List.copyOf(homes.keySet())) {
      if (changed.get(HashSlot.of(channel)) && !homes.get(channel).address.equals(now[HashSlot.of(channel)])) {
        move(channel, true);
      }
    }
  }

  private void onPush(Shard shard, Response push) {
    if (closed || shard.lost) {
      return;
    }
    if (push.type() == ResponseType.ERROR) {
      // A refused (un)subscription: the answer to the oldest one unanswered on this connection.
      Sent refused = shard.unanswered.poll();
      String error = push.toString();
      if (refused != null && !refused.subscribe() && !refused.ownMove()) {
        unsubscribed.accept(refused.channel());
      }
      if (refused == null || !refused.subscribe() || homes.get(refused.channel()) != shard) {
        return;
      }
      if (error.startsWith("MOVED") || error.startsWith("ASK")) {
        String[] parts = error.split(" ");
        masters[Integer.parseInt(parts[1])] = parts[2];
      } else {
        log.warn("the subscriber connection to {} answered {}", shard.address, error);
      }
      move(refused.channel(), refused.ownMove());
      return;
    }
    if (push.size() < 2) {
      return;
    }
    String kind = push.get(0).toString();
    String channel = push.get(1).toString();
    if (kind.equals(pubSub.message)) {
      if (homes.get(channel) == shard && handler != null) {
        handler.handle(push);
      }
      return;
    }
    boolean subscribed = kind.equals(pubSub.subscribed);
    if (!subscribed && !kind.equals(pubSub.unsubscribed)) {
      return;
    }
    Sent head = shard.unanswered.peek();
    if (head != null && head.channel().equals(channel) && head.subscribe() == subscribed) {
      shard.unanswered.poll();
      retryMs = RETRY_MS;
      if (!head.ownMove()) {
        if (handler != null) {
          handler.handle(push);
        }
      } else if (homes.get(channel) == shard) {
        moved.accept(channel);
      }
    } else if (!subscribed && homes.get(channel) == shard) {
      // Nobody asked: the master gave the slot up (a migration, or it is a replica now). Per
      // channel, so debug: a failover moves every room of a master at once.
      log.debug("the subscription to {} on {} ended: its slot moved", channel, shard.address);
      move(channel, true);
    }
  }

  // Subscribes 'channel' again where its slot now lives, once the slot map has been read again.
  // 'ownMove': whether its confirmation is this class's business, not the caller's.
  private void move(String channel, boolean ownMove) {
    homes.remove(channel);
    moving.merge(channel, ownMove, Boolean::logicalAnd);
    if (retry >= 0) {
      return;
    }
    // One reading of the slot map for every channel moving; the pause doubles while nothing gets
    // confirmed (a failover takes seconds).
    long delay = retryMs;
    retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
    retry = vertx.setTimer(delay, id -> readMasters().onComplete(ar -> {
      retry = -1;
      if (!closed) {
        resubscribeMoving();
      }
    }));
  }

  private void resubscribeMoving() {
    List<Map.Entry<String, Boolean>> all = List.copyOf(moving.entrySet());
    moving.clear();
    for (Map.Entry<String, Boolean> entry : all) {
      String channel = entry.getKey();
      if (!wanted.test(channel) || homes.containsKey(channel)) {
        continue; // unsubscribed meanwhile, or subscribed again by the caller
      }
      if (masters[HashSlot.of(channel)] == null) {
        move(channel, entry.getValue()); // no master serves its slot yet: a failover under way
        continue;
      }
      Shard home = shardOf(channel);
      homes.put(channel, home);
      home.send(new Sent(channel, true, entry.getValue()));
    }
  }

  private void lose(Shard shard, String why) {
    if (closed || shard.lost) {
      return;
    }
    shard.lost = true;
    shards.remove(shard.address, shard);
    shard.client.close();
    log.info("the subscriber connection to {} is lost ({}); its channels move", shard.address, why);
    // A subscription the caller still awaits is confirmed to it once made elsewhere.
    Set<String> awaited = new HashSet<>();
    for (Sent sent : shard.unanswered) {
      if (sent.subscribe() && !sent.ownMove()) {
        awaited.add(sent.channel());
      } else if (!sent.subscribe()) {
        unsubscribed.accept(sent.channel());
      }
    }
    for (Map.Entry<String, Shard> home : List.copyOf(homes.entrySet())) {
      if (home.getValue() == shard) {
        move(home.getKey(), !awaited.contains(home.getKey()));
      }
    }
  }

  private Shard shardOf(String channel) {
    String address = masters[HashSlot.of(channel)];
    if (address == null) {
      throw new IllegalStateException("no master serves the slot of " + channel);
    }
    return shards.computeIfAbsent(address, Shard::new);
  }

  private Future<Void> readMasters() {
    return commands.send(Request.cmd(Command.CLUSTER).arg("SLOTS"))
        .onSuccess(slots -> masters = SlotWatch.masters(slots))
        .mapEmpty();
  }

  // ---- RedisConnection: what Connections and Subscriptions use of a subscriber ----

  @Override
  public RedisConnection handler(Handler<Response> handler) {
    this.handler = handler;
    return this;
  }

  /** Not used: a lost master's connection moves its channels instead of ending the link. */
  @Override
  public RedisConnection exceptionHandler(Handler<Throwable> handler) {
    return this;
  }

  /** Not used, as {@link #exceptionHandler}. */
  @Override
  public RedisConnection endHandler(Handler<Void> handler) {
    return this;
  }

  @Override
  public RedisConnection pause() {
    return this;
  }

  @Override
  public RedisConnection resume() {
    return this;
  }

  @Override
  public RedisConnection fetch(long amount) {
    return this;
  }

  /** Not used: the subscriptions go through {@link #send(String, boolean)}. */
  @Override
  public Future<Response> send(Request command) {
    return context.failedFuture("a sharded subscriber takes only (un)subscriptions");
  }

  @Override
  public Future<List<Response>> batch(List<Request> commands) {
    return context.failedFuture("a sharded subscriber takes only (un)subscriptions");
  }

  @Override
  public Future<Void> close() {
    closed = true;
    if (retry >= 0) {
      vertx.cancelTimer(retry);
      retry = -1;
    }
    moving.clear();
    List<Future<Void>> all = new ArrayList<>();
    shards.values().forEach(shard -> all.add(shard.client.close()));
    shards.clear();
    homes.clear();
    return Future.join(all).mapEmpty();
  }

  @Override
  public boolean pendingQueueFull() {
    return false;
  }
}
