package io.switchboard.signaling.port;

import io.switchboard.wire.RoomId;
import java.util.List;

/**
 * Receives what other nodes published. Called on a backplane thread, never on a socket's thread:
 * implementations hand work over to the owning threads and return quickly.
 */
public interface BackplaneListener {
  void onMessage(BackplaneMessage message);

  /**
   * After a lost connection was restored: the full membership of {@code room}, which this node
   * may have missed changes to while it was cut off.
   */
  void onResync(RoomId room, List<JoinResult.Placed> members);
}
