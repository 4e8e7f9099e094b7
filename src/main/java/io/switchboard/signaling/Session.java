package io.switchboard.signaling;

import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.command.Deliver;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One client connection as the hub sees it: its peer id, the rooms it is in, its rate limiter,
 * the {@link Outbound} to reach it, and the commands waiting for an earlier one to finish.
 *
 * <p>A session's commands take effect in the order they were sent. A command that completes
 * later (a join waits for the backplane, a delivery may too) makes the session <em>busy</em>
 * until it is done; commands arriving meanwhile wait in arrival order, however little they
 * depend on it, so a {@code leave} never overtakes its {@code join} and a relay never finds its
 * sender not yet in the room.
 *
 * <p>Mutable state is touched only on the socket's own thread (the edge calls the hub from there,
 * and the hub hops back there through {@link Outbound#execute} before touching it). Other threads
 * only read the final fields.
 */
public final class Session {
  // Changes once at most, on a resume, while the session is in no room (see resumeAs).
  private volatile PeerId peer;
  private final Outbound outbound;
  private final Identity identity;
  private final TokenBucket bucket;
  private final int floodCloseAfter;
  // As many commands may wait behind one in flight as a client may send at once; more is a flood.
  private final int maxWaiting;

  // Guarded by the socket's thread. A handful of rooms at most, so a list beats a set.
  private final List<RoomId> rooms = new ArrayList<>(2);
  private final List<RoomId> joining = new ArrayList<>(1);
  private int rejectedInARow;
  private boolean closed;
  private boolean busy;
  // Allocated on first use: most sessions never have a command wait.
  private ArrayDeque<Command> waiting;
  private Promise<Void> settled;

  // Resume (docs/protocol.md, "Resume"). Null for a session that cannot resume.
  private final NumberGate gate;
  // SHA-256 of the current resume token, hex; guarded by the socket's thread.
  private String tokenHash;
  // Set once the backplane keeps events for the session (at its first join); read by any thread.
  private volatile boolean registered;
  private volatile long epoch = 1;
  // The highest relay number n the backplane accepted; any thread writes (max), socket reads.
  private volatile long acked;
  // The highest relay number n that reached the hub (socket thread): a higher one that skips a
  // number means one was dropped on the way (rate-limited) or not stored.
  private long receivedN;
  // Only a socket's first command may be a resume.
  private boolean fresh = true;
  // Another socket resumed this session: this one ends without touching the backplane.
  private volatile boolean superseded;

  /**
   * @param waitingGates where the session is while its gate holds something that may stall
   *     ({@link NumberGate.Watcher})
   */
  Session(PeerId peer, Outbound outbound, Identity identity, Limits limits, long nowNanos, String tokenHash,
      Set<Session> waitingGates) {
    this.peer = peer;
    this.tokenHash = tokenHash;
    this.gate = tokenHash == null ? null : new NumberGate(outbound, waiting -> {
      if (waiting) {
        waitingGates.add(this);
      } else {
        waitingGates.remove(this);
      }
    });
    this.outbound = outbound;
    this.identity = identity;
    this.bucket = new TokenBucket(limits.ratePerSecond(), limits.rateBurst(), nowNanos);
    this.floodCloseAfter = limits.floodCloseAfter();
    this.maxWaiting = limits.rateBurst();
  }

  public PeerId peer() {
    return peer;
  }

  public Outbound outbound() {
    return outbound;
  }

  /** Who the connection's token says it is; {@link Identity#ANONYMOUS} when authentication is off. */
  public Identity identity() {
    return identity;
  }

  /** The verdict of the rate limiter on one incoming message. */
  public enum Admission { ACCEPT, REJECT, CLOSE }

  /** Charges one incoming message to the rate limiter. Socket thread only. */
  public Admission admit(long nowNanos) {
    if (bucket.tryTake(nowNanos)) {
      rejectedInARow = 0;
      return Admission.ACCEPT;
    }
    return ++rejectedInARow >= floodCloseAfter ? Admission.CLOSE : Admission.REJECT;
  }

  /**
   * Completes once every command handed to the hub so far has taken effect (at once when none is
   * in flight); fails if the session closes first. Socket thread only.
   */
  public Future<Void> settled() {
    if (closed) {
      return Future.failedFuture("session closed");
    }
    if (!busy) {
      return Future.succeededFuture();
    }
    if (settled == null) {
      settled = Promise.promise();
    }
    return settled.future();
  }

  // ---- resume ----

  /** Whether the client opted in to resume (and the node has it on). */
  public boolean resumable() {
    return gate != null;
  }

  /** Whether the session's room events are numbered: only through the backplane do they reach it. */
  boolean numbered() {
    return registered;
  }

  NumberGate gate() {
    return gate;
  }

  String tokenHash() {
    return tokenHash;
  }

  void markRegistered() {
    registered = true;
  }

  long epoch() {
    return epoch;
  }

  long acked() {
    return acked;
  }

  void accepted(long n) {
    if (n > acked) {
      acked = n; // a race between two accepts only ever lowers it briefly; the next one mends it
    }
  }

  /**
   * Takes relay number {@code n} in the order the client numbered them: false (and nothing
   * taken) when the one before it never arrived or was not stored. Socket thread.
   */
  boolean takeN(long n) {
    if (n > receivedN + 1) {
      return false;
    }
    receivedN = Math.max(receivedN, n);
    return true;
  }

  /** Relay number {@code n} was not stored: it, and every later one, must come again. */
  void untakeFrom(long n) {
    receivedN = Math.min(receivedN, n - 1);
  }

  /** True the first time only: whether nothing was asked of the session before. */
  boolean firstCommand() {
    boolean first = fresh;
    fresh = false;
    return first;
  }

  /** This socket now carries the session {@code resumed} took over. Socket thread, no rooms. */
  void resumeAs(PeerId resumed, long newEpoch, String newTokenHash, long newAcked, long lastSeq) {
    peer = resumed;
    epoch = newEpoch;
    tokenHash = newTokenHash;
    acked = newAcked;
    receivedN = newAcked;
    registered = true;
    gate.restartAfter(lastSeq);
  }

  boolean superseded() {
    return superseded;
  }

  void markSuperseded() {
    superseded = true;
  }

  boolean inRoom(RoomId room) {
    return rooms.contains(room);
  }

  int roomsHeldOrPending() {
    return rooms.size() + joining.size();
  }

  void startJoining(RoomId room) {
    joining.add(room);
  }

  void finishJoining(RoomId room, boolean joined) {
    joining.remove(room);
    if (joined) {
      rooms.add(room);
    }
  }

  boolean removeRoom(RoomId room) {
    return rooms.remove(room);
  }

  List<RoomId> takeAllRooms() {
    List<RoomId> all = new ArrayList<>(rooms);
    rooms.clear();
    return all;
  }

  boolean busy() {
    return busy;
  }

  /** A command is now in flight; later ones wait until {@link #idle}. */
  void markBusy() {
    busy = true;
  }

  /** Queues {@code command} behind the one in flight; false when too many already wait. */
  boolean enqueue(Command command) {
    if (waiting == null) {
      waiting = new ArrayDeque<>(4);
    }
    if (waiting.size() >= maxWaiting) {
      return false;
    }
    waiting.add(command);
    return true;
  }

  /** The command in flight is done: the next waiting command, or null when none waits. */
  Command idle() {
    busy = false;
    Command next = waiting == null ? null : waiting.poll();
    if (next == null && settled != null) {
      Promise<Void> done = settled;
      settled = null;
      done.complete();
    }
    return next;
  }

  boolean closed() {
    return closed;
  }

  void markClosed() {
    closed = true;
    if (gate != null) {
      gate.retire();
    }
    // What the client sent before its socket closed and is still waiting goes out all the same
    // (a dialect's farewell is one); nothing else a closed session asked for still applies.
    if (waiting != null) {
      waiting.removeIf(command -> !(command instanceof Deliver));
    }
    if (settled != null) {
      settled.tryFail("session closed");
      settled = null;
    }
  }
}
