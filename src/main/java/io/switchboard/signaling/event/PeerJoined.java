package io.switchboard.signaling.event;

import io.switchboard.signaling.Member;
import io.switchboard.signaling.RoomId;

/** Another member joined a room the receiver is in. */
public record PeerJoined(RoomId room, Member member) implements Event {}
