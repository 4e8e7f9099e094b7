package io.switchboard.signaling.port;

import io.switchboard.wire.Member;
import java.util.List;

/**
 * The outcome of a successful join: the members that were in the room before, each with the
 * node it is connected to.
 */
public record JoinResult(List<Placed> others) {
  public JoinResult {
    others = List.copyOf(others);
  }

  /** A member and the node holding its socket. */
  public record Placed(Member member, String node) {}
}
