package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.Expired;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Disconnect;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster backplane on Redis (standalone {@code redis://} or {@code rediss://}, or the master
 * that Redis Sentinel names); the design is in docs/clustering.md. This façade wires its parts:
 * <ul>
 *   <li>{@link Connections}: the dedicated SUBSCRIBE and PUBLISH connections, connection
 *       attempts and reconnection with capped exponential backoff;</li>
 *   <li>{@link Subscriptions}: counted room subscriptions, confirmed by Redis, and the dispatch
 *       of what arrives on the subscriber connection (on a Redis Cluster a
 *       {@link ShardedSubscriber}, one connection per master, which moves a channel when its
 *       slot moves, watched by {@link SlotWatch});</li>
 *   <li>{@link Membership}: the membership scripts, the members this node holds, and leaves
 *       retried after an outage;</li>
 *   <li>{@link Liveness}: heartbeat, reaper, periodic reconciliation and the resync after a
 *       reconnection;</li>
 *   <li>{@link Control}: requests about a peer wherever it is connected (disconnect), over the
 *       control channel, and their replies;</li>
 *   <li>{@link RoomListing}: pages of the cluster's rooms;</li>
 *   <li>{@link Sessions}: resumable sessions, and the numbered publish when resume is on.</li>
 * </ul>
 *
 * <p>Threading: the backplane makes a Vert.x event-loop context of its own, and all its mutable
 * state lives there. Public methods may be called from any thread; they hop onto that context,
 * in call order for each calling thread, and their futures complete there. The listener is
 * called on it too. The exceptions are {@link #publish}, the cross-node hot path, which sends on
 * the ready publisher connection from the caller's thread ({@link RedisConnection#send} queues
 * onto the connection's event loop, so one thread's publishes keep their order) and completes on
 * the caller's context, and {@link #ack} and {@link #replay}, which go the same way; {@link #members} and
 * {@link #rooms}, which touch no state; and {@link #ready()} and
 * {@link #subscribedRooms()}, which read volatile fields.
 */
public final class RedisBackplane implements Backplane {
  private static final Logger log = LoggerFactory.getLogger(RedisBackplane.class);
  // Longer than the cluster client goes on retrying one command (about 15 s after CLUSTERDOWN):
  // a publish unanswered for this long is on a hung connection, and no longer holds its peer's.
  private static final long UNANSWERED_PUBLISH_GIVEN_UP_MS = 30_000;
  // How long a publish that ran on a replica may take to reach its master over the cluster bus
  // (a few milliseconds on a healthy cluster), when this node cannot hear it arrive.
  private static final long FORWARDED_PUBLISH_WAIT_MS = 100;

  private final ContextInternal context;
  private final RedisKeys keys;
  private final String nodeId;
  private final SignalingMetrics metrics;
  private final Commands commands;
  private final Connections connections;
  // Only in sentinel mode.
  private final SentinelWatch sentinelWatch;
  // Only on a Redis Cluster.
  private final SlotWatch slotWatch;
  // Only on a Redis Cluster: the subscriber of the latest link.
  private ShardedSubscriber sharded;
  private final Subscriptions subscriptions;
  private final Membership membership;
  private final Liveness liveness;
  private final Control control;
  private final RoomListing roomListing;
  // Only on a Redis Cluster: a client per master, for walking every keyspace.
  private final MasterKeyspaces masterKeyspaces;
  private final Sessions sessions;
  private final Fence fence;
  private final SenderOrder senderOrder;
  // On a Redis Cluster only: a replica passes a publish on to its master late.
  private final ForwardedPublishes forwarded;
  // Only on a Redis Cluster: the node registry of the key layout this node does not use.
  private final String otherLayoutNodes;
  private final long nodeTimeoutMs;
  private BackplaneListener listener;

  /**
   * Session resume (docs/protocol.md, "Resume"): the window ({@code 0} turns resume off, and
   * with it every session script), the bounds of a session's buffer, and how many replicas must
   * have a session write before it counts ({@code REDIS_WAIT_REPLICAS}; 0 for none).
   */
  public record Resume(long windowMillis, int maxEvents, int maxBytes, int waitReplicas) {
    public static final Resume OFF = new Resume(0, 0, 0);

    public Resume(long windowMillis, int maxEvents, int maxBytes) {
      this(windowMillis, maxEvents, maxBytes, 0);
    }
  }

  /** A backplane with resume off. */
  public RedisBackplane(Vertx vertx, String url, String tlsCaFile, String prefix, String nodeId, long heartbeatMs,
      long nodeTimeoutMs, long commandTimeoutMs, SignalingMetrics metrics) {
    this(vertx, RedisTarget.standalone(url), tlsCaFile, prefix, nodeId, heartbeatMs, nodeTimeoutMs, commandTimeoutMs,
        metrics, Resume.OFF);
  }

  /**
   * @param target the standalone server or the sentinels, with password if needed
   * @param tlsCaFile PEM file of the CA certificates to trust for {@code rediss://}, or empty for
   *     the JVM's default trust store
   * @param prefix prefix of every key and channel
   */
  public RedisBackplane(Vertx vertx, RedisTarget target, String tlsCaFile, String prefix, String nodeId,
      long heartbeatMs, long nodeTimeoutMs, long commandTimeoutMs, SignalingMetrics metrics, Resume resume) {
    // Fresh whatever thread builds us: borrowing a caller's context would tie our timers to
    // whatever owns it (a verticle's undeploy cancels them).
    this.context = ((VertxInternal) vertx).createEventLoopContext();
    // On a Redis Cluster, a replica wait with resume needs everything in one slot (RedisKeys).
    boolean oneSlot = target.oneSlot() || target.cluster() && resume.windowMillis() > 0 && resume.waitReplicas() > 0;
    this.keys = new RedisKeys(prefix, target.cluster(), oneSlot);
    this.otherLayoutNodes = target.cluster() ? new RedisKeys(prefix, true, !oneSlot).nodes() : null;
    this.nodeTimeoutMs = nodeTimeoutMs;
    this.nodeId = nodeId;
    this.metrics = metrics;
    // The client upgrades a rediss:// connection to TLS with these options; the certificate's
    // name must match the URL's host (in sentinel mode, the address the sentinels give).
    NetClientOptions net = new NetClientOptions()
        .setConnectTimeout((int) commandTimeoutMs)
        .setHostnameVerificationAlgorithm("HTTPS");
    if (!tlsCaFile.isEmpty()) {
      net.setTrustOptions(new PemTrustOptions().addCertPath(tlsCaFile));
    }
    RedisOptions base = new RedisOptions().setNetClientOptions(net);
    RedisOptions pooled = target.master(base)
        .setMaxPoolSize(8)
        .setMaxPoolWaiting(4096)
        .setMaxWaitingHandlers(65536);
    this.commands = new Commands(() -> Redis.createClient(vertx, pooled), commandTimeoutMs, metrics,
        why -> context.runOnContext(v -> wrongNode(why)), target.cluster());
    // A numbered publish that waits for a replica is published after that wait, behind which the
    // sender's later publishes must stay.
    this.senderOrder = new SenderOrder(context, target.cluster() || resume.waitReplicas() > 0, commandTimeoutMs,
        UNANSWERED_PUBLISH_GIVEN_UP_MS);
    // Each attempt's own client holds exactly the subscriber and the publisher.
    RedisOptions dedicated = target.master(base)
        .setPoolName("switchboard-backplane")
        .setMaxPoolSize(2)
        .setMaxPoolWaiting(2)
        .setMaxWaitingHandlers(65536);
    this.forwarded = target.cluster() ? new ForwardedPublishes(vertx, FORWARDED_PUBLISH_WAIT_MS) : null;
    this.subscriptions = new Subscriptions(context, keys, nodeId, commandTimeoutMs, metrics, forwarded);
    this.connections = target.cluster()
        ? new Connections(vertx, context, dedicated, keys, commandTimeoutMs * 3, false, link -> {
            sharded = new ShardedSubscriber(vertx, context, base, target.urls().get(0), keys.pubSub(), commands,
                this::resubscribed, subscriptions::unsubscribeEnded, subscriptions::wants);
            return sharded.start().map(started -> (RedisConnection) started);
          })
        : new Connections(vertx, context, dedicated, keys, commandTimeoutMs * 3, target.sentinel());
    this.sentinelWatch = target.sentinel()
        ? new SentinelWatch(vertx, context, target.sentinels(base), target.sentinelMaster(),
            switched -> {
              // Pooled connections to the old master live on, and it takes writes until it is
              // demoted; a fresh client asks the sentinels, once they agree.
              vertx.setTimer(SentinelWatch.SETTLE_MS, id -> commands.recycle());
              connections.moved("failover: " + switched, SentinelWatch.SETTLE_MS);
            })
        : null;
    // Only the channels in moved slots move; the publishes follow MOVED by themselves.
    this.slotWatch = target.cluster()
        ? new SlotWatch(vertx, commands, (moved, masters, now) -> context.runOnContext(v -> {
            log.info("the cluster's slots moved: {}", now);
            ShardedSubscriber current = sharded;
            if (current != null) {
              current.slotsMoved(moved, masters);
            }
          }), () -> {
            RedisConnection publisher = connections.readyPublisher();
            if (publisher != null) {
              CoalescedFlushes.apply(publisher);
            }
          })
        : null;
    this.membership = new Membership(context, commands, keys, nodeId, resume.windowMillis() > 0);
    this.liveness = new Liveness(vertx, context, commands, keys, nodeId, heartbeatMs, nodeTimeoutMs,
        resume.windowMillis(), metrics);
    this.masterKeyspaces = target.cluster() ? new MasterKeyspaces(vertx, commands, base, target.urls().get(0)) : null;
    this.roomListing = new RoomListing(commands, keys,
        masterKeyspaces != null ? masterKeyspaces : RoomListing.single(commands));
    // Half the command timeout: a WAIT that times out must answer before the command does.
    // Plain stores need one connection to one server for a node's stores and its fence's answer;
    // a replica wait publishes a relay only after its own round trip, which publish.lua serves.
    this.sessions = new Sessions(context, commands, keys, nodeId, resume,
        new ReplicaAcks(resume.waitReplicas(), commandTimeoutMs / 2,
            target.cluster() ? keys.node(nodeId) + ":replicated" : null),
        !target.cluster() && resume.waitReplicas() == 0);
    // The answer to a fence waits until every publish about the peer is answered: on a Redis
    // Cluster those went to other masters than the answer goes to.
    this.control = new Control(vertx, context, connections, keys, nodeId, commandTimeoutMs, metrics, peer -> {
      sessions.letGo(peer);
      return senderOrder.settled(peer);
    });
    this.fence = new Fence(context, commands, keys, nodeId, control, target.cluster());
  }

  @Override
  public Future<Void> start(BackplaneListener listener) {
    return onContext(() -> {
      this.listener = listener;
      control.listener(listener);
      fence.listener(listener);
      subscriptions.listener(listener, control::onMessage);
      return connections.start(new ConnectionHooks()).onSuccess(v -> {
        liveness.start(new LivenessView());
        if (sentinelWatch != null) {
          sentinelWatch.start();
        }
        if (slotWatch != null) {
          slotWatch.start();
        }
        if (otherLayoutNodes != null) {
          warnOfNodesInTheOtherLayout();
        }
      });
    });
  }

  /**
   * Nodes that heartbeat in the other cluster layout (resume on there and off here, or the
   * reverse) keep their rooms apart from this node's: a rolling restart that changes
   * RESUME_WINDOW_SECONDS between 0 and above splits every room between old and new nodes
   * until the old ones are gone. Said once, at start.
   */
  private void warnOfNodesInTheOtherLayout() {
    commands.send(Request.cmd(Command.ZRANGEBYSCORE).arg(otherLayoutNodes)
            .arg(System.currentTimeMillis() - nodeTimeoutMs).arg("+inf"))
        .onSuccess(alive -> {
          if (alive != null && alive.size() > 0) {
            List<String> ids = alive.stream().map(Response::toString).toList();
            log.warn("nodes {} use the other Redis Cluster key layout ({} there): their rooms and this node's do not "
                + "meet; give every node the same REDIS_CLUSTER_LAYOUT and REDIS_WAIT_REPLICAS, with a full restart "
                + "(docs/clustering.md, \"Two layouts\")", ids, keys.spread() ? "one-slot" : "spread");
          }
        })
        .onFailure(e -> log.debug("could not look for nodes of the other key layout", e));
  }

  @Override
  public boolean distributed() {
    return true;
  }

  @Override
  public boolean ready() {
    return connections.ready();
  }

  /** Rooms this node is subscribed to, for the subscriptions gauge. Any thread. */
  public int subscribedRooms() {
    return subscriptions.subscribedRooms();
  }

  @Override
  public Future<Void> subscribe(RoomId room) {
    return onContext(() -> subscriptions.subscribe(room));
  }

  @Override
  public Future<Void> unsubscribe(RoomId room) {
    return onContext(() -> subscriptions.unsubscribe(room));
  }

  @Override
  public Future<Void> publish(BackplaneMessage message) {
    RedisConnection publisher = connections.readyPublisher();
    if (publisher == null) {
      metrics.backplaneError("publish");
      return Future.failedFuture("redis backplane not connected");
    }
    metrics.backplanePublished();
    return senderOrder.after(message.subject(), () -> publishOn(publisher, message)).onFailure(e -> {
      metrics.backplaneError("publish");
      if (Connections.wrongNode(e)) {
        context.runOnContext(v -> wrongNode("publish: " + e.getMessage()));
      }
    });
  }

  // On a Redis Cluster: 'channel' was subscribed again where its slot now lives. What was
  // published on it meanwhile is lost, and a failover may have lost the last writes to its room:
  // this node's members there are asserted again, and the room read again later.
  private void resubscribed(String channel) {
    RoomId room = keys.roomOfChannel(channel);
    log.debug("subscribed to {} again where its slot now lives", channel);
    if (room != null) {
      listener.missedEvents(room);
      membership.reassert(List.of(room), this::publish);
      liveness.resyncLater();
    }
  }

  // Redis answered as a replica: the master moved (or the server was demoted) while the link
  // looked alive. Moving the link is the reconnection after an outage: resubscribe, re-assert.
  private void wrongNode(String why) {
    connections.markDown("not the master: " + why);
  }

  private Future<Void> publishOn(RedisConnection publisher, BackplaneMessage message) {
    if (sessions.enabled() && message.needsNumbering()) {
      return sessions.publish(publisher, message);
    }
    long sentMicros = WireFormat.nowMicros();
    if (forwarded == null || message.subject() == null) {
      return connections.publish(publisher, message, sentMicros).mapEmpty();
    }
    return forwarded.send(message.room(), message.subject(), sentMicros,
        () -> connections.publish(publisher, message, sentMicros).map(Response::toLong));
  }

  @Override
  public Future<JoinResult> join(RoomId room, Member member, int maxPeers) {
    return onContext(() -> membership.join(room, member, maxPeers));
  }

  @Override
  public Future<Void> leave(RoomId room, PeerId peer) {
    return onContext(() -> membership.leave(room, peer));
  }

  @Override
  public Future<List<JoinResult.Placed>> members(RoomId room) {
    return membership.members(room);
  }

  @Override
  public Future<RoomPage> rooms(String cursor, int limit) {
    return roomListing.page(cursor, limit);
  }

  @Override
  public Future<Boolean> disconnect(Disconnect request) {
    return onContext(() -> control.disconnect(request));
  }

  @Override
  public Future<Void> close() {
    return onContext(() -> {
      liveness.stop();
      if (slotWatch != null) {
        slotWatch.stop();
      }
      control.stop();
      Future<Void> watchClosed = sentinelWatch == null ? context.succeededFuture() : sentinelWatch.close();
      return membership.leaveAll()
          // A PING answered on the publisher connection means every PUBLISH before it (the
          // peer-left announcements of the sockets just closed) has reached Redis.
          .transform(ar -> {
            RedisConnection publisher = connections.readyPublisher();
            Future<?> flushed = publisher == null ? context.succeededFuture()
                : publisher.send(Request.cmd(Command.PING)).timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS);
            return flushed.transform(pinged -> commands.script(LuaScripts.DEREGISTER,
                List.of(keys.node(nodeId), keys.nodeRooms(nodeId), keys.nodes(), keys.nodeSessions(nodeId)),
                List.of(nodeId)));
          })
          .transform(ar -> connections.close())
          .transform(ar -> commands.close())
          .transform(ar -> masterKeyspaces == null ? context.succeededFuture() : masterKeyspaces.close())
          .transform(ar -> watchClosed);
    });
  }

  // Runs 'work' on the backplane's context. runOnContext always queues, so the calls of one
  // thread run in the order made, even when that thread is the context's own event loop.
  private <T> Future<T> onContext(Supplier<Future<T>> work) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> {
      Future<T> started;
      try {
        started = work.get();
      } catch (RuntimeException e) {
        started = Future.failedFuture(e);
      }
      started.onComplete(result);
    });
    return result.future();
  }

  private final class ConnectionHooks implements Connections.Hooks {
    @Override
    public void onPush(Response push) {
      subscriptions.onPush(push);
    }

    @Override
    public Future<Void> prepare(Connections.Link link) {
      return subscriptions.attach(link.subscriber)
          .compose(v -> sessions.plainStores()
              ? link.publisher.send(Request.cmd(Command.CLIENT).arg("ID"))
                  .map(id -> {
                    liveness.publisherClientId(id.toString());
                    return null;
                  })
              : context.succeededFuture())
          .compose(v -> liveness.heartbeat(link.publisher))
          .compose(v -> sessions.prepare(link.publisher))
          .compose(v -> membership.reassert(message -> publishOn(link.publisher, message)))
          .compose(v -> membership.retryFailedLeaves(message -> publishOn(link.publisher, message)));
    }

    @Override
    public void lost(Connections.Link link) {
      subscriptions.detach(link.subscriber);
    }

    @Override
    public void reconnected() {
      metrics.backplaneReconnected();
      log.info("redis backplane reconnected; resubscribed {} rooms", subscriptions.subscribedRooms());
      for (RoomId room : subscriptions.rooms()) {
        listener.missedEvents(room);
      }
      liveness.resyncLater();
    }
  }

  private final class LivenessView implements Liveness.Backplane {
    @Override
    public boolean ready() {
      return connections.ready();
    }

    @Override
    public RedisConnection publisher() {
      return connections.readyPublisher();
    }

    @Override
    public void markDown(String why) {
      connections.markDown(why);
    }

    @Override
    public void declaredDead() {
      // The reaper may have taken this node's members out and put its sessions in their gap:
      // its resumable clients resume (on any node), and a reconnection re-asserts the rest.
      BackplaneListener l = listener;
      if (l != null) {
        l.declaredDead();
      }
      // Found by the heartbeat of a reconnection, after an outage longer than the node timeout,
      // the link being prepared re-asserts everything anyway: marking it down too would retry
      // later and later, and once the retries are further apart than the timeout, forever.
      if (connections.ready()) {
        connections.markDown("this node's heartbeat had expired");
      }
    }

    @Override
    public List<RoomId> subscribedRooms() {
      return subscriptions.rooms();
    }

    @Override
    public boolean isSubscribed(RoomId room) {
      return subscriptions.isSubscribed(room);
    }

    @Override
    public Future<Void> publish(BackplaneMessage message) {
      return RedisBackplane.this.publish(message);
    }

    @Override
    public void reconcile(RoomId room, List<JoinResult.Placed> members) {
      listener.reconcile(room, members);
    }

    @Override
    public void resync(RoomId room, List<JoinResult.Placed> members) {
      listener.onResync(room, members);
    }
  }

  // ---- resumable sessions ----

  @Override
  public Future<Void> register(PeerId peer, String tokenHash, String subject) {
    return onContext(() -> sessions.register(peer, tokenHash, subject));
  }

  @Override
  public Future<Void> ack(PeerId peer, long seq) {
    // Pipelined on the publisher connection, as publishes are, not through the command pool:
    // a pooled command holds a connection for its round trip, so at a few hundred acks a second
    // on a busy machine the pool's queue grew for seconds, and the heartbeat behind it timed out.
    RedisConnection publisher = connections.readyPublisher();
    if (publisher == null) {
      metrics.backplaneError("ack");
      return Future.failedFuture("redis backplane not connected");
    }
    return sessions.ack(publisher, peer, seq).onFailure(e -> metrics.backplaneError("ack"));
  }

  @Override
  public Future<List<RoomId>> suspend(PeerId peer, long epoch, long deadlineMillis) {
    return onContext(() -> sessions.suspend(peer, epoch, deadlineMillis)
        // Its member entries are no longer this node's: closing must not make them leave, nor a
        // reconnection re-assert them.
        .compose(rooms -> Future.join(rooms.stream().map(room -> membership.release(room, peer)).toList())
            .transform(released -> context.succeededFuture(rooms))));
  }

  @Override
  public Future<Claim> claim(PeerId peer, String tokenHash, String subject, long lastSeq, String newTokenHash) {
    return onContext(() -> sessions.claim(peer, tokenHash, subject, lastSeq, newTokenHash)
        .compose(claimed -> sessions.fencesResumes() ? fenced(peer, claimed)
            : context.succeededFuture(claimed.claim()))
        .onSuccess(claim -> claim.rooms().forEach(room -> membership.adopt(room.room(), peer, room.metaJson()))));
  }

  // The claim read the accepted n before its previous node was fenced off: read again after.
  private Future<Claim> fenced(PeerId peer, Sessions.Claimed claimed) {
    Claim claim = claimed.claim();
    // This node's own publishes about the peer, too: on a Redis Cluster those go to other masters.
    return fence.previousOwner(peer, claimed.previousOwner()).compose(v -> senderOrder.settled(peer)).compose(v -> {
      RedisConnection publisher = connections.readyPublisher();
      Future<Long> accepted = publisher == null ? context.failedFuture("redis backplane not connected")
          : sessions.accepted(publisher, peer);
      return accepted.map(in -> {
            sessions.claimedHere(peer, in);
            return new Claim(claim.epoch(), in, claim.rooms(), claim.gapSinceMillis());
          })
          .recover(e -> {
            // The claim stands (its token is replaced): failing it would cost the client its session.
            log.warn("could not read what peer {}'s session accepted after its fence; a relay it sends again "
                + "may be stored twice", peer, e);
            return context.succeededFuture(claim);
          });
    });
  }

  @Override
  public Future<List<Numbered>> replay(PeerId peer, long after) {
    // Pipelined on the publisher connection too: when a subscription comes back, every resumable
    // session in its rooms replays at once, more than the command pool's queue holds.
    RedisConnection publisher = connections.readyPublisher();
    if (publisher == null) {
      metrics.backplaneError("command");
      return Future.failedFuture("redis backplane not connected");
    }
    return sessions.replay(publisher, peer, after);
  }

  @Override
  public Future<List<Expired>> expire(long nowMillis) {
    return onContext(() -> sessions.expire(nowMillis));
  }

  @Override
  public Future<Void> forget(PeerId peer, long epoch) {
    return onContext(() -> sessions.forget(peer, epoch));
  }
}
