package io.switchboard.signaling.event;

import io.switchboard.signaling.PeerId;

/** First event on every connection: the peer id the server assigned. */
public record Welcome(PeerId peer) implements Event {}
