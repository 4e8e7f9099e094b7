package io.switchboard.edge.dialect;

import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.NumberedEvent;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.event.PeerResumed;
import io.switchboard.signaling.event.Resumed;

/**
 * The encoder of a dialect whose clients cannot resume (docs/dialects.md): a resumable peer of
 * the same room that is reconnecting or back is nothing its clients can show, and none of their
 * own events is numbered.
 */
public interface WithoutResume extends Event.Visitor<byte[]> {
  @Override
  default byte[] peerReconnecting(PeerReconnecting peerReconnecting) {
    return null;
  }

  @Override
  default byte[] peerResumed(PeerResumed peerResumed) {
    return null;
  }

  @Override
  default byte[] numbered(NumberedEvent numbered) {
    throw new IllegalStateException("not a resumable session");
  }

  @Override
  default byte[] resumed(Resumed resumed) {
    throw new IllegalStateException("not a resumable session");
  }
}
