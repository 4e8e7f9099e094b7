package io.switchboard.signaling.command;

import io.switchboard.wire.RequestTag;

/**
 * What a client asked for, decoded from one frame by a dialect. Every command carries the tag
 * its dialect gave it (or null), which the reply carries back. {@link #accept} makes every
 * handler of commands name every kind: a new kind does not compile until each handles it.
 */
public sealed interface Command permits Join, Leave, Relay, Deliver, Ping, Resume, Ack {
  /** The dialect's tag for this request, echoed in its reply; null for none. */
  RequestTag tag();

  <A> void accept(Visitor<A> visitor, A argument);

  /**
   * Whether this command takes effect only after every earlier command of its session has: true
   * for all but those whose effect does not depend on what came before.
   */
  default boolean waitsForEarlier() {
    return true;
  }

  /** One method per kind of command; {@code argument} is whatever the handler needs with it. */
  interface Visitor<A> {
    void join(Join join, A argument);

    void leave(Leave leave, A argument);

    void relay(Relay relay, A argument);

    void deliver(Deliver deliver, A argument);

    void ping(Ping ping, A argument);

    void resume(Resume resume, A argument);

    void ack(Ack ack, A argument);
  }
}
