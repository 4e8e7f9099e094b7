package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.switchboard.wire.LeaveReason;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster backplane on Redis (standalone {@code redis://} or {@code rediss://}).
 *
 * <ul>
 *   <li>Membership: Lua scripts (join with capacity check, leave, reap, reassert) on the
 *       pooled command client; keys in {@link RedisKeys}.</li>
 *   <li>Fan-out: one PUBLISH per message on a dedicated publisher connection (one connection,
 *       so one sender's messages reach Redis in order), and one dedicated SUBSCRIBE connection
 *       that holds a room's channel while the node has members there.</li>
 *   <li>Liveness: every heartbeat interval the node refreshes its TTL key and runs the reaper,
 *       which removes the members of nodes whose key expired and announces {@code peer-left}
 *       with reason {@code node-lost}.</li>
 *   <li>Outage: when either dedicated connection drops or a heartbeat fails, {@link #ready()}
 *       turns false, publishes fail fast (those relays are lost), and the backplane reconnects
 *       with capped exponential backoff; then it resubscribes every held room, re-asserts the
 *       members it holds and turns ready again.</li>
 * </ul>
 *
 * <p>Thread-safe. Connection state changes happen on the Vert.x context that ran {@link #start};
 * membership and subscription counts live in concurrent maps.
 */
public final class RedisBackplane implements Backplane {
  private static final Logger log = LoggerFactory.getLogger(RedisBackplane.class);
  private static final long INITIAL_BACKOFF_MS = 100;
  private static final long MAX_BACKOFF_MS = 2000;

  private final Vertx vertx;
  private final RedisKeys keys;
  private final String nodeId;
  private final long heartbeatMs;
  private final long nodeTimeoutMs;
  private final long commandTimeoutMs;
  private final SignalingMetrics metrics;
  private final Redis redis;

  // Room -> local subscription count. A SUBSCRIBE/UNSUBSCRIBE is sent inside compute() for the
  // 0->1 and 1->0 transitions, which keeps the commands for one room in transition order.
  private final ConcurrentHashMap<RoomId, Integer> subscriptions = new ConcurrentHashMap<>();
  // Channel -> promise completed by Redis's subscribe confirmation.
  private final ConcurrentHashMap<String, Promise<Void>> pendingSubscribes = new ConcurrentHashMap<>();
  // Room -> peer -> meta: the members this node has asserted, re-asserted after an outage.
  private final ConcurrentHashMap<RoomId, ConcurrentHashMap<PeerId, String>> held = new ConcurrentHashMap<>();
  // Leaves not yet answered, which close() waits for.
  private final java.util.Set<Future<Void>> leavesInFlight = ConcurrentHashMap.newKeySet();
  // Leaves that failed (Redis unreachable): retried, and announced, once it is back.
  private final java.util.Set<BackplaneMessage> failedLeaves = ConcurrentHashMap.newKeySet();

  private volatile BackplaneListener listener;
  private volatile RedisConnection subscriber;
  private volatile RedisConnection publisher;
  private volatile boolean connected;
  private volatile boolean closed;
  private final AtomicBoolean reconnecting = new AtomicBoolean();
  private long backoffMs = INITIAL_BACKOFF_MS;
  private long timerId = -1;

  /**
   * @param url a {@code redis://} or {@code rediss://} URL, with password if needed
   * @param tlsCaFile PEM file of the CA certificates to trust for {@code rediss://}, or empty for
   *     the JVM's default trust store
   * @param prefix prefix of every key and channel
   */
  public RedisBackplane(Vertx vertx, String url, String tlsCaFile, String prefix, String nodeId, long heartbeatMs,
      long nodeTimeoutMs, long commandTimeoutMs, SignalingMetrics metrics) {
    this.vertx = vertx;
    this.keys = new RedisKeys(prefix);
    this.nodeId = nodeId;
    this.heartbeatMs = heartbeatMs;
    this.nodeTimeoutMs = nodeTimeoutMs;
    this.commandTimeoutMs = commandTimeoutMs;
    this.metrics = metrics;
    // The client upgrades a rediss:// connection to TLS with these options; the certificate's
    // name must match the URL's host.
    NetClientOptions net = new NetClientOptions()
        .setConnectTimeout((int) commandTimeoutMs)
        .setHostnameVerificationAlgorithm("HTTPS");
    if (!tlsCaFile.isEmpty()) {
      net.setTrustOptions(new PemTrustOptions().addCertPath(tlsCaFile));
    }
    this.redis = Redis.createClient(vertx, new RedisOptions()
        .setConnectionString(url)
        .setNetClientOptions(net)
        .setMaxPoolSize(8)
        .setMaxPoolWaiting(4096)
        .setMaxWaitingHandlers(65536));
  }

  @Override
  public Future<Void> start(BackplaneListener listener) {
    this.listener = listener;
    return connect().onSuccess(v -> timerId = vertx.setPeriodic(heartbeatMs, id -> tick()));
  }

  @Override
  public boolean ready() {
    return connected;
  }

  // ---- connections ----

  private Future<Void> connect() {
    return redis.connect()
        .compose(sub -> {
          sub.handler(this::onPush);
          sub.exceptionHandler(e -> connectionLost(sub, e));
          sub.endHandler(v -> connectionLost(sub, null));
          subscriber = sub;
          return redis.connect();
        })
        .compose(pub -> {
          pub.exceptionHandler(e -> connectionLost(pub, e));
          pub.endHandler(v -> connectionLost(pub, null));
          publisher = pub;
          return resubscribeAll();
        })
        .compose(v -> heartbeat())
        .compose(v -> reassertHeld())
        .compose(v -> retryFailedLeaves())
        .timeout(commandTimeoutMs * 3, TimeUnit.MILLISECONDS)
        .onSuccess(v -> {
          connected = true;
          backoffMs = INITIAL_BACKOFF_MS;
        })
        .onFailure(e -> closeConnections());
  }

  private void connectionLost(RedisConnection which, Throwable cause) {
    if (which != subscriber && which != publisher) {
      return; // an old connection closing after we replaced it
    }
    markDown(cause == null ? "connection closed" : cause.toString());
  }

  private void markDown(String why) {
    if (closed) {
      return;
    }
    if (connected) {
      log.warn("redis backplane down ({}); relays to other nodes are dropped until it reconnects", why);
    }
    connected = false;
    closeConnections();
    scheduleReconnect();
  }

  private void scheduleReconnect() {
    if (closed || !reconnecting.compareAndSet(false, true)) {
      return;
    }
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    vertx.setTimer(delay, id -> connect().onComplete(ar -> {
      reconnecting.set(false);
      if (ar.succeeded()) {
        metrics.backplaneReconnected();
        log.info("redis backplane reconnected; resubscribed {} rooms", subscriptions.size());
        // Wait one node timeout first: by then every live node has reconnected and re-asserted
        // its members (a restarted Redis may have lost them all), so only real departures show.
        vertx.setTimer(nodeTimeoutMs, t -> resyncRooms());
      } else if (!closed) {
        log.debug("redis reconnect failed: {}", ar.cause().toString());
        scheduleReconnect();
      }
    }));
  }

  private void closeConnections() {
    RedisConnection sub = subscriber;
    RedisConnection pub = publisher;
    subscriber = null;
    publisher = null;
    pendingSubscribes.values().forEach(p -> p.tryFail("redis connection lost"));
    pendingSubscribes.clear();
    if (sub != null) {
      sub.close();
    }
    if (pub != null) {
      pub.close();
    }
  }

  // ---- pub/sub ----

  private Future<Void> resubscribeAll() {
    List<Future<Void>> confirmations = new ArrayList<>();
    for (RoomId room : subscriptions.keySet()) {
      confirmations.add(sendSubscribe(room));
    }
    return Future.all(confirmations).mapEmpty();
  }

  private Future<Void> sendSubscribe(RoomId room) {
    RedisConnection sub = subscriber;
    if (sub == null) {
      return Future.failedFuture("redis not connected");
    }
    String channel = keys.events(room);
    Promise<Void> confirmed = Promise.promise();
    pendingSubscribes.put(channel, confirmed);
    sub.send(Request.cmd(Command.SUBSCRIBE).arg(channel))
        .onFailure(confirmed::tryFail);
    return confirmed.future().timeout(commandTimeoutMs, TimeUnit.MILLISECONDS);
  }

  private void onPush(Response push) {
    if (push == null || push.size() < 3) {
      return;
    }
    String kind = push.get(0).toString();
    if ("message".equals(kind)) {
      RoomId room = keys.roomOfChannel(push.get(1).toString());
      if (room == null) {
        return;
      }
      WireFormat.Decoded decoded;
      try {
        decoded = WireFormat.decode(room, push.get(2).toBuffer());
      } catch (RuntimeException e) {
        metrics.backplaneError("decode");
        log.debug("undecodable message on {}", room, e);
        return;
      }
      BackplaneMessage message = decoded.message();
      if (message.originNode().equals(nodeId)) {
        return; // our own publish, already delivered locally
      }
      metrics.backplaneReceived();
      if (message.event() instanceof Relayed) {
        metrics.crossNodeLatencyMicros(nowMicros() - decoded.sentMicros());
      }
      listener.onMessage(message);
    } else if ("subscribe".equals(kind)) {
      Promise<Void> confirmed = pendingSubscribes.remove(push.get(1).toString());
      if (confirmed != null) {
        confirmed.tryComplete();
      }
    }
  }

  @Override
  public Future<Void> subscribe(RoomId room) {
    @SuppressWarnings("unchecked")
    Future<Void>[] confirmation = new Future[1];
    subscriptions.compute(room, (key, count) -> {
      if (count == null && connected) {
        confirmation[0] = sendSubscribe(room);
      }
      return count == null ? 1 : count + 1;
    });
    if (confirmation[0] == null) {
      return connected ? Future.succeededFuture() : Future.failedFuture("redis backplane not connected");
    }
    return confirmation[0].onFailure(e -> metrics.backplaneError("subscribe"));
  }

  @Override
  public Future<Void> unsubscribe(RoomId room) {
    subscriptions.computeIfPresent(room, (key, count) -> {
      if (count > 1) {
        return count - 1;
      }
      RedisConnection sub = subscriber;
      if (sub != null) {
        sub.send(Request.cmd(Command.UNSUBSCRIBE).arg(keys.events(room)));
      }
      return null;
    });
    return Future.succeededFuture();
  }

  /** Rooms this node is subscribed to (tests check it returns to zero). */
  public int subscribedRooms() {
    return subscriptions.size();
  }

  @Override
  public Future<Void> publish(BackplaneMessage message) {
    if (!connected) {
      metrics.backplaneError("publish");
      return Future.failedFuture("redis backplane not connected");
    }
    metrics.backplanePublished();
    return publisherSend(message).onFailure(e -> metrics.backplaneError("publish"));
  }

  // ---- membership ----

  @Override
  public Future<JoinResult> join(RoomId room, Member member, int maxPeers) {
    return script(LuaScripts.JOIN, List.of(keys.members(room), keys.seq(room), keys.nodeRooms(nodeId)),
            List.of(member.peer().value(), nodeId, member.metaJson(), Integer.toString(maxPeers), room.value()))
        .compose(before -> {
          if (before == null) {
            return Future.failedFuture(new SignalingException(ErrorCode.ROOM_FULL, null));
          }
          held.computeIfAbsent(room, r -> new ConcurrentHashMap<>()).put(member.peer(), member.metaJson());
          List<JoinResult.Placed> others = new ArrayList<>();
          for (StoredMember m : parseMembers(before)) {
            if (!m.member().peer().equals(member.peer())) {
              others.add(new JoinResult.Placed(m.member(), m.node()));
            }
          }
          return Future.succeededFuture(new JoinResult(others));
        });
  }

  @Override
  public Future<Void> leave(RoomId room, PeerId peer) {
    held.computeIfPresent(room, (r, peers) -> {
      peers.remove(peer);
      return peers.isEmpty() ? null : peers;
    });
    Future<Void> done = runLeave(room, peer)
        .onFailure(e -> failedLeaves.add(new BackplaneMessage(nodeId, room, null,
            new PeerLeft(room, peer, LeaveReason.DISCONNECT))));
    leavesInFlight.add(done);
    return done.onComplete(ar -> leavesInFlight.remove(done));
  }

  private Future<Void> runLeave(RoomId room, PeerId peer) {
    return script(LuaScripts.LEAVE, List.of(keys.members(room), keys.seq(room), keys.nodeRooms(nodeId)),
        List.of(peer.value(), nodeId, room.value())).mapEmpty();
  }

  // The hub's own peer-left announcement was lost with the connection, so it is sent again here.
  private Future<Void> retryFailedLeaves() {
    List<Future<Void>> done = new ArrayList<>();
    for (BackplaneMessage announcement : List.copyOf(failedLeaves)) {
      PeerLeft left = (PeerLeft) announcement.event();
      done.add(runLeave(left.room(), left.peer())
          .compose(v -> publisherSend(announcement))
          .onSuccess(v -> failedLeaves.remove(announcement)));
    }
    return Future.all(done).mapEmpty();
  }

  @Override
  public Future<List<JoinResult.Placed>> members(RoomId room) {
    return command(Request.cmd(Command.HGETALL).arg(keys.members(room)))
        .map(all -> parseMembers(all).stream().map(m -> new JoinResult.Placed(m.member(), m.node())).toList());
  }

  private Future<Void> reassertHeld() {
    List<Future<Void>> done = new ArrayList<>();
    for (Map.Entry<RoomId, ConcurrentHashMap<PeerId, String>> room : held.entrySet()) {
      for (Map.Entry<PeerId, String> peer : room.getValue().entrySet()) {
        RoomId roomId = room.getKey();
        Member member = new Member(peer.getKey(), peer.getValue());
        done.add(script(LuaScripts.REASSERT,
                List.of(keys.members(roomId), keys.seq(roomId), keys.nodeRooms(nodeId)),
                List.of(member.peer().value(), nodeId, member.metaJson(), roomId.value()))
            .compose(readded -> readded != null && readded.toInteger() == 1
                // Other nodes may have announced it lost; tell them it is back.
                ? publisherSend(new BackplaneMessage(nodeId, roomId, null, new PeerJoined(roomId, member)))
                : Future.succeededFuture()));
      }
    }
    return Future.all(done).mapEmpty();
  }

  // Also used while reconnecting, before 'connected' is set.
  private Future<Void> publisherSend(BackplaneMessage message) {
    RedisConnection pub = publisher;
    if (pub == null) {
      return Future.failedFuture("redis not connected");
    }
    return pub.send(Request.cmd(Command.PUBLISH).arg(keys.events(message.room()))
        .arg(WireFormat.encode(message, nowMicros()))).mapEmpty();
  }

  // Rooms may have changed while we could not hear their events: hand each held room's
  // membership to the hub, which reconciles its view and tells local members what changed.
  private void resyncRooms() {
    if (!connected) {
      return; // down again; the next reconnection schedules another resync
    }
    for (RoomId room : subscriptions.keySet()) {
      command(Request.cmd(Command.HGETALL).arg(keys.members(room)))
          .onSuccess(all -> listener.onResync(room, parseMembers(all).stream()
              .map(m -> new JoinResult.Placed(m.member(), m.node())).toList()))
          .onFailure(e -> log.debug("resync of room {} failed", room, e));
    }
  }

  // ---- liveness ----

  private void tick() {
    if (!connected || closed) {
      return;
    }
    heartbeat()
        .compose(v -> script(LuaScripts.REAP, List.of(keys.nodes()), List.of(keys.prefix())))
        .onSuccess(this::announceReaped)
        .onFailure(e -> {
          metrics.backplaneError("heartbeat");
          markDown("heartbeat failed: " + e);
        });
  }

  private Future<Void> heartbeat() {
    return redis.batch(List.of(
            Request.cmd(Command.SET).arg(keys.node(nodeId)).arg("1").arg("PX").arg(nodeTimeoutMs),
            Request.cmd(Command.ZADD).arg(keys.nodes()).arg(System.currentTimeMillis()).arg(nodeId)))
        .timeout(commandTimeoutMs, TimeUnit.MILLISECONDS)
        .mapEmpty();
  }

  private void announceReaped(Response removed) {
    if (removed == null) {
      return;
    }
    for (int i = 0; i + 2 < removed.size(); i += 3) {
      String deadNode = removed.get(i).toString();
      RoomId room = new RoomId(removed.get(i + 1).toString());
      PeerId peer = new PeerId(removed.get(i + 2).toString());
      log.info("node {} lost: removing peer {} from room {}", deadNode, peer, room);
      // Published in the dead node's name so that every node, this one included, delivers it.
      publish(new BackplaneMessage(deadNode, room, null, new PeerLeft(room, peer, LeaveReason.NODE_LOST)));
    }
  }

  // ---- helpers ----

  private Future<Response> script(LuaScripts.Script script, List<String> keyNames, List<String> args) {
    return LuaScripts.run(redis, script, keyNames, args)
        .timeout(commandTimeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> metrics.backplaneError(script.name()));
  }

  private Future<Response> command(Request request) {
    return redis.send(request)
        .timeout(commandTimeoutMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> metrics.backplaneError("command"));
  }

  private record StoredMember(Member member, String node, long seq) {}

  /** Parses HGETALL output of a members hash, in join order. */
  private static List<StoredMember> parseMembers(Response flat) {
    List<StoredMember> members = new ArrayList<>();
    if (flat == null) {
      return members;
    }
    // HGETALL answers a map under RESP3 and a flat key, value array under RESP2.
    List<String> items = new ArrayList<>();
    if (flat.isMap()) {
      for (String key : flat.getKeys()) {
        items.add(key);
        items.add(flat.get(key).toString());
      }
    } else {
      for (int i = 0; i < flat.size(); i++) {
        items.add(flat.get(i).toString());
      }
    }
    for (int i = 0; i + 1 < items.size(); i += 2) {
      members.add(parseValue(items.get(i), items.get(i + 1)));
    }
    members.sort(Comparator.comparingLong(StoredMember::seq));
    return members;
  }

  // The value is written by join.lua as {"node":"N","seq":S,"meta":M}.
  private static StoredMember parseValue(String peer, String value) {
    int nodeStart = value.indexOf("\"node\":\"") + 8;
    int nodeEnd = value.indexOf('"', nodeStart);
    int seqStart = value.indexOf("\"seq\":", nodeEnd) + 6;
    int seqEnd = value.indexOf(',', seqStart);
    int metaStart = value.indexOf("\"meta\":", seqEnd) + 7;
    String meta = value.substring(metaStart, value.length() - 1);
    return new StoredMember(new Member(new PeerId(peer), meta), value.substring(nodeStart, nodeEnd),
        Long.parseLong(value.substring(seqStart, seqEnd)));
  }

  private static long nowMicros() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
  }

  @Override
  public Future<Void> close() {
    closed = true;
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    List<Future<Void>> leaves = new ArrayList<>(leavesInFlight);
    held.forEach((room, peers) -> peers.keySet().forEach(peer -> leaves.add(leave(room, peer))));
    return Future.join(leaves)
        // A PING answered on the publisher connection means every PUBLISH before it (the
        // peer-left announcements of the sockets just closed) has reached Redis.
        .transform(ar -> {
          RedisConnection pub = publisher;
          Future<?> flushed = pub == null ? Future.succeededFuture()
              : pub.send(Request.cmd(Command.PING)).timeout(commandTimeoutMs, TimeUnit.MILLISECONDS);
          return flushed.transform(pinged -> script(LuaScripts.DEREGISTER,
              List.of(keys.node(nodeId), keys.nodeRooms(nodeId), keys.nodes()), List.of(nodeId)));
        })
        .transform(ar -> {
          connected = false;
          closeConnections();
          return redis.close();
        });
  }
}
