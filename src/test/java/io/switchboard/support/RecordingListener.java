package io.switchboard.support;

import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.wire.RoomId;
import java.util.Collection;

/** A backplane listener that records the messages it hears and the rooms it is told to read again. */
public class RecordingListener extends IgnoringListener {
  private final Collection<BackplaneMessage> inbox;
  private final Collection<RoomId> missed;

  public RecordingListener(Collection<BackplaneMessage> inbox, Collection<RoomId> missed) {
    this.inbox = inbox;
    this.missed = missed;
  }

  @Override
  public void onMessage(BackplaneMessage message) {
    inbox.add(message);
  }

  @Override
  public void missedEvents(RoomId room) {
    missed.add(room);
  }
}
