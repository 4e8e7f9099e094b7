package io.switchboard.backplane.local;

import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.Expired;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Disconnect;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.ArrayList;
import java.util.List;
import io.switchboard.wire.LeaveReason;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-memory backplane: the default when no Redis is configured. Every operation completes
 * before it returns. Several instances made with {@link #sharing} form an in-process cluster,
 * which is how tests exercise cross-node paths without Redis.
 *
 * <p>A publish hands the message to every other subscribed node's listener on the publishing
 * thread, before it returns; a node whose count for the room is zero is skipped, so once
 * {@link #unsubscribe} has returned for the last subscription no later publish reaches it.
 */
public final class LocalBackplane implements Backplane {
  private final LocalCluster cluster;
  private final String nodeId;
  // Room -> subscription count on this node.
  private final ConcurrentHashMap<RoomId, Integer> subscriptions = new ConcurrentHashMap<>();
  private volatile BackplaneListener listener;

  private LocalBackplane(LocalCluster cluster, String nodeId) {
    this.cluster = cluster;
    this.nodeId = nodeId;
  }

  /** A backplane for a single node, with the default bounds of a session's buffer. */
  public static LocalBackplane standalone(String nodeId) {
    return standalone(nodeId, DEFAULT_BUFFERED_EVENTS, DEFAULT_BUFFERED_BYTES);
  }

  /**
   * A backplane for a single node; a resumable session keeps at most {@code maxBufferedEvents}
   * events of at most {@code maxBufferedBytes} in all.
   */
  public static LocalBackplane standalone(String nodeId, int maxBufferedEvents, long maxBufferedBytes) {
    return new LocalBackplane(new LocalCluster(maxBufferedEvents, maxBufferedBytes), nodeId);
  }

  private static final int DEFAULT_BUFFERED_EVENTS = 1000;
  private static final long DEFAULT_BUFFERED_BYTES = 1 << 20;

  /** Another node on the same in-process cluster as {@code other}. */
  public static LocalBackplane sharing(LocalBackplane other, String nodeId) {
    other.cluster.markShared();
    return new LocalBackplane(other.cluster, nodeId);
  }

  String nodeId() {
    return nodeId;
  }

  @Override
  public Future<Void> start(BackplaneListener listener) {
    this.listener = listener;
    cluster.register(nodeId, this);
    return Future.succeededFuture();
  }

  @Override
  public Future<JoinResult> join(RoomId room, Member member, int maxPeers) {
    JoinResult result = cluster.join(room, member, nodeId, maxPeers);
    return result == null
        ? Future.failedFuture(new SignalingException(ErrorCode.ROOM_FULL, null))
        : Future.succeededFuture(result);
  }

  @Override
  public Future<Void> leave(RoomId room, PeerId peer) {
    cluster.leave(room, peer, nodeId);
    return Future.succeededFuture();
  }

  @Override
  public Future<List<JoinResult.Placed>> members(RoomId room) {
    return Future.succeededFuture(cluster.members(room));
  }

  @Override
  public Future<Void> subscribe(RoomId room) {
    subscriptions.merge(room, 1, Integer::sum);
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> unsubscribe(RoomId room) {
    subscriptions.computeIfPresent(room, (k, n) -> n == 1 ? null : n - 1);
    return Future.succeededFuture();
  }

  /** Rooms whose events this node receives; feeds the subscriptions gauge. */
  public int subscribedRooms() {
    return subscriptions.size();
  }

  @Override
  public Future<Void> publish(BackplaneMessage message) {
    cluster.publish(message);
    return Future.succeededFuture();
  }



  void deliver(BackplaneMessage message) {
    BackplaneListener l = listener;
    if (l != null && subscriptions.containsKey(message.room())) {
      l.onMessage(message);
    }
  }

  /** The cursor is the last room of the previous page, base64url-encoded so that it stays opaque. */
  @Override
  public Future<RoomPage> rooms(String cursor, int limit) {
    String after;
    try {
      after = cursor == null ? null
          : new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new IllegalArgumentException("not a cursor of this backplane", e));
    }
    if (after != null && RoomId.parse(after) == null) {
      return Future.failedFuture(new IllegalArgumentException("not a cursor of this backplane"));
    }
    List<RoomPage.RoomCount> found = cluster.roomsAfter(after, limit);
    if (found.size() <= limit) {
      return Future.succeededFuture(new RoomPage(found, null));
    }
    List<RoomPage.RoomCount> page = found.subList(0, limit);
    String last = page.get(limit - 1).room().value();
    return Future.succeededFuture(new RoomPage(page,
        Base64.getUrlEncoder().withoutPadding().encodeToString(last.getBytes(StandardCharsets.UTF_8))));
  }

  @Override
  public Future<Boolean> disconnect(Disconnect request) {
    return Future.succeededFuture(cluster.disconnect(request));
  }

  boolean onDisconnect(Disconnect request) {
    BackplaneListener l = listener;
    return l != null && l.onDisconnect(request);
  }

  @Override
  public boolean distributed() {
    return cluster.shared();
  }

  @Override
  public boolean ready() {
    return true;
  }

  /** As on Redis: the members this node still holds leave, and it hears nothing more. */
  @Override
  public Future<Void> close() {
    cluster.unregister(nodeId);
    cluster.leaveAll(nodeId);
    return Future.succeededFuture();
  }

  // ---- resumable sessions ----

  @Override
  public Future<Void> register(PeerId peer, String tokenHash, String subject) {
    cluster.sessions.register(peer, tokenHash, subject, nodeId);
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> ack(PeerId peer, long seq) {
    cluster.sessions.ack(peer, seq);
    return Future.succeededFuture();
  }

  @Override
  public Future<List<RoomId>> suspend(PeerId peer, long epoch, long deadlineMillis) {
    List<RoomId> rooms = cluster.sessions.suspend(peer, epoch, deadlineMillis, nodeId, System.currentTimeMillis());
    rooms.forEach(room -> cluster.move(room, peer, LocalCluster.NO_NODE));
    return Future.succeededFuture(rooms);
  }

  @Override
  public Future<Claim> claim(PeerId peer, String tokenHash, String subject, long lastSeq, String newTokenHash) {
    try {
      Claim claim = cluster.sessions.claim(peer, tokenHash, subject, lastSeq, newTokenHash, nodeId);
      claim.rooms().forEach(held -> cluster.move(held.room(), peer, nodeId));
      return Future.succeededFuture(claim);
    } catch (SignalingException refused) {
      return Future.failedFuture(refused);
    }
  }

  @Override
  public Future<List<Numbered>> replay(PeerId peer, long after) {
    return Future.succeededFuture(cluster.sessions.replay(peer, after));
  }

  @Override
  public Future<List<Expired>> expire(long nowMillis) {
    List<Expired> departures = new ArrayList<>();
    for (LocalSessions.Ended ended : cluster.sessions.expire(nowMillis)) {
      LeaveReason reason = ended.overflowed() ? LeaveReason.OVERFLOW : LeaveReason.EXPIRED;
      for (RoomId room : ended.rooms()) {
        cluster.remove(room, ended.peer());
        departures.add(new Expired(room, ended.peer(), reason));
      }
    }
    return Future.succeededFuture(departures);
  }

  @Override
  public Future<Void> forget(PeerId peer, long epoch) {
    cluster.sessions.forget(peer, epoch);
    return Future.succeededFuture();
  }
}
