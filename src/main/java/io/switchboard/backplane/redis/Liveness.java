package io.switchboard.backplane.redis;

import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeping the cluster's picture true over time:
 * <ul>
 *   <li>heartbeat: every {@code NODE_HEARTBEAT_MS} this node refreshes its TTL key; a failed
 *       heartbeat marks the connection down;</li>
 *   <li>reaper: after a heartbeat, unless the last reap is still running, this node takes the
 *       reaping of nodes whose key expired (dead.lua, for a lease) and reaps each of their rooms
 *       (reaproom.lua): their members are removed and {@code peer-left} ({@code node-lost}) is
 *       announced for each, except resumable sessions the dead node owned, which go into their
 *       gap, counted from the node's last heartbeat, and are announced {@code peer-reconnecting};
 *       then the node is buried (bury.lua). Each step touches one room or the node's own keys
 *       (in the spread layout of a Redis Cluster, or one session: orphan.lua), and a reap runs
 *       beside the heartbeat, never in its way;</li>
 *   <li>reconcile: every 3 x {@code NODE_TIMEOUT_MS}, jittered by up to 20% either way, the
 *       membership of every subscribed room is read and handed to the listener's
 *       {@code reconcile}, which repairs differences that persist;</li>
 *   <li>resync: one {@code NODE_TIMEOUT_MS} after a reconnection, the same reading goes to the
 *       listener's {@code onResync}, applied at once.</li>
 * </ul>
 * Rooms are read, and a dead node's rooms reaped, in batches of {@link #ROOMS_PER_BATCH}, one
 * batch at a time, so a node with many rooms neither floods the command pool nor stalls a round.
 *
 * <p>Confined to the backplane's context.
 */
final class Liveness {
  private static final Logger log = LoggerFactory.getLogger(Liveness.class);
  static final int ROOMS_PER_BATCH = 64;
  static final int RECONCILE_TIMEOUTS = 3;
  static final double RECONCILE_JITTER = 0.2;
  /** The most dead nodes one janitor takes at a time. */
  static final int NODES_PER_REAP = 4;

  /** What the liveness work needs from the rest of the backplane. */
  interface Backplane {
    boolean ready();

    /** The ready publisher connection, null while the link is down. */
    RedisConnection publisher();

    void markDown(String why);

    List<RoomId> subscribedRooms();

    boolean isSubscribed(RoomId room);

    /** Publishes on the ready publisher (reaped members' peer-left or peer-reconnecting). */
    Future<Void> publish(BackplaneMessage message);

    void reconcile(RoomId room, List<JoinResult.Placed> members);

    void resync(RoomId room, List<JoinResult.Placed> members);

    /** This node's heartbeat key had expired while it ran: the other nodes may have reaped it. */
    void declaredDead();
  }

  private final Vertx vertx;
  private final ContextInternal context;
  private final Commands commands;
  private final RedisKeys keys;
  private final String nodeId;
  private final long heartbeatMs;
  private final long nodeTimeoutMs;
  private final long resumeWindowMs;
  private final SignalingMetrics metrics;
  private Backplane backplane;
  private long heartbeatTimer = -1;
  private long reconcileTimer = -1;
  private long resyncTimer = -1;
  // Set after the first heartbeat: an absent key before it is a fresh start, not an expiry.
  private boolean beating;
  private String publisherClientId = "1";
  private boolean ticking;
  private boolean reaping;
  private boolean stopped;

  Liveness(Vertx vertx, ContextInternal context, Commands commands, RedisKeys keys, String nodeId, long heartbeatMs,
      long nodeTimeoutMs, long resumeWindowMs, SignalingMetrics metrics) {
    this.vertx = vertx;
    this.context = context;
    this.commands = commands;
    this.keys = keys;
    this.nodeId = nodeId;
    this.heartbeatMs = heartbeatMs;
    this.nodeTimeoutMs = nodeTimeoutMs;
    this.resumeWindowMs = resumeWindowMs;
    this.metrics = metrics;
  }

  void start(Backplane backplane) {
    this.backplane = backplane;
    heartbeatTimer = vertx.setPeriodic(heartbeatMs, id -> tick());
    scheduleReconcile();
  }

