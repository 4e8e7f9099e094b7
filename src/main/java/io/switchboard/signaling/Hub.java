package io.switchboard.signaling;

import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;

import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.command.Deliver;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Leave;
import io.switchboard.signaling.command.Ping;
import io.switchboard.signaling.command.Relay;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.wire.LeaveReason;
import io.switchboard.signaling.event.Left;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Pong;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.Welcome;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signaling core of one node: sessions, the node's view of its rooms, and the routing rules.
 * It does no I/O of its own: it talks to clients through {@link Outbound} and to other nodes
 * through the {@link Backplane}.
 *
 * <p>Threading. {@link #open}, {@link #handle} and {@link #close} are called on the socket's own
 * thread. A room's view is replaced atomically inside {@link ConcurrentHashMap#compute}, and every
 * membership event is queued to its receivers inside that same step, so each receiver sees joins,
 * leaves and the relays that follow them in one consistent order. Relays read the current view
 * without locking.
 */
public final class Hub implements BackplaneListener {
  private static final Logger log = LoggerFactory.getLogger(Hub.class);

  private final Backplane backplane;
  private final Limits limits;
  private final SignalingMetrics metrics;
  private final String nodeId;
  private final Function<PeerId, String> iceServers;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<RoomId, Room> rooms = new ConcurrentHashMap<>();
  private final AtomicInteger sessions = new AtomicInteger();

  public Hub(Backplane backplane, Limits limits, SignalingMetrics metrics, String nodeId) {
    this(backplane, limits, metrics, nodeId, peer -> null);
  }

  /**
   * @param iceServers the ICE servers (a JSON array) for a new peer's welcome, or null for none;
   *     any thread
   */
  public Hub(Backplane backplane, Limits limits, SignalingMetrics metrics, String nodeId,
      Function<PeerId, String> iceServers) {
    this.backplane = backplane;
    this.limits = limits;
    this.metrics = metrics;
    this.nodeId = nodeId;
    this.iceServers = iceServers;
  }

  /** Sessions currently open on this node. */
  public int sessionCount() {
    return sessions.get();
  }

  /** Rooms with at least one member on this node (joins still in flight do not count). */
  public int roomCount() {
    int count = 0;
    for (Room slot : rooms.values()) {
      RoomView view = slot.view;
      count += view != null && view.hasLocals() ? 1 : 0;
    }
    return count;
  }

  /** Registers a new connection of nobody in particular (authentication off). Socket thread. */
  public Session open(Outbound outbound, long nowNanos) {
    return open(outbound, nowNanos, Identity.ANONYMOUS);
  }

  /** Registers a new connection of {@code identity} and sends it its welcome. Socket thread. */
  public Session open(Outbound outbound, long nowNanos, Identity identity) {
    PeerId peer = PeerId.random(random);
    Session session = new Session(peer, outbound, identity, limits, nowNanos);
    sessions.incrementAndGet();
    outbound.send(new Welcome(peer, iceServers.apply(peer)));
    return session;
  }

  /**
   * Carries out one client command. Socket thread. A failure here is a bug, not bad input: it is
   * logged, and the client hears {@code internal} and keeps its connection.
   */
  public void handle(Session session, Command command) {
    try {
      dispatch(session, command);
    } catch (RuntimeException e) {
      log.error("failed to handle {} from peer {}", command.getClass().getSimpleName(), session.peer(), e);
      reject(session, ErrorCode.INTERNAL, ErrorCode.INTERNAL.defaultMessage(), command.requestId());
    }
  }

  private void dispatch(Session session, Command command) {
    if (command instanceof Relay relay) {
      relay(session, relay);
    } else if (command instanceof Deliver deliver) {
      session.chainDelivery(() -> deliver(session, deliver));
    } else if (command instanceof Join join) {
      join(session, join);
    } else if (command instanceof Leave leave) {
      leave(session, leave);
    } else if (command instanceof Ping ping) {
      session.outbound().send(new Pong(ping.requestId()));
    }
  }

  /** Tells the client its request was refused, and counts it. Any thread. */
  public void reject(Session session, ErrorCode code, String message, String requestId) {
    metrics.error(code);
    session.outbound().send(new ErrorReply(code, message, requestId));
  }

  private void reject(Session session, SignalingException e) {
    reject(session, e.code(), e.getMessage(), e.requestId());
  }

  /** The socket is gone: leave every room with reason {@code disconnect}. Socket thread; once. */
  public void close(Session session) {
    if (session.closed()) {
      return;
    }
    session.markClosed();
    sessions.decrementAndGet();
    for (RoomId room : session.takeAllRooms()) {
      departed(session, room, LeaveReason.DISCONNECT);
    }
  }

  // ---- relay: the hot path ----

  private void relay(Session session, Relay relay) {
    RoomId room = relay.room();
    RoomView view = session.inRoom(room) ? view(room) : null;
    if (view == null) {
      reject(session, ErrorCode.NOT_IN_ROOM, "not a member of room " + room, relay.requestId());
      return;
    }
    Relayed event = new Relayed(relay.kind(), room, session.peer(), relay.data());
    PeerId to = relay.to();
    if (to != null) {
      if (to.equals(session.peer())) {
        reject(session, ErrorCode.BAD_MESSAGE, "cannot relay to yourself", relay.requestId());
        return;
      }
      Entry target = view.find(to);
      if (target == null) {
        reject(session, ErrorCode.PEER_NOT_FOUND, "no peer " + to + " in room " + room, relay.requestId());
        return;
      }
      if (target.local != null) {
        target.local.outbound().send(event);
      } else {
        relayToOtherNodes(session, new BackplaneMessage(nodeId, room, to, event), relay.requestId());
      }
    } else {
      for (Entry entry : view.entries) {
        if (entry.local != null && entry.local != session) {
          entry.local.outbound().send(event);
        }
      }
      if (view.remoteCount > 0) {
        relayToOtherNodes(session, new BackplaneMessage(nodeId, room, null, event), relay.requestId());
      }
    }
    metrics.relayed(relay.kind());
  }

  /** Runs after the session's previous delivery has gone out; never fails. Any thread. */
  private Future<Void> deliver(Session session, Deliver deliver) {
    RoomId room = deliver.room();
    Relayed event = new Relayed(deliver.kind(), room, session.peer(), deliver.data());
    RoomView view = view(room);
    if (view != null) {
      boolean reached = false;
      for (Entry entry : view.entries) {
        if (entry.local != null && entry.local != session) {
          entry.local.outbound().send(event);
          reached = true;
        }
      }
      if (view.remoteCount > 0) {
        return publishDelivery(session, event, deliver);
      }
      if (!reached) {
        reject(session, ErrorCode.PEER_NOT_FOUND, "nobody to deliver to", deliver.requestId());
      } else {
        metrics.relayed(deliver.kind());
      }
      return Future.succeededFuture();
    }
    return backplane.members(room).transform(roster -> {
      if (roster.failed()) {
        reject(session, ErrorCode.INTERNAL, "could not reach other nodes; retry", deliver.requestId());
        return Future.succeededFuture();
      }
      if (roster.result().isEmpty()) {
        reject(session, ErrorCode.PEER_NOT_FOUND, "nobody to deliver to", deliver.requestId());
        return Future.succeededFuture();
      }
      return publishDelivery(session, event, deliver);
    });
  }

  private Future<Void> publishDelivery(Session session, Relayed event, Deliver deliver) {
    return backplane.publish(new BackplaneMessage(nodeId, deliver.room(), null, event)).transform(sent -> {
      if (sent.failed()) {
        reject(session, ErrorCode.INTERNAL, "could not reach members on other nodes; retry", deliver.requestId());
      } else {
        metrics.relayed(deliver.kind());
      }
      return Future.<Void>succeededFuture();
    });
  }

  // ---- membership ----

  private void join(Session session, Join join) {
    RoomId room = join.room();
    if (!session.identity().mayJoin(join.grantName())) {
      reject(session, ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN.defaultMessage(), join.requestId());
      return;
    }
    if (session.inRoom(room)) {
      RoomView view = view(room);
      session.outbound().send(new Joined(room, session.peer(),
          view == null ? List.of() : view.membersExcept(session.peer()), join.requestId()));
      return;
    }
    if (session.joiningOrIn(room)) {
      reject(session, ErrorCode.BAD_MESSAGE, "already joining room " + room, join.requestId());
      return;
    }
    if (session.roomsHeldOrPending() >= limits.maxRoomsPerConnection()) {
      reject(session, ErrorCode.TOO_MANY_ROOMS,
          "already in " + limits.maxRoomsPerConnection() + " rooms", join.requestId());
      return;
    }
    session.startJoining(room);
    // From now on announcements of other members are kept for this join, even before it is done.
    rooms.compute(room, (key, slot) -> (slot == null ? new Room() : slot).addPendingJoin());
    Member me = new Member(session.peer(), join.metaJson());
    // Subscribe before joining so no event published after our join can be missed.
    backplane.subscribe(room)
        .compose(v -> backplane.join(room, me, join.capacity() > 0 ? join.capacity() : limits.maxPeersPerRoom()))
        .onComplete(result -> session.outbound().execute(() -> finishJoin(session, join, me, result)));
  }

  private void finishJoin(Session session, Join join, Member me, AsyncResult<JoinResult> result) {
    RoomId room = join.room();
    boolean admitted = result.succeeded() && !session.closed();
    session.finishJoining(room, admitted);
    if (!admitted) {
      rooms.computeIfPresent(room, (key, slot) -> slot.removePendingJoin());
    }
    if (result.failed()) {
      backplane.unsubscribe(room);
      if (result.cause() instanceof SignalingException refusal) {
        reject(session, refusal.code(), refusal.getMessage() + ": " + room, join.requestId());
      } else {
        log.warn("join of room {} failed: {}", room, result.cause().toString());
        reject(session, ErrorCode.INTERNAL, "join failed; retry", join.requestId());
      }
      return;
    }
    if (!admitted) {
      // The socket closed while the join was in flight.
      backplane.leave(room, me.peer()).onFailure(e -> log.debug("leave of room {} failed", room, e));
      backplane.unsubscribe(room);
      return;
    }
    rooms.compute(room, (key, slot) -> {
      Room target = slot == null ? new Room() : slot;
      RoomView view = target.view;
      List<Entry> entries = view == null ? new ArrayList<>() : new ArrayList<>(List.of(view.entries));
      // Remote members the roster shows and this node had not heard of: its local members
      // learn of them here, since their own announcement will now be taken as a repeat.
      List<PeerJoined> learned = new ArrayList<>();
      for (JoinResult.Placed other : result.result().others()) {
        if (!other.node().equals(nodeId) && find(entries, other.member().peer()) == null
            && !target.departedDuringJoin.contains(other.member().peer())) {
          entries.add(new Entry(other.member(), null));
          learned.add(new PeerJoined(room, other.member()));
        }
      }
      List<Member> roster = new ArrayList<>(entries.size());
      for (Entry entry : entries) {
        roster.add(entry.member);
      }
      List<Entry> before = entries;
      entries = new ArrayList<>(before);
      entries.add(new Entry(me, session));
      target.view = new RoomView(entries);
      PeerJoined announcement = new PeerJoined(room, me);
      for (Entry entry : before) {
        if (entry.local != null) {
          learned.forEach(entry.local.outbound()::send);
          entry.local.outbound().send(announcement);
        }
      }
      session.outbound().send(new Joined(room, me.peer(), roster, join.requestId()));
      return target.removePendingJoin();
    });
    metrics.joined();
    publish(new BackplaneMessage(nodeId, room, null, new PeerJoined(room, me)));
  }

  private void leave(Session session, Leave leave) {
    if (!session.removeRoom(leave.room())) {
      reject(session, ErrorCode.NOT_IN_ROOM, "not a member of room " + leave.room(), leave.requestId());
      return;
    }
    departed(session, leave.room(), LeaveReason.LEAVE);
    session.outbound().send(new Left(leave.room(), leave.requestId()));
  }

  private void departed(Session session, RoomId room, LeaveReason reason) {
    PeerLeft announcement = new PeerLeft(room, session.peer(), reason);
    rooms.computeIfPresent(room, (key, slot) -> {
      if (slot.view == null) {
        return slot;
      }
      List<Entry> entries = new ArrayList<>(slot.view.entries.length);
      boolean localsRemain = false;
      for (Entry entry : slot.view.entries) {
        if (entry.local != session) {
          entries.add(entry);
          localsRemain |= entry.local != null;
        }
      }
      // With no local member left the node unsubscribes, so its picture of remote members
      // would go stale: drop it, and rebuild it from the roster on the next local join.
      slot.view = localsRemain || slot.pendingJoins > 0 ? new RoomView(entries) : null;
      for (Entry entry : entries) {
        if (entry.local != null) {
          entry.local.outbound().send(announcement);
        }
      }
      return slot.view == null ? null : slot;
    });
    metrics.left();
    // Counted by the backplane, and retried by it once it is reachable again.
    backplane.leave(room, session.peer()).onFailure(e -> log.debug("leave of room {} failed", room, e));
    publish(new BackplaneMessage(nodeId, room, null, announcement));
    backplane.unsubscribe(room);
  }

  // ---- events from other nodes ----

  /** Delivers what another node published to this node's members. Any thread. */
  @Override
  public void onMessage(BackplaneMessage message) {
    if (message.originNode().equals(nodeId)) {
      return;
    }
    RoomId room = message.room();
    Event event = message.event();
    if (event instanceof Relayed) {
      RoomView view = view(room);
      if (view == null) {
        return;
      }
      for (Entry entry : view.entries) {
        if (entry.local != null && (message.to() == null || entry.member.peer().equals(message.to()))) {
          entry.local.outbound().send(event);
        }
      }
    } else if (event instanceof PeerJoined joined) {
      rooms.computeIfPresent(room, (key, slot) -> {
        RoomView view = slot.view;
        if (view != null && view.find(joined.member().peer()) != null) {
          return slot;
        }
        List<Entry> entries = view == null ? new ArrayList<>() : new ArrayList<>(List.of(view.entries));
        entries.add(new Entry(joined.member(), null));
        slot.view = new RoomView(entries);
        slot.view.sendToLocals(joined);
        return slot;
      });
    } else if (event instanceof PeerLeft left) {
      rooms.computeIfPresent(room, (key, slot) -> {
        Entry gone = slot.view == null ? null : slot.view.find(left.peer());
        if (gone == null && slot.pendingJoins > 0) {
          // A join in flight may still find this member in the roster it read from Redis.
          slot.departedDuringJoin.add(left.peer());
        }
        if (gone == null || gone.local != null) {
          return slot;
        }
        List<Entry> entries = new ArrayList<>(List.of(slot.view.entries));
        entries.remove(gone);
        slot.view = new RoomView(entries);
        slot.view.sendToLocals(left);
        return slot;
      });
    }
  }

  /**
   * Reconciles this node's view of {@code room} with the backplane's full membership, after the
   * node may have missed events: remote members it did not know are announced with
   * {@code peer-joined}, remote members that are gone with {@code peer-left} ({@code disconnect}).
   * Any thread.
   */
  @Override
  public void onResync(RoomId room, List<JoinResult.Placed> members) {
    rooms.computeIfPresent(room, (key, slot) -> {
      if (slot.view == null) {
        return slot;
      }
      List<Entry> entries = new ArrayList<>();
      List<Event> news = new ArrayList<>();
      for (Entry entry : slot.view.entries) {
        boolean stillThere = entry.local != null || members.stream()
            .anyMatch(p -> p.member().peer().equals(entry.member.peer()) && !p.node().equals(nodeId));
        if (stillThere) {
          entries.add(entry);
        } else {
          news.add(new PeerLeft(room, entry.member.peer(), LeaveReason.DISCONNECT));
        }
      }
      for (JoinResult.Placed placed : members) {
        if (!placed.node().equals(nodeId) && find(entries, placed.member().peer()) == null) {
          news.add(new PeerJoined(room, placed.member()));
          entries.add(new Entry(placed.member(), null));
        }
      }
      slot.view = new RoomView(entries);
      news.forEach(slot.view::sendToLocals);
      return slot;
    });
  }

  @Override
  public void reconcile(RoomId room, List<JoinResult.Placed> members) {
    // Replaced by the room state machine's two-check repair in the next commit.
  }

  // A relay that cannot leave this node (backplane down) is lost: say so, so the client can retry.
  private void relayToOtherNodes(Session sender, BackplaneMessage message, String requestId) {
    backplane.publish(message).onFailure(e -> reject(sender, ErrorCode.INTERNAL,
        "could not reach members on other nodes; retry", requestId));
  }

  private void publish(BackplaneMessage message) {
    backplane.publish(message).onFailure(e -> log.debug("publish to room {} failed", message.room(), e));
  }

  private static Entry find(List<Entry> entries, PeerId peer) {
    for (Entry entry : entries) {
      if (entry.member.peer().equals(peer)) {
        return entry;
      }
    }
    return null;
  }

  /** The current view of {@code room}, or null when this node has no member there. */
  private RoomView view(RoomId room) {
    Room slot = rooms.get(room);
    return slot == null ? null : slot.view;
  }

  /**
   * One room on this node. Changes happen inside {@link ConcurrentHashMap#compute} on its key,
   * which orders them; each change stores the new view before it sends the events that describe
   * it, so a client reacting to an event (an offer to a peer it just heard of) is served from a
   * view that already shows what the event said. Relays read the view without locking.
   */
  private static final class Room {
    volatile RoomView view;
    // Local joins in flight, which keep the room (and what other nodes announce) until done.
    int pendingJoins;
    // Members other nodes said left while a local join was in flight.
    final Set<PeerId> departedDuringJoin = new HashSet<>(0);

    Room addPendingJoin() {
      pendingJoins++;
      return this;
    }

    /** This room after a pending join ended, or null when nothing keeps it any more. */
    Room removePendingJoin() {
      if (--pendingJoins == 0) {
        departedDuringJoin.clear();
      }
      return pendingJoins > 0 || view != null && view.hasLocals() ? this : null;
    }
  }

  /** A room member as this node sees it; {@code local} is null for a member on another node. */
  private record Entry(Member member, Session local) {}

  /** An immutable snapshot of one room on this node, replaced on every membership change. */
  private static final class RoomView {
    final Entry[] entries;
    final int remoteCount;

    RoomView(List<Entry> entries) {
      this.entries = entries.toArray(new Entry[0]);
      int remote = 0;
      for (Entry entry : this.entries) {
        remote += entry.local == null ? 1 : 0;
      }
      this.remoteCount = remote;
    }

    boolean hasLocals() {
      return remoteCount < entries.length;
    }

    Entry find(PeerId peer) {
      for (Entry entry : entries) {
        if (entry.member.peer().equals(peer)) {
          return entry;
        }
      }
      return null;
    }

    List<Member> membersExcept(PeerId peer) {
      List<Member> members = new ArrayList<>(entries.length);
      for (Entry entry : entries) {
        if (!entry.member.peer().equals(peer)) {
          members.add(entry.member);
        }
      }
      return members;
    }

    void sendToLocals(Event event) {
      for (Entry entry : entries) {
        if (entry.local != null) {
          entry.local.outbound().send(event);
        }
      }
    }
  }
}
