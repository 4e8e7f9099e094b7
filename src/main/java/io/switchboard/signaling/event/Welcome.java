package io.switchboard.signaling.event;

import io.switchboard.wire.PeerId;

/**
 * First event on every connection: the peer id the server assigned and, when ICE servers are
 * configured, {@code iceServersJson}: a JSON array of RTCIceServer objects (else null).
 */
public record Welcome(PeerId peer, String iceServersJson) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.welcome(this);
  }

  public Welcome(PeerId peer) {
    this(peer, null);
  }
}
