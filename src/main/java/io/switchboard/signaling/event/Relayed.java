package io.switchboard.signaling.event;

import io.switchboard.signaling.PeerId;
import io.switchboard.signaling.RoomId;
import io.switchboard.signaling.command.RawJson;
import io.switchboard.signaling.command.RelayKind;

/** A signal relayed from {@code from}; {@code data} is the sender's bytes, unchanged. */
public record Relayed(RelayKind kind, RoomId room, PeerId from, RawJson data) implements Event {}
