package io.switchboard.signaling.event;

import io.switchboard.wire.PeerId;

/**
 * First event on every connection: the peer id the server assigned and, when ICE servers are
 * configured, {@code iceServersJson}: a JSON array of RTCIceServer objects (else null). For a
 * resumable session, its resume token and window in seconds (else null and 0).
 */
public record Welcome(PeerId peer, String iceServersJson, String resumeToken, int resumeWindowSeconds)
    implements Event {
  public Welcome(PeerId peer, String iceServersJson) {
    this(peer, iceServersJson, null, 0);
  }

  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.welcome(this);
  }

  public Welcome(PeerId peer) {
    this(peer, null);
  }
}
