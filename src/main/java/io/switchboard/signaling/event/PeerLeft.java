package io.switchboard.signaling.event;

import io.switchboard.signaling.PeerId;
import io.switchboard.signaling.RoomId;

/** Another member left a room the receiver is in. */
public record PeerLeft(RoomId room, PeerId peer, LeaveReason reason) implements Event {}
