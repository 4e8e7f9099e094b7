package io.switchboard.signaling.command;

/**
 * What a client asked for, decoded from one frame by a dialect. Every command carries the raw
 * JSON text of the request's {@code id} (or null) so replies can echo it unchanged.
 */
public sealed interface Command permits Join, Leave, Relay, Deliver, Ping {
  /** The raw JSON text of the request id ({@code "abc"} with its quotes, or {@code 7}), or null. */
  String requestId();
}