  void stop() {
    stopped = true;
    for (long timer : new long[] {heartbeatTimer, reconcileTimer, resyncTimer}) {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
      }
    }
  }

  /**
   * Refreshes this node's TTL key and its place in the registry, pipelined on {@code publisher}
   * (the link's own connection, not the command pool, where a heartbeat could wait behind a
   * queue of other commands until it timed out). A key that was gone when a heartbeat after the
   * first came means the node went silent for longer than the node timeout (a stalled process,
   * a starved machine) and may have been reaped as dead meanwhile.
   */
  /**
   * What the node's key holds from now on: its publisher connection's client id, which a resume
   * elsewhere may close (Fence), or "1" where that is not needed.
   */
  void publisherClientId(String clientId) {
    publisherClientId = clientId;
  }

  Future<Void> heartbeat(RedisConnection publisher) {
    // Two sends rather than a batch, pipelined all the same: on a Redis Cluster each follows a
    // MOVED by itself, where a batch would fail when the node keys' slot changes master.
    Future<Response> set = publisher.send(
        Request.cmd(Command.SET).arg(keys.node(nodeId)).arg(publisherClientId).arg("PX").arg(nodeTimeoutMs).arg("GET"));
    Future<Response> zadd = publisher.send(
        Request.cmd(Command.ZADD).arg(keys.nodes()).arg(System.currentTimeMillis()).arg(nodeId));
    return Future.all(set, zadd)
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
        .map(both -> {
          boolean keyWasGone = set.result() == null;
          if (keyWasGone && beating) {
            log.warn("node {}: its heartbeat key had expired; other nodes may have declared it dead", nodeId);
            backplane.declaredDead();
          }
          beating = true;
          return null;
        });
  }

  /**
   * After a reconnection, waits one node timeout first: by then every live node has reconnected
   * and re-asserted its members (a restarted Redis may have lost them all), so only real
   * departures show.
   */
  void resyncLater() {
    if (resyncTimer >= 0) {
      vertx.cancelTimer(resyncTimer);
    }
    resyncTimer = vertx.setTimer(nodeTimeoutMs, id -> {
      resyncTimer = -1;
      if (backplane.ready()) {
        readRooms(backplane::resync);
      }
    });
  }

  // Ticks never overlap: a slow Redis makes the heartbeat late, not concurrent with itself.
  private void tick() {
    RedisConnection publisher = backplane.publisher();
    if (stopped || ticking || !backplane.ready() || publisher == null) {
      return;
    }
    ticking = true;
    heartbeat(publisher)
        .onSuccess(v -> reapIfIdle())
        .onFailure(e -> {
          metrics.backplaneError("heartbeat");
          backplane.markDown("heartbeat failed: " + e);
        })
        .onComplete(ar -> ticking = false);
  }

  private void reapIfIdle() {
    if (reaping) {
      return;
    }
    reaping = true;
    reap()
        .onFailure(e -> {
          metrics.backplaneError("reap");
          log.debug("reaping dead nodes failed", e);
        })
        .onComplete(ar -> reaping = false);
  }

  private record DeadNode(String id, long lastBeatMillis, List<RoomId> rooms) {}

  // The lease covers a reap of many rooms; should this node die reaping, the next janitor after
  // the lease reaps the rest (and what this one did, again, to no effect).
  private Future<Void> reap() {
    return commands.script(LuaScripts.DEAD, List.of(keys.nodes()),
            List.of(keys.nodeKeyStart(), nodeId, Long.toString(nodeTimeoutMs), Integer.toString(NODES_PER_REAP)))
        .compose(taken -> {
          Future<Void> chain = context.succeededFuture();
          for (DeadNode dead : deadNodes(taken)) {
            chain = chain.compose(v -> reap(dead));
          }
          return chain;
        });
  }

  private Future<Void> reap(DeadNode dead) {
    boolean resume = resumeWindowMs > 0;
    String deadline = resume ? Long.toString(dead.lastBeatMillis() + resumeWindowMs) : "";
    // A batch of rooms at a time, so that a node that held many rooms does not flood the pool.
    Future<Void> rooms = context.succeededFuture();
    for (int start = 0; start < dead.rooms().size(); start += ROOMS_PER_BATCH) {
      List<RoomId> batch = dead.rooms().subList(start, Math.min(dead.rooms().size(), start + ROOMS_PER_BATCH));
      rooms = rooms.compose(v -> Future.all(batch.stream().map(room -> reapRoom(dead.id(), room, deadline)).toList())
          .mapEmpty());
    }
    List<String> nodeKeys = new ArrayList<>(List.of(keys.nodes(), keys.nodeRooms(dead.id()),
        keys.nodeSessions(dead.id()), keys.nodeReaper(dead.id())));
    if (resume) {
      nodeKeys.add(keys.gaps());
    }
    boolean spread = resume && keys.spread();
    // Buried only once every room is reaped: until then the registry still lists it.
    return rooms
        .compose(v -> spread ? orphanSessions(dead.id(), deadline) : context.succeededFuture())
        .compose(v -> commands.script(LuaScripts.BURY, nodeKeys,
            List.of(dead.id(), spread ? "" : keys.sessionKeyStart(), deadline)))
        .mapEmpty();
  }

  private Future<Response> reapRoom(String deadNode, RoomId room, String deadline) {
    if (!deadline.isEmpty() && keys.spread()) {
      return spreadReapRoom(deadNode, room, deadline);
    }
    List<String> roomKeys = deadline.isEmpty() ? List.of(keys.members(room), keys.seq(room))
        : List.of(keys.members(room), keys.seq(room), keys.gaps());
    return commands.script(LuaScripts.REAP_ROOM, roomKeys, List.of(deadNode, keys.sessionKeyStart(), deadline))
        .onSuccess(reaped -> announceReaped(deadNode, room, reaped));
  }

  /**
   * reaproom.lua in the spread layout of a Redis Cluster, where it reaches no session: the dead
   * node's resumable members' sessions are given their gap first (orphan.lua, each in its own
   * slot), then the room's script keeps those members in their gap and removes the others.
   */
  private Future<Response> spreadReapRoom(String deadNode, RoomId room, String deadline) {
    return commands.send(Request.cmd(Command.HGETALL).arg(keys.members(room)))
        .compose(entries -> {
          List<PeerId> resumable = new ArrayList<>();
          for (JoinResult.Placed member : Membership.placed(entries)) {
            if (member.node().equals(deadNode) && member.member().peer().resumable()) {
              resumable.add(member.member().peer());
            }
          }
          return orphans(resumable, deadNode, deadline);
        })
        .compose(inGap -> commands.script(LuaScripts.REAP_ROOM, List.of(keys.members(room), keys.seq(room)),
            List.of(deadNode, keys.sessionKeyStart(), deadline,
                String.join(" ", inGap.stream().map(PeerId::value).toList()))))
        .onSuccess(reaped -> announceReaped(deadNode, room, reaped));
  }

  // The dead node's sessions in no room it held (bury.lua gives them their gap when not spread).
  private Future<Void> orphanSessions(String deadNode, String deadline) {
    return commands.send(Request.cmd(Command.SMEMBERS).arg(keys.nodeSessions(deadNode)))
        .compose(members -> {
          List<PeerId> peers = new ArrayList<>();
          for (int i = 0; members != null && i < members.size(); i++) {
            peers.add(new PeerId(members.get(i).toString()));
          }
          return orphans(peers, deadNode, deadline);
        })
        .mapEmpty();
  }

  // Gives each of 'peers' whose session the dead node still owned its gap; answers those. Each
  // goes in the sorted set of sessions in their gap first, so that none in its gap is missing
  // there should this node die meanwhile (an entry for nothing is dropped by the next expire).
  private Future<List<PeerId>> orphans(List<PeerId> peers, String deadNode, String deadline) {
    List<Future<Response>> orphaned = new ArrayList<>(peers.size());
    for (PeerId peer : peers) {
      orphaned.add(commands.send(Request.cmd(Command.ZADD).arg(keys.gaps()).arg(deadline).arg(peer.value()))
          .compose(indexed -> commands.script(LuaScripts.ORPHAN, List.of(keys.session(peer)),
              List.of(deadNode, deadline))));
    }
    return Future.all(orphaned).map(all -> {
      List<PeerId> inGap = new ArrayList<>();
      for (int i = 0; i < peers.size(); i++) {
        if (all.<Response>resultAt(i).toInteger() == 1) {
          inGap.add(peers.get(i));
        }
      }
      return inGap;
    });
  }

  private static List<DeadNode> deadNodes(Response taken) {
    List<DeadNode> dead = new ArrayList<>();
    int i = 0;
    while (taken != null && i + 2 < taken.size()) {
      String id = taken.get(i).toString();
      long lastBeat = (long) Double.parseDouble(taken.get(i + 1).toString());
      int count = taken.get(i + 2).toInteger();
      List<RoomId> rooms = new ArrayList<>(count);
      for (int k = 0; k < count; k++) {
        rooms.add(new RoomId(taken.get(i + 3 + k).toString()));
      }
      dead.add(new DeadNode(id, lastBeat, rooms));
      i += 3 + count;
    }
    return dead;
  }

  private void announceReaped(String deadNode, RoomId room, Response reaped) {
    for (int i = 0; reaped != null && i + 1 < reaped.size(); i += 2) {
      boolean suspended = "reconnecting".equals(reaped.get(i).toString());
      PeerId peer = new PeerId(reaped.get(i + 1).toString());
      log.atInfo().addKeyValue("lost_node", deadNode).addKeyValue("room", room).addKeyValue("peer", peer)
          .log(suspended ? "node {} lost: peer {} may resume in room {}" : "node {} lost: removing peer {} from room {}",
              deadNode, peer, room);
      // Published in the dead node's name so that every node, this one included, delivers it.
      backplane.publish(new BackplaneMessage(deadNode, room, null,
          suspended ? new PeerReconnecting(room, peer) : new PeerLeft(room, peer, LeaveReason.NODE_LOST)));
    }
  }

  private void scheduleReconcile() {
    long base = RECONCILE_TIMEOUTS * nodeTimeoutMs;
    long jitter = (long) (base * RECONCILE_JITTER);
    long delay = base - jitter + ThreadLocalRandom.current().nextLong(2 * jitter + 1);
    reconcileTimer = vertx.setTimer(delay, id -> {
      reconcileTimer = -1;
      if (stopped) {
        return;
      }
      Future<Void> round = backplane.ready() ? readRooms(backplane::reconcile) : context.succeededFuture();
      // The next round is timed from the end of this one, so rounds never overlap.
      round.onComplete(ar -> {
        if (!stopped) {
          scheduleReconcile();
        }
      });
    });
  }

  // Reads every subscribed room's members, a batch at a time, and hands each room that is still
  // subscribed when its answer arrives to 'to'. A failed batch is logged and skipped.
  private Future<Void> readRooms(BiConsumer<RoomId, List<JoinResult.Placed>> to) {
    List<RoomId> rooms = backplane.subscribedRooms();
    Future<Void> chain = context.succeededFuture();
    for (int start = 0; start < rooms.size(); start += ROOMS_PER_BATCH) {
      List<RoomId> batch = rooms.subList(start, Math.min(rooms.size(), start + ROOMS_PER_BATCH));
      chain = chain.transform(previous -> readBatch(batch, to));
    }
    return chain.transform(ar -> context.succeededFuture());
  }

  private Future<Void> readBatch(List<RoomId> batch, BiConsumer<RoomId, List<JoinResult.Placed>> to) {
    if (stopped || !backplane.ready()) {
      return context.succeededFuture();
    }
    List<Request> reads = new ArrayList<>(batch.size());
    for (RoomId room : batch) {
      reads.add(Request.cmd(Command.HGETALL).arg(keys.members(room)));
    }
    return commands.batch(reads, "reconcile")
        .onSuccess(replies -> {
          for (int i = 0; i < batch.size(); i++) {
            if (backplane.isSubscribed(batch.get(i))) {
              to.accept(batch.get(i), Membership.placed(replies.get(i)));
            }
          }
        })
        .onFailure(e -> log.debug("reading {} rooms' members failed", batch.size(), e))
        .mapEmpty();
  }
}
