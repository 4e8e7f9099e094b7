package io.switchboard.signaling.port;

import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import java.util.List;

/**
 * What a node shares with the other nodes of its cluster: room membership and the fan-out of
 * room events. The only type that knows other nodes exist.
 *
 * <p>Every method is non-blocking and thread-safe; returned futures may complete on any thread.
 * A failed future carries either a {@link io.switchboard.wire.SignalingException} (a refusal
 * the client should hear about, such as {@code room-full}) or an infrastructure failure.
 *
 * <p>Lifecycle: {@link #start} once before anything else, {@link #close} once at the end.
 */
public interface Backplane {

  /** Starts the backplane; {@code listener} receives what other nodes publish. */
  Future<Void> start(BackplaneListener listener);

  /**
   * Atomically, cluster-wide: if {@code room} has fewer than {@code maxPeers} members, adds
   * {@code member} as a member on this node and returns the members that were already there.
   * Fails with {@code room-full} otherwise. Joining twice with the same peer id replaces the entry.
   */
  Future<JoinResult> join(RoomId room, Member member, int maxPeers);

  /** Removes {@code peer} from {@code room}; succeeds whether or not it was a member. */
  Future<Void> leave(RoomId room, PeerId peer);

  /** The members of {@code room} on all nodes, each with its node, in join order. */
  Future<List<JoinResult.Placed>> members(RoomId room);

  /**
   * Starts receiving {@code room}'s events from other nodes. Counted: each call must be matched by
   * one {@link #unsubscribe}, and the node stays subscribed while the count is above zero.
   */
  Future<Void> subscribe(RoomId room);

  /**
   * Undoes one {@link #subscribe}. When the count reaches zero the future completes once the
   * backplane has confirmed it no longer receives the room's events; none are handed to the
   * listener after that.
   */
  Future<Void> unsubscribe(RoomId room);

  /**
   * Delivers {@code message} once to every other node subscribed to its room. Never back to
   * this node: local members are served by the hub directly.
   */
  Future<Void> publish(BackplaneMessage message);

  /**
   * Whether other nodes may share this node's rooms. Then a message to a whole room goes to the
   * backplane even when this node knows of no member elsewhere: a member that just joined on
   * another node is subscribed, stored and announced, but its announcement may still be on its
   * way here.
   */
  boolean distributed();

  /**
   * A page of at most {@code limit} rooms that have members on any node, each with its member
   * count, starting at {@code cursor} (null for the first page). Pages are consistent with a
   * membership that changes meanwhile only as far as this: a room that has members during the
   * whole walk is listed at least once. Fails with {@link IllegalArgumentException} for a cursor
   * this backplane did not make.
   */
  Future<RoomPage> rooms(String cursor, int limit);

  /**
   * Hands {@code request} to every node, this one included, through {@link
   * BackplaneListener#onDisconnect}. Completes with true once a node has closed the peer's
   * connection, false once every node has answered that it holds no such peer; fails when not
   * every node answered in time.
   */
  Future<Boolean> disconnect(Disconnect request);

  /** True while the backplane can serve cross-node traffic; drives {@code /health/ready}. */
  boolean ready();

  /**
   * Stops the backplane and releases what it holds: the members this node still holds leave the
   * room for every node.
   */
  Future<Void> close();
}
