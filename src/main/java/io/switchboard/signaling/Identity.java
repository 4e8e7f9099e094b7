package io.switchboard.signaling;

import java.util.List;

/**
 * Who a connection is, as its verified token says (docs/security.md): {@code subject} is the
 * token's {@code sub} (null when it has none), {@code rooms} the patterns of its {@code rooms}
 * claim (null when it has none: every room), {@code expiresAtEpochSeconds} its {@code exp}.
 * {@link #ANONYMOUS} is every connection when authentication is off.
 *
 * <p>A room pattern is an exact name, or a prefix followed by {@code *} ({@code team-7-*});
 * {@code *} alone allows every room. The names matched are the ones the client chose: a native
 * room name, a Socket.IO {@code room.id}, a {@code /direct} login name, a {@code /relay/} path
 * segment.
 */
public record Identity(boolean verified, String subject, List<String> rooms, long expiresAtEpochSeconds) {
  /** A connection made while authentication is off: may join any room, never expires. */
  public static final Identity ANONYMOUS = new Identity(false, null, null, 0);

  public Identity {
    rooms = rooms == null ? null : List.copyOf(rooms);
  }

  /** Whether the token allows joining the room the client calls {@code name}. */
  public boolean mayJoin(String name) {
    if (rooms == null) {
      return true;
    }
    if (name == null) {
      return false;
    }
    for (String pattern : rooms) {
      if (pattern.endsWith("*")
          ? name.startsWith(pattern.substring(0, pattern.length() - 1))
          : name.equals(pattern)) {
        return true;
      }
    }
    return false;
  }

  /** Never the claims' values in full: identities may end up in a log line. */
  @Override
  public String toString() {
    return verified ? "Identity[sub=" + subject + ", rooms=" + (rooms == null ? "any" : rooms.size() + " patterns")
        + ", exp=" + expiresAtEpochSeconds + "]" : "Identity[anonymous]";
  }
}
