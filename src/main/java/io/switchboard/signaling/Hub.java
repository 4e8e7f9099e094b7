package io.switchboard.signaling;

import io.switchboard.wire.RoomMeta;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.Expired;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.wire.CloseReason;
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
  // How long a numbered event may wait for the ones before it before they are fetched.
  private static final long STALL_NANOS = 500_000_000L;

  private final Backplane backplane;
  private final Limits limits;
  private final SignalingMetrics metrics;
  private final String nodeId;
  private final Function<PeerId, String> iceServers;
  private final SecureRandom random = new SecureRandom();
  private final ConcurrentHashMap<RoomId, Room> rooms = new ConcurrentHashMap<>();
  // The sessions open on this node, for what reaches a peer by id alone (the server API).
  private final ConcurrentHashMap<PeerId, Session> peers = new ConcurrentHashMap<>();
  // The open sessions whose gate holds events that may stall: the few the tick looks at.
  private final Set<Session> waitingGates = ConcurrentHashMap.newKeySet();
  // Suspensions in flight: the backplane may only close once they are stored (see quiesce).
  private final Set<Future<?>> suspending = ConcurrentHashMap.newKeySet();

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
    return open(outbound, nowNanos, identity, false);
  }

  /**
   * As {@link #open(Outbound, long, Identity)}; a client that {@code wantsResume} gets a resume
   * token in its welcome when resume is on (docs/protocol.md, "Resume").
   */
  public Session open(Outbound outbound, long nowNanos, Identity identity, boolean wantsResume) {
    boolean resumable = wantsResume && resumeOn();
    PeerId peer = PeerId.random(random, resumable);
    ResumeToken.Issued token = resumable ? ResumeToken.issue(peer, random) : null;
    Session session = new Session(peer, outbound, identity, limits, nowNanos, resumable ? token.hash() : null,
        waitingGates);
    peers.put(peer, session);
    outbound.send(resumable
        ? new Welcome(peer, iceServers.apply(peer), token.text(), (int) (limits.resumeWindowMillis() / 1000))
        : new Welcome(peer, iceServers.apply(peer)));
    return session;
  }

  private boolean resumeOn() {
    return limits.resumeWindowMillis() > 0;
  }

  /**
   * Carries out one client command, after every earlier command of the session has taken effect.
   * Socket thread. A failure here is a bug, not bad input: it is logged, and the client hears
   * {@code internal} and keeps its connection.
   */
  public void handle(Session session, Command command) {
    // A superseded socket's commands would act for a session that is another socket's now.
    if (session.closed() || session.superseded()) {
      return;
    }
    if (!(command instanceof Resume)) {
      session.firstCommand();
    }
    if (session.busy() && command.waitsForEarlier()) {
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
    if (session.superseded()) {
      return; // what it still queued would act for a session that is another socket's now
    }
    // Once closed, only the deliveries it kept are waiting (Session.markClosed).
    for (Command next = session.idle(); next != null; next = session.idle()) {
      run(session, next);
      if (session.busy()) {
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

  /** The socket is gone and the session with it: leave every room with reason {@code disconnect}. */
  public void close(Session session) {
    close(session, false);
  }

  /**
   * The socket is gone. A resumable session whose socket ended in a way that starts a gap
   * ({@code mayResume}; docs/protocol.md, "The gap") stays a member of its rooms for the resume
   * window, and its rooms hear {@code peer-reconnecting}; any other leaves every room with
   * reason {@code disconnect}. Socket thread; once.
   */
  public void close(Session session, boolean mayResume) {
    if (session.closed()) {
      return;
    }
    session.markClosed();
    PeerId peer = session.peer();
    peers.remove(peer, session);
    List<RoomId> held = session.takeAllRooms();
    if (session.superseded()) {
      // Resumed on another socket, which holds the rooms now.
      for (RoomId room : held) {
        rooms.computeIfPresent(room, (key, slot) -> slot.suspend(session));
        backplane.unsubscribe(room);
      }
      return;
    }
    if (mayResume && session.numbered() && resumeOn()) {
      for (RoomId room : held) {
        rooms.computeIfPresent(room, (key, slot) -> slot.suspend(session));
      }
      Future<?> stored = backplane.suspend(peer, session.epoch(), System.currentTimeMillis() + limits.resumeWindowMillis())
          .compose(confirmed -> Future.all(confirmed.stream()
              .map(room -> publish(new BackplaneMessage(nodeId, room, null, new PeerReconnecting(room, peer))))
              .toList()))
          .onFailure(e -> log.atWarn().addKeyValue("peer", peer).setCause(e)
              .log("could not keep peer {} for its resume; the node that finds it gone will end it", peer))
          .onComplete(ar -> held.forEach(backplane::unsubscribe));
      suspending.add(stored);
      stored.onComplete(ar -> suspending.remove(stored));
      return;
    }
    for (RoomId room : held) {
      departed(session, room, LeaveReason.DISCONNECT);
    }
    if (session.numbered()) {
      backplane.forget(peer, session.epoch());
    }
  }

  /**
   * Completes once every suspension started so far is stored, so that a node stopping after its
   * drain closes the backplane (which removes the members it holds) only after its resumable
   * sessions were handed over to their gap.
   */
  public Future<Void> quiesce() {
    return Future.all(List.copyOf(suspending)).transform(ar -> Future.succeededFuture());
  }

  // ---- resume (docs/protocol.md, "Resume") ----

  @Override
  public void resume(Resume resume, Session session) {
    if (!session.firstCommand()) {
      reject(session, ErrorCode.BAD_MESSAGE, "resume must be the socket's first message", resume.tag());
      return;
    }
    if (!session.resumable()) {
      reject(session, ErrorCode.BAD_MESSAGE, resumeOn() ? "open the socket with ?resume=1 to resume"
          : "resume is off on this server", resume.tag());
      return;
    }
    ResumeToken token = ResumeToken.parse(resume.token());
    if (token == null) {
      metrics.resume("refused");
      reject(session, ErrorCode.RESUME_REFUSED, ErrorCode.RESUME_REFUSED.defaultMessage(), resume.tag());
      return;
    }
    ResumeToken.Issued next = ResumeToken.issue(token.peer(), random);
    session.markBusy();
    session.gate().hold();
    backplane.claim(token.peer(), token.hash(), session.identity().subject(), resume.lastSeq(), next.hash())
        .onComplete(claimed -> session.outbound().execute(
            () -> finishResume(session, resume, token.peer(), next, claimed)));
  }

  private void finishResume(Session session, Resume resume, PeerId peer, ResumeToken.Issued token,
      AsyncResult<Claim> claimed) {
    if (claimed.failed()) {
      session.gate().release();
      if (claimed.cause() instanceof SignalingException refusal) {
        metrics.resume(refusal.code() == ErrorCode.RESUME_EXPIRED ? "expired" : "refused");
        reject(session, refusal.code(), refusal.getMessage(), resume.tag());
      } else {
        reject(session, ErrorCode.UNAVAILABLE, "could not reach the session store; resume again", resume.tag());
      }
      resume(session);
      return;
    }
    Claim claim = claimed.result();
    if (session.closed()) {
      // This socket went away while it claimed the session: back to the gap, at the new epoch.
      backplane.suspend(peer, claim.epoch(), System.currentTimeMillis() + limits.resumeWindowMillis());
      return;
    }
    Session old = peers.get(peer);
    if (old != null && old != session) {
      supersede(old);
    }
    peers.remove(session.peer(), session);
    session.resumeAs(peer, claim.epoch(), token.hash(), claim.acked(), resume.lastSeq());
    peers.put(peer, session);
    metrics.resume("ok");
    if (claim.gapSinceMillis() > 0) {
      metrics.gapMillis(System.currentTimeMillis() - claim.gapSinceMillis());
    }
    // The new token first: if what follows fails, the client can resume again with it.
    session.outbound().send(new Resumed(peer, claim.rooms(), claim.acked(), token.text(), resume.tag()));
    List<Future<List<JoinResult.Placed>>> rosters = new java.util.ArrayList<>();
    for (RoomMeta held : claim.rooms()) {
      session.startJoining(held.room());
      rooms.compute(held.room(), (key, slot) -> (slot == null ? new Room(held.room(), nodeId) : slot).startJoin());
      rosters.add(backplane.subscribe(held.room()).compose(v -> backplane.members(held.room())));
    }
    Future.join(rosters).onComplete(all -> session.outbound().execute(() -> {
      boolean complete = true;
      for (int i = 0; i < rosters.size(); i++) {
        RoomMeta held = claim.rooms().get(i);
        Future<List<JoinResult.Placed>> roster = rosters.get(i);
        boolean admitted = roster.succeeded() && !session.closed();
        session.finishJoining(held.room(), admitted);
        if (admitted) {
          Member me = new Member(peer, held.metaJson());
          rooms.compute(held.room(), (key, slot) -> (slot == null ? new Room(held.room(), nodeId) : slot)
              .admitResumed(session, me, roster.result()));
        } else {
          complete = false;
          rooms.computeIfPresent(held.room(), (key, slot) -> slot.abandonJoin());
          backplane.unsubscribe(held.room());
        }
      }
      if (!complete) {
        // Its rooms could not all be set up here: the client resumes again (it has the new token).
        session.outbound().close(CloseReason.INTERNAL);
        return;
      }
      backplane.replay(peer, resume.lastSeq()).onComplete(replayed -> session.outbound().execute(() -> {
        session.gate().fetched(replayed.succeeded());
        if (replayed.succeeded()) {
          metrics.replayed(replayed.result().size());
          offerStored(session, replayed.result());
        }
        session.gate().release();
        for (RoomMeta held : claim.rooms()) {
          publish(new BackplaneMessage(nodeId, held.room(), null, new PeerResumed(held.room(), peer)));
        }
        resume(session);
      }));
    }));
  }

  private static void offerStored(Session session, List<Numbered> stored) {
    long now = System.nanoTime();
    for (Numbered event : stored) {
      session.gate().offer(event.seq(), event.message().event(), now);
    }
  }

  /** Another socket resumed {@code old}'s session: this one ends, leaving the rooms to it. */
  private void supersede(Session old) {
    old.markSuperseded();
    old.outbound().close(CloseReason.RESUMED_ELSEWHERE);
  }

  @Override
  public void ack(Ack ack, Session session) {
    if (session.numbered() && ack.seq() <= session.gate().delivered()) {
      backplane.ack(session.peer(), ack.seq());
    }
  }

  /**
   * Once a second: ends the sessions whose resume window passed, cluster-wide (each departure is
   * announced by exactly one node), and fetches from their buffers the events a session here has
   * waited too long for, or that a failed read of its buffer did not bring. Any thread.
   */
  public void tick() {
    if (!resumeOn()) {
      return;
    }
    backplane.expire(System.currentTimeMillis()).onSuccess(ended -> {
      for (Expired gone : ended) {
        PeerLeft left = new PeerLeft(gone.room(), gone.peer(), gone.reason());
        rooms.computeIfPresent(gone.room(), (key, slot) -> slot.remoteLeft(left));
        metrics.resume(gone.reason() == LeaveReason.OVERFLOW ? "overflow" : "timeout");
        publish(new BackplaneMessage(nodeId, gone.room(), null, left));
      }
    });
    long now = System.nanoTime();
    for (Session session : waitingGates) {
      if (session.gate().stalled(now, STALL_NANOS)) {
        catchUp(session);
      }
    }
  }

  // Everything stored for the session after what its socket got: the gate drops what came since.
  private void catchUp(Session session) {
    backplane.replay(session.peer(), session.gate().delivered()).onComplete(stored -> {
      session.gate().fetched(stored.succeeded());
      if (stored.succeeded()) {
        offerStored(session, stored.result());
      }
    });
  }

  @Override
  public void ping(Ping ping, Session session) {
    session.outbound().send(session.resumable() ? new Pong(ping.tag(), session.acked()) : new Pong(ping.tag()));
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
    long n = relay.n();
    // A numbered relay from a resumable session is stored before anyone gets it, so that its
    // number is taken in order and a retransmission is recognised (docs/protocol.md).
    boolean tracked = n > 0 && session.numbered();
    if (tracked && n <= session.acked()) {
      return; // a retransmission of a relay already accepted
    }
    if (tracked && !session.takeN(n)) {
      reject(session, ErrorCode.UNAVAILABLE, "a relay numbered below " + n + " was not accepted; send again from there",
          relay.tag());
      return;
    }
    Relayed event = new Relayed(relay.kind(), room, session.peer(), relay.data());
    PeerId to = relay.to();
    // Local members that are not numbered get it straight away; from a tracked sender, only once
    // it is stored.
    List<Session> afterStore = tracked ? new ArrayList<>(2) : null;
    boolean throughBackplane = tracked;
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
      Session local = target.local();
      if (local != null && !local.numbered()) {
        sendNowOrAfterStore(local, event, afterStore);
      } else {
        // A numbered recipient, here or elsewhere, gets it from the backplane, which stores it first.
        throughBackplane = true;
      }
    } else {
      for (Entry entry : view.entries) {
        Session member = entry.local();
        if (member != null && member != session) {
          if (member.numbered()) {
            throughBackplane = true;
          } else {
            sendNowOrAfterStore(member, event, afterStore);
          }
        }
      }
      throughBackplane |= view.remoteCount > 0;
    }
    if (tracked) {
      // Stored one at a time: a relay is taken only once the one before it is known stored, so a
      // store that fails is sent again before any later relay counts.
      holdUntil(session, relayThroughBackplane(session, new BackplaneMessage(nodeId, room, to, event, n, Map.of()),
          relay.tag(), afterStore));
    } else if (throughBackplane) {
      relayThroughBackplane(session, new BackplaneMessage(nodeId, room, to, event), relay.tag(), List.of());
    } else if (to == null && backplane.distributed() && backplane.ready()) {
      // No member elsewhere is known, but one may have just joined: its announcement can still
      // be on its way here. Best effort: a failure misses nobody this node knows of.
      backplane.publish(new BackplaneMessage(nodeId, room, null, event));
    }
    metrics.relayed(relay.kind());
  }

  private static void sendNowOrAfterStore(Session member, Relayed event, List<Session> afterStore) {
    if (afterStore == null) {
      member.outbound().send(event);
    } else {
      afterStore.add(member);
    }
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
      boolean numberedHere = false;
      for (Entry entry : view.entries) {
        Session member = entry.local();
        if (member != null && member != session) {
          if (member.numbered()) {
            numberedHere = true;
          } else {
            member.outbound().send(event);
            reached = true;
          }
        }
      }
      if (view.remoteCount > 0 || numberedHere) {
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
    // A resumable session's events are kept from its first room on; numbered events of the room
    // wait until its joined is out.
    boolean register = session.resumable() && !session.numbered();
    if (session.resumable()) {
      session.gate().hold();
    }
    // Subscribe before joining so no event published after our join can be missed.
    Future<JoinResult> joined = backplane.subscribe(room)
        .compose(v -> !register ? Future.<Void>succeededFuture()
            : backplane.register(session.peer(), session.tokenHash(), session.identity().subject())
                .onSuccess(registered -> session.markRegistered()))
        .compose(v -> backplane.join(room, me, join.capacity() > 0 ? join.capacity() : limits.maxPeersPerRoom()));
    session.markBusy();
    joined.onComplete(result -> session.outbound().execute(() -> finishJoin(session, join, me, result)));
  }

  private void finishJoin(Session session, Join join, Member me, AsyncResult<JoinResult> result) {
    try {
      settleJoin(session, join, me, result);
    } finally {
      if (session.resumable()) {
        // After the joined (or the error): the room's numbered events follow it on the socket.
        session.gate().release();
      }
    }
  }

  private void settleJoin(Session session, Join join, Member me, AsyncResult<JoinResult> result) {
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
    if (!message.originNode().equals(nodeId)) {
      message.event().accept(new FromOtherNode(message));
    }
    if (!message.seqs().isEmpty()) {
      deliverNumbered(message);
    }
  }

  /** A numbered event reaches each of its recipients on this node through their gate. */
  private void deliverNumbered(BackplaneMessage message) {
    if (message.originNode().equals(nodeId)) {
      // Counted once, by the node that had it stored.
      long size = message.event() instanceof Relayed r ? r.data().length() : 0;
      metrics.buffered(message.seqs().size(), size * message.seqs().size());
    }
    long now = System.nanoTime();
    for (Map.Entry<PeerId, Long> numbered : message.seqs().entrySet()) {
      Session session = peers.get(numbered.getKey());
      if (session != null && session.numbered()) {
        session.gate().offer(numbered.getValue(), message.event(), now);
      }
    }
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
      toLocalMembers(message.room(), null, reconnecting);
      return null;
    }

    @Override
    public Void peerResumed(PeerResumed resumed) {
      // An old socket of the session still open here (the drop not noticed yet) is replaced.
      Session old = peers.get(resumed.peer());
      if (old != null) {
        supersede(old);
      }
      toLocalMembers(message.room(), null, resumed);
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

  /**
   * The room's events published while this node's subscription was cut never came: its resumable
   * sessions there fetch theirs from their buffers, at once rather than when a later event
   * shows the gap (which may never come). Any thread.
   */
  @Override
  public void missedEvents(RoomId room) {
    Room slot = rooms.get(room);
    if (slot == null || !resumeOn()) {
      return;
    }
    for (Room.Entry entry : slot.view().entries) {
      Session local = entry.local();
      if (local != null && local.numbered()) {
        catchUp(local);
      }
    }
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

  /**
   * Resumable sessions of this node may have been put in their gap by the other nodes, and may
   * expire there while their sockets look fine: their clients are sent away with 1012, to resume
   * at once (on any node). Any thread.
   */
  @Override
  public void declaredDead() {
    for (Session session : peers.values()) {
      if (session.numbered()) {
        session.outbound().close(CloseReason.SHUTTING_DOWN);
      }
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

  /** Supersedes this node's socket of {@code peer}'s session, if any, then runs {@code then} on its thread. */
  @Override
  public void release(PeerId peer, Runnable then) {
    Session session = peers.get(peer);
    if (session == null) {
      then.run();
      return;
    }
    session.outbound().execute(() -> {
      supersede(session);
      then.run();
    });
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
      boolean elsewhere = resumeOn() || targets.stream().anyMatch(p -> !p.node().equals(nodeId));
      Future<Void> sent = elsewhere ? backplane.publish(new BackplaneMessage(nodeId, room, to, event))
          : Future.succeededFuture();
      return sent.map(v -> new ServerSend(members.size(), targets.size()));
    });
  }

  /**
   * A relay the backplane could not accept (unreachable) is lost: say so, so that the client sends
   * it again; a resumable client does so by itself, with the same {@code n}.
   */
  private Future<Void> relayThroughBackplane(Session sender, BackplaneMessage message, RequestTag tag,
      List<Session> thenTo) {
    return backplane.publish(message).transform(sent -> {
      if (sent.succeeded()) {
        sender.accepted(message.senderSeq());
        thenTo.forEach(member -> member.outbound().send(message.event()));
      } else if (sender.resumable()) {
        if (message.senderSeq() > 0) {
          sender.outbound().execute(() -> sender.untakeFrom(message.senderSeq()));
        }
        reject(sender, ErrorCode.UNAVAILABLE, "could not store the message for its recipients; send it again", tag);
      } else {
        reject(sender, ErrorCode.INTERNAL, "could not reach members on other nodes; retry", tag);
      }
      return Future.<Void>succeededFuture();
    });
  }

  private Future<Void> publish(BackplaneMessage message) {
    return backplane.publish(message).onFailure(e -> log.atDebug().addKeyValue("room", message.room()).setCause(e)
        .log("publish to room {} failed", message.room()));
  }

  /** Sends {@code event} to this node's members of {@code room}: every one, or only {@code to}. */
  private void toLocalMembers(RoomId room, PeerId to, Event event) {
    RoomView view = view(room);
    if (view != null) {
      for (Entry entry : view.entries) {
        if (entry.local() != null && !entry.local().numbered() && (to == null || entry.member().peer().equals(to))) {
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
