package io.switchboard.signaling;

import io.switchboard.signaling.Room.Entry;
import io.switchboard.signaling.Room.RoomView;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.command.Deliver;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Leave;
import io.switchboard.signaling.command.Ping;
import io.switchboard.signaling.command.Ack;
import io.switchboard.signaling.command.Resume;
import io.switchboard.signaling.event.NumberedEvent;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.event.PeerResumed;
import io.switchboard.signaling.event.Resumed;
import io.switchboard.signaling.command.Relay;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.Left;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Pong;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import io.switchboard.signaling.event.Welcome;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Disconnect;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signaling core of one node: it routes each session's commands and the backplane's events
 * to the right {@link Room}s and sessions. It does no I/O of its own: it talks to clients through
 * {@link Outbound} and to other nodes through the {@link Backplane}.
 *
 * <p>Threading. {@link #open}, {@link #handle} and {@link #close} are called on the socket's own
 * thread, and the hub hops back there before touching a session again. Rooms change only inside
 * {@link ConcurrentHashMap#compute} on their key; relays read a room's current view without
 * locking. Backplane callbacks may come on any thread.
 */
public final class Hub implements BackplaneListener, Command.Visitor<Session> {
  private static final Logger log = LoggerFactory.getLogger(Hub.class);

  private final Backplane backplane;
  private final Limits limits;
  private final SignalingMetrics metrics;
  private final String nodeId;
  private final Function<PeerId, String> iceServers;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<RoomId, Room> rooms = new ConcurrentHashMap<>();
  // The sessions open on this node, for what reaches a peer by id alone (the server API).
  private final ConcurrentHashMap<PeerId, Session> peers = new ConcurrentHashMap<>();

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
    return peers.size();
  }

  /** Rooms with at least one member on this node (joins still in flight do not count). */
  public int roomCount() {
    int count = 0;
    for (Room room : rooms.values()) {
      count += room.state() == Room.State.OPEN ? 1 : 0;
    }
    return count;
  }

  /**
   * Rooms this node holds in any state, joins in flight included: zero once every session is
   * gone and every join has finished (tests check nothing leaks).
   */
  public int roomSlots() {
    return rooms.size();
  }

  /** Registers a new connection of {@code identity} and sends it its welcome. Socket thread. */
  public Session open(Outbound outbound, long nowNanos, Identity identity) {
    PeerId peer = PeerId.random(random);
    Session session = new Session(peer, outbound, identity, limits, nowNanos);
    peers.put(peer, session);
    outbound.send(new Welcome(peer, iceServers.apply(peer)));
    return session;
  }

  /**
   * Carries out one client command, after every earlier command of the session has taken effect.
   * Socket thread. A failure here is a bug, not bad input: it is logged, and the client hears
   * {@code internal} and keeps its connection.
   */
  public void handle(Session session, Command command) {
    if (session.closed()) {
      return;
    }
    if (session.busy()) {
      if (!session.enqueue(command)) {
        reject(session, ErrorCode.RATE_LIMITED, "too many requests while an earlier one is in flight", command.tag());
      }
      return;
    }
    run(session, command);
  }

  private void run(Session session, Command command) {
    try {
      command.accept(this, session);
    } catch (RuntimeException e) {
      log.atError().addKeyValue("peer", session.peer()).setCause(e)
          .log("failed to handle {} from peer {}", command.getClass().getSimpleName(), session.peer());
      reject(session, ErrorCode.INTERNAL, ErrorCode.INTERNAL.defaultMessage(), command.tag());
    }
  }

  /** The command in flight is done: run the waiting ones until one is in flight again. Socket thread. */
  private void resume(Session session) {
    if (session.closed()) {
      return;
    }
    for (Command next = session.idle(); next != null; next = session.idle()) {
      run(session, next);
      if (session.busy() || session.closed()) {
        return;
      }
    }
  }

  /** Marks the session busy until {@code done} completes, then resumes it on its own thread. */
  private void holdUntil(Session session, Future<?> done) {
    if (!done.isComplete()) {
      session.markBusy();
      done.onComplete(ar -> session.outbound().execute(() -> resume(session)));
    }
  }

  /** For a session already busy: resumes it once {@code done} completes, at once if it has. */
  private void resumeAfter(Session session, Future<?> done) {
    if (done.isComplete()) {
      resume(session);
    } else {
      done.onComplete(ar -> session.outbound().execute(() -> resume(session)));
    }
  }

  /** Tells the client its request was refused, and counts it. Any thread. */
  public void reject(Session session, ErrorCode code, String message, RequestTag tag) {
    metrics.error(code);
    session.outbound().send(new ErrorReply(code, message, tag));
  }

  /** The socket is gone: leave every room with reason {@code disconnect}. Socket thread; once. */
  public void close(Session session) {
    if (session.closed()) {
      return;
    }
    session.markClosed();
    peers.remove(session.peer(), session);
    for (RoomId room : session.takeAllRooms()) {
      departed(session, room, LeaveReason.DISCONNECT);
    }
  }

  @Override
  public void resume(Resume resume, Session session) {
    reject(session, ErrorCode.RESUME_EXPIRED, ErrorCode.RESUME_EXPIRED.defaultMessage(), resume.tag());
  }

  @Override
  public void ack(Ack ack, Session session) {
  }

  @Override
  public void ping(Ping ping, Session session) {
    session.outbound().send(new Pong(ping.tag()));
  }

  // ---- relay: the hot path ----

  @Override
  public void relay(Relay relay, Session session) {
    RoomId room = relay.room();
    RoomView view = session.inRoom(room) ? view(room) : null;
    if (view == null) {
      reject(session, ErrorCode.NOT_IN_ROOM, "not a member of room " + room, relay.tag());
      return;
    }
    Relayed event = new Relayed(relay.kind(), room, session.peer(), relay.data());
    PeerId to = relay.to();
    if (to != null) {
      if (to.equals(session.peer())) {
        reject(session, ErrorCode.BAD_MESSAGE, "cannot relay to yourself", relay.tag());
        return;
      }
      Entry target = view.find(to);
      if (target == null) {
        reject(session, ErrorCode.PEER_NOT_FOUND, "no peer " + to + " in room " + room, relay.tag());
        return;
      }
      if (target.local() != null) {
        target.local().outbound().send(event);
      } else {
        relayToOtherNodes(session, new BackplaneMessage(nodeId, room, to, event), relay.tag());
      }
    } else {
      for (Entry entry : view.entries) {
        if (entry.local() != null && entry.local() != session) {
          entry.local().outbound().send(event);
        }
      }
      if (view.remoteCount > 0) {
        relayToOtherNodes(session, new BackplaneMessage(nodeId, room, null, event), relay.tag());
      } else if (backplane.distributed() && backplane.ready()) {
        // No member elsewhere is known, but one may have just joined: its announcement can still
        // be on its way here. Best effort: a failure misses nobody this node knows of.
        backplane.publish(new BackplaneMessage(nodeId, room, null, event));
      }
    }
    metrics.relayed(relay.kind());
  }

  @Override
  public void deliver(Deliver deliver, Session session) {
    holdUntil(session, delivery(session, deliver));
  }

  /** Completes once the delivery has gone out or was refused; never fails. */
  private Future<Void> delivery(Session session, Deliver deliver) {
    RoomId room = deliver.room();
    Relayed event = new Relayed(deliver.kind(), room, session.peer(), deliver.data());
    RoomView view = view(room);
    if (view != null && view.entries.length > 0) {
      boolean reached = false;
      for (Entry entry : view.entries) {
        if (entry.local() != null && entry.local() != session) {
          entry.local().outbound().send(event);
          reached = true;
        }
      }
      if (view.remoteCount > 0) {
        return publishDelivery(session, event, deliver);
      }
      if (!reached) {
        reject(session, ErrorCode.PEER_NOT_FOUND, "nobody to deliver to", deliver.tag());
      } else {
        metrics.relayed(deliver.kind());
      }
      return Future.succeededFuture();
    }
    return backplane.members(room).transform(members -> {
      if (members.failed()) {
        reject(session, ErrorCode.INTERNAL, "could not reach other nodes; retry", deliver.tag());
        return Future.succeededFuture();
      }
      if (members.result().isEmpty()) {
        reject(session, ErrorCode.PEER_NOT_FOUND, "nobody to deliver to", deliver.tag());
        return Future.succeededFuture();
      }
      return publishDelivery(session, event, deliver);
    });
  }

  private Future<Void> publishDelivery(Session session, Relayed event, Deliver deliver) {
    return backplane.publish(new BackplaneMessage(nodeId, deliver.room(), null, event)).transform(sent -> {
      if (sent.failed()) {
        reject(session, ErrorCode.INTERNAL, "could not reach members on other nodes; retry", deliver.tag());
      } else {
        metrics.relayed(deliver.kind());
      }
      return Future.<Void>succeededFuture();
    });
  }

  // ---- membership ----

  @Override
  public void join(Join join, Session session) {
    RoomId room = join.room();
    if (!session.identity().mayJoin(join.grantName())) {
      reject(session, ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN.defaultMessage(), join.tag());
      return;
    }
    if (session.inRoom(room)) {
      RoomView view = view(room);
      session.outbound().send(new Joined(room, session.peer(),
          view == null ? List.of() : view.membersExcept(session.peer()), join.tag()));
      return;
    }
    if (session.roomsHeldOrPending() >= limits.maxRoomsPerConnection()) {
      reject(session, ErrorCode.TOO_MANY_ROOMS,
          "already in " + limits.maxRoomsPerConnection() + " rooms", join.tag());
      return;
    }
    session.startJoining(room);
    // From now on what other nodes announce about the room is kept for this join.
    rooms.compute(room, (key, slot) -> (slot == null ? new Room(room, nodeId) : slot).startJoin());
    Member me = new Member(session.peer(), join.metaJson());
    // Subscribe before joining so no event published after our join can be missed.
    Future<JoinResult> joined = backplane.subscribe(room)
        .compose(v -> backplane.join(room, me, join.capacity() > 0 ? join.capacity() : limits.maxPeersPerRoom()));
    session.markBusy();
    joined.onComplete(result -> session.outbound().execute(() -> finishJoin(session, join, me, result)));
  }

  private void finishJoin(Session session, Join join, Member me, AsyncResult<JoinResult> result) {
    RoomId room = join.room();
    boolean admitted = result.succeeded() && !session.closed();
    session.finishJoining(room, admitted);
    if (!admitted) {
      rooms.computeIfPresent(room, (key, slot) -> slot.abandonJoin());
    }
    if (result.failed()) {
      backplane.unsubscribe(room);
      if (result.cause() instanceof SignalingException refusal) {
        reject(session, refusal.code(), refusal.getMessage() + ": " + room, join.tag());
      } else {
        log.atWarn().addKeyValue("room", room).addKeyValue("peer", session.peer())
            .log("join of room {} failed: {}", room, result.cause().toString());
        reject(session, ErrorCode.INTERNAL, "join failed; retry", join.tag());
      }
      resume(session);
      return;
    }
    if (!admitted) {
      // The socket closed while the join was in flight. The backplane has it as a member, and
      // nodes may have read it in a roster since, so it leaves like any member does.
      leaveEverywhere(room, new PeerLeft(room, me.peer(), LeaveReason.DISCONNECT));
      return;
    }
    rooms.compute(room, (key, slot) -> (slot == null ? new Room(room, nodeId) : slot)
        .admit(session, me, result.result().others(), join.tag()));
    metrics.joined();
    // The join is done for the client once other nodes have been told, so that its next
    // command (and for a dialect where connecting is joining, its upgrade) finds every node of
    // the room aware of it.
    resumeAfter(session, backplane.publish(new BackplaneMessage(nodeId, room, null, new PeerJoined(room, me)))
        .onFailure(e -> log.atDebug().addKeyValue("room", room).addKeyValue("peer", me.peer()).setCause(e)
            .log("peer-joined for room {} not published", room)));
  }

  @Override
  public void leave(Leave leave, Session session) {
    if (!session.removeRoom(leave.room())) {
      reject(session, ErrorCode.NOT_IN_ROOM, "not a member of room " + leave.room(), leave.tag());
      return;
    }
    departed(session, leave.room(), LeaveReason.LEAVE);
    session.outbound().send(new Left(leave.room(), leave.tag()));
  }

  private void departed(Session session, RoomId room, LeaveReason reason) {
    PeerLeft announcement = new PeerLeft(room, session.peer(), reason);
    rooms.computeIfPresent(room, (key, slot) -> slot.depart(session, announcement));
    metrics.left();
    leaveEverywhere(room, announcement);
  }

  /**
   * Takes a member out of the backplane, then tells the other nodes. In that order: a node that
   * read the member in a roster did so before the leave, so it had subscribed before the
   * announcement and will hear it.
   */
  private void leaveEverywhere(RoomId room, PeerLeft announcement) {
    // A failed leave is retried, and announced, by the backplane once it is reachable again.
    backplane.leave(room, announcement.peer())
        .onSuccess(v -> publish(new BackplaneMessage(nodeId, room, null, announcement)))
        .onFailure(e -> log.atDebug().addKeyValue("room", room).addKeyValue("peer", announcement.peer()).setCause(e)
            .log("leave of room {} failed", room))
        .onComplete(v -> backplane.unsubscribe(room));
  }

  // ---- events from other nodes ----

  /** Delivers what another node published to this node's members. Any thread. */
  @Override
  public void onMessage(BackplaneMessage message) {
    if (message.originNode().equals(nodeId)) {
      return;
    }
    message.event().accept(new FromOtherNode(message));
  }

  /** What a message from another node does here, for every kind of event. */
  private final class FromOtherNode implements Event.Visitor<Void> {
    private final BackplaneMessage message;

    FromOtherNode(BackplaneMessage message) {
      this.message = message;
    }

    @Override
    public Void relayed(Relayed relayed) {
      toLocalMembers(message.room(), message.to(), relayed);
      return null;
    }

    @Override
    public Void serverMessage(ServerMessage fromServer) {
      toLocalMembers(message.room(), message.to(), fromServer);
      return null;
    }

    @Override
    public Void peerJoined(PeerJoined joined) {
      rooms.computeIfPresent(message.room(), (key, slot) -> slot.remoteJoined(joined));
      return null;
    }

    @Override
    public Void peerLeft(PeerLeft left) {
      rooms.computeIfPresent(message.room(), (key, slot) -> slot.remoteLeft(left));
      return null;
    }

    // Replies to one client never cross nodes (BackplaneMessage refuses them).

    @Override
    public Void welcome(Welcome welcome) {
      throw notARoomEvent(welcome);
    }

    @Override
    public Void joined(Joined joined) {
      throw notARoomEvent(joined);
    }

    @Override
    public Void left(Left left) {
      throw notARoomEvent(left);
    }

    @Override
    public Void pong(Pong pong) {
      throw notARoomEvent(pong);
    }

    @Override
    public Void error(ErrorReply error) {
      throw notARoomEvent(error);
    }

    @Override
    public Void peerReconnecting(PeerReconnecting reconnecting) {
      return null;
    }

    @Override
    public Void peerResumed(PeerResumed resumed) {
      return null;
    }

    @Override
    public Void numbered(NumberedEvent numbered) {
      throw notARoomEvent(numbered);
    }

    @Override
    public Void resumed(Resumed resumed) {
      throw notARoomEvent(resumed);
    }

    private IllegalArgumentException notARoomEvent(Event event) {
      return new IllegalArgumentException("not a room event: " + event);
    }
  }

  /**
   * Reconciles this node's view of {@code room} with the backplane's full membership after the
   * node missed events: remote members it did not know are announced with {@code peer-joined},
   * remote members that are gone with {@code peer-left} ({@code disconnect}). Any thread.
   */
  @Override
  public void onResync(RoomId room, List<JoinResult.Placed> members) {
    rooms.computeIfPresent(room, (key, slot) -> slot.resync(members));
  }

  /** The periodic check; repairs are counted, and stay at zero in a healthy cluster. Any thread. */
  @Override
  public void reconcile(RoomId room, List<JoinResult.Placed> members) {
    int[] repaired = {0};
    rooms.computeIfPresent(room, (key, slot) -> {
      repaired[0] = slot.reconcile(members);
      return slot;
    });
    for (int i = 0; i < repaired[0]; i++) {
      metrics.membershipRepaired();
    }
    if (repaired[0] > 0) {
      log.atWarn().addKeyValue("room", room)
          .log("room {}: repaired {} member(s) of this node's view from the backplane", room, repaired[0]);
    }
  }

  /** Closes the peer's connection if this node holds it. Any thread. */
  @Override
  public boolean onDisconnect(Disconnect request) {
    Session session = peers.get(request.peer());
    if (session == null) {
      return false;
    }
    session.outbound().disconnect(request.code(), request.reason());
    return true;
  }

  // ---- the server API: what an operator asks of the cluster through this node ----

  /** A page of the cluster's rooms; see {@link Backplane#rooms}. Any thread. */
  public Future<RoomPage> rooms(String cursor, int limit) {
    return backplane.rooms(cursor, limit);
  }

  /** The members of {@code room} on every node, in join order. Any thread. */
  public Future<List<JoinResult.Placed>> members(RoomId room) {
    return backplane.members(room);
  }

  /**
   * Closes {@code peer}'s connection on whichever node holds it; true when one did, false when
   * none holds it. Any thread.
   */
  public Future<Boolean> disconnect(PeerId peer, int code, String reason) {
    return backplane.disconnect(new Disconnect(peer, code, reason));
  }

  /** What {@link #sendFromServer} found: the room's members, and how many the message was for. */
  public record ServerSend(int roomMembers, int recipients) {}

  /**
   * Sends {@code data} from the server to every member of {@code room}, or only to {@code to}
   * when it is not null, on every node. Nothing is sent when the room has no members or
   * {@code to} is not one of them ({@code recipients} 0). Any thread.
   */
  public Future<ServerSend> sendFromServer(RoomId room, PeerId to, RawJson data) {
    return backplane.members(room).compose(members -> {
      List<JoinResult.Placed> targets = to == null ? members
          : members.stream().filter(p -> p.member().peer().equals(to)).toList();
      if (targets.isEmpty()) {
        return Future.succeededFuture(new ServerSend(members.size(), 0));
      }
      ServerMessage event = new ServerMessage(room, data);
      toLocalMembers(room, to, event);
      boolean elsewhere = targets.stream().anyMatch(p -> !p.node().equals(nodeId));
      Future<Void> sent = elsewhere ? backplane.publish(new BackplaneMessage(nodeId, room, to, event))
          : Future.succeededFuture();
      return sent.map(v -> new ServerSend(members.size(), targets.size()));
    });
  }

  // A relay that cannot leave this node (backplane down) is lost: say so, so the client can retry.
  private void relayToOtherNodes(Session sender, BackplaneMessage message, RequestTag tag) {
    backplane.publish(message).onFailure(e -> reject(sender, ErrorCode.INTERNAL,
        "could not reach members on other nodes; retry", tag));
  }

  private void publish(BackplaneMessage message) {
    backplane.publish(message).onFailure(e -> log.atDebug().addKeyValue("room", message.room()).setCause(e)
        .log("publish to room {} failed", message.room()));
  }

  /** Sends {@code event} to this node's members of {@code room}: every one, or only {@code to}. */
  private void toLocalMembers(RoomId room, PeerId to, Event event) {
    RoomView view = view(room);
    if (view != null) {
      for (Entry entry : view.entries) {
        if (entry.local() != null && (to == null || entry.member().peer().equals(to))) {
          entry.local().outbound().send(event);
        }
      }
    }
  }

  /** The current view of {@code room}, or null when this node holds no such room. */
  private RoomView view(RoomId room) {
    Room slot = rooms.get(room);
    return slot == null ? null : slot.view();
  }
}
