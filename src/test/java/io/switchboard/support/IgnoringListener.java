package io.switchboard.support;

import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.wire.RoomId;
import java.util.List;

/** A backplane listener that ignores everything; a test overrides what it watches. */
public class IgnoringListener implements BackplaneListener {
  @Override
  public void onMessage(BackplaneMessage message) {}

  @Override
  public void onResync(RoomId room, List<JoinResult.Placed> members) {}

  @Override
  public void reconcile(RoomId room, List<JoinResult.Placed> members) {}
}
