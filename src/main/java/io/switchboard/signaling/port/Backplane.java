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
   * Delivers {@code message} once to every other node subscribed to its room.
   *
   * <p>When some recipients are registered sessions ({@link #register}), the backplane first
   * numbers the event for each of them and stores it in their buffers, all in one atomic step,
   * and then delivers the message, with those numbers ({@link BackplaneMessage#seqs}), to every
   * node subscribed to the room, <em>this one included</em>: a numbered event reaches its
   * session only that way. The recipients are {@code to}, or every member of the room but the
   * event's own peer (the sender of a relay, the member that joined or left...). A relay with
   * {@link BackplaneMessage#senderSeq} at or below the highest one stored for its sender is a
   * retransmission: it is dropped, and the future succeeds. The future completes once the event
   * is stored (a failure means it was not accepted).
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

  // ---- resumable sessions (docs/protocol.md, "Resume") ----

  /**
   * Starts keeping events for {@code peer}: from now on {@link #publish} numbers every event
   * addressed to it and stores it in the session's buffer before delivering it. Records the
   * SHA-256 of its resume token ({@code tokenHash}, hex) and its token's subject (null for
   * none). The session's epoch is 1 and its owner this node. Idempotent for the same peer.
   */
  Future<Void> register(PeerId peer, String tokenHash, String subject);

  /** The client processed every event up to {@code seq}: drops them from its buffer. */
  Future<Void> ack(PeerId peer, long seq);

  /**
   * The socket of {@code peer} is gone but the client may come back: if this node still owns
   * the session at {@code epoch}, keeps it a member of its rooms until {@code deadlineMillis}
   * (epoch millis) and completes with its rooms, for announcing {@code peer-reconnecting};
   * completes with an empty list otherwise (another node took it over meanwhile).
   */
  Future<List<RoomId>> suspend(PeerId peer, long epoch, long deadlineMillis);

  /**
   * Takes over a session for this node, atomically: checks the token hash and subject, the
   * client's last processed {@code lastSeq}, moves the session's room memberships to this node,
   * clears its gap, increments its epoch and replaces its token hash with {@code newTokenHash}.
   * Fails with a {@link io.switchboard.wire.SignalingException} of {@code resume-refused}
   * (token or subject do not match), {@code resume-expired} (no such session), {@code
   * bad-sequence} ({@code lastSeq} above the last number given) or {@code resume-lost} (events
   * after {@code lastSeq} were dropped; the session is then marked overflowed, so that the
   * next {@link #expire} ends it with reason {@code overflow}).
   */
  Future<Claim> claim(PeerId peer, String tokenHash, String subject, long lastSeq, String newTokenHash);

  /** The stored events of {@code peer} numbered above {@code after}, in order. */
  Future<List<Numbered>> replay(PeerId peer, long after);

  /**
   * Ends the sessions whose gap has passed its deadline by {@code nowMillis}, or that overflowed
   * in their gap: removes them from their rooms and forgets them, exactly once cluster-wide
   * however many nodes call this. Completes with the departures to announce.
   */
  Future<List<Expired>> expire(long nowMillis);

  /**
   * The session ended for good (a clean close): forgets it and its buffer, if this node still
   * owns it at {@code epoch}. Its room memberships are left by {@link #leave} as usual.
   */
  Future<Void> forget(PeerId peer, long epoch);

  /** True while the backplane can serve cross-node traffic; drives {@code /health/ready}. */
  boolean ready();

  /**
   * Stops the backplane and releases what it holds: the members this node still holds leave the
   * room for every node.
   */
  Future<Void> close();
}
