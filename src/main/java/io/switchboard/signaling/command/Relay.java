package io.switchboard.signaling.command;

import io.switchboard.signaling.PeerId;
import io.switchboard.signaling.RoomId;

/**
 * Relay {@code data} to peer {@code to} of {@code room}, or to every other member when
 * {@code to} is null. {@code data} is the sender's exact bytes, never parsed.
 */
public record Relay(RelayKind kind, RoomId room, PeerId to, RawJson data, String requestId) implements Command {}
