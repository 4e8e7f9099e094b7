package io.switchboard.signaling.port;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import java.util.List;

/**
 * Receives what other nodes published, and the backplane's full picture of a room when this node
 * may be out of step with it.
 *
 * <p>Any thread may call it: the Redis backplane calls from its own context, the in-memory one
 * from the thread that published (a socket's event loop, possibly one that holds a room's
 * update). Implementations must not block and must hand per-socket work to the socket's own
 * thread.
 */
public interface BackplaneListener {
  void onMessage(BackplaneMessage message);

  /**
   * After a lost connection was restored: the full membership of {@code room}, which this node
   * has certainly missed changes to while it was cut off. Applied at once.
   */
  void onResync(RoomId room, List<JoinResult.Placed> members);

  /**
   * The periodic check of a room this node holds: its full membership as the backplane stores it.
   * Events already in flight may not be reflected in it, so a listener repairs only a difference
   * that persists across two consecutive checks.
   */
  void reconcile(RoomId room, List<JoinResult.Placed> members);

  /**
   * This node's subscription to {@code room} was cut and is back: what was published there
   * meanwhile did not reach it. Resumable sessions find their numbered events in their buffers;
   * membership is repaired by {@link #onResync} (which may come later). Must not block.
   */
  default void missedEvents(RoomId room) {}

  /**
   * A node asked for {@code request.peer()}'s connection to be closed: closes it if this node
   * holds it, and says whether it did. Must answer at once; the close itself may follow.
   */
  default boolean onDisconnect(Disconnect request) {
    return false;
  }

  /**
   * Another node claimed {@code peer}'s resumable session: a socket of it here, if any, must stop
   * being the session, and {@code then} must run where nothing this node publishes for the session
   * can follow it: on the thread that published for it, after that socket is superseded, or at
   * once when this node holds no socket of it. Must not block.
   */
  default void release(PeerId peer, Runnable then) {
    then.run();
  }

  /**
   * The other nodes may have declared this node dead while it was running (it went silent for
   * longer than the node timeout): what they did to its members and sessions cannot be undone
   * from here. Must not block.
   */
  default void declaredDead() {}
}
