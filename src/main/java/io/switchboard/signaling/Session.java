package io.switchboard.signaling;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * One client connection as the hub sees it: its peer id, the rooms it is in, its rate limiter
 * and the {@link Outbound} to reach it.
 *
 * <p>Mutable state is touched only on the socket's own thread (the edge calls the hub from there,
 * and the hub hops back there through {@link Outbound#execute} before touching it). Other threads
 * only read the final fields.
 */
public final class Session {
  private final PeerId peer;
  private final Outbound outbound;
  private final Identity identity;
  private final TokenBucket bucket;
  private final int floodCloseAfter;

  // Guarded by the socket's thread. A handful of rooms at most, so a list beats a set.
  private final List<RoomId> rooms = new ArrayList<>(2);
  private final List<RoomId> joining = new ArrayList<>(1);
  private int rejectedInARow;
  private boolean closed;
  // The last of this session's deliveries; the next one starts when it completes.
  private Future<Void> lastDelivery = Future.succeededFuture();

  Session(PeerId peer, Outbound outbound, Identity identity, Limits limits, long nowNanos) {
    this.peer = peer;
    this.outbound = outbound;
    this.identity = identity;
    this.bucket = new TokenBucket(limits.ratePerSecond(), limits.rateBurst(), nowNanos);
    this.floodCloseAfter = limits.floodCloseAfter();
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

  boolean inRoom(RoomId room) {
    return rooms.contains(room);
  }

  boolean joiningOrIn(RoomId room) {
    return rooms.contains(room) || joining.contains(room);
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

  /** Starts {@code delivery} once every earlier one has completed, to keep them in order. */
  void chainDelivery(Supplier<Future<Void>> delivery) {
    lastDelivery = lastDelivery.transform(previous -> delivery.get());
  }

  boolean closed() {
    return closed;
  }

  void markClosed() {
    closed = true;
  }
}
