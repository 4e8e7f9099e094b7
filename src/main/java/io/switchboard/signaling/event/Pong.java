package io.switchboard.signaling.event;

/** Reply to an application-level ping. */
public record Pong(String requestId) implements Event {}
