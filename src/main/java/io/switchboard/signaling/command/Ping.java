package io.switchboard.signaling.command;

/** Application-level keep-alive; answered with a pong. */
public record Ping(String requestId) implements Command {}
