package io.switchboard.signaling;

/**
 * The per-connection and per-room bounds the hub enforces. Each has an error or close code, a
 * metric and a test.
 *
 * @param maxRoomsPerConnection rooms one socket may be in at once ({@code too-many-rooms})
 * @param maxPeersPerRoom members a room may hold, cluster-wide ({@code room-full})
 * @param ratePerSecond sustained messages per second per socket ({@code rate-limited})
 * @param rateBurst messages a socket may send at once after being quiet
 * @param floodCloseAfter rate-limited messages in a row after which the socket is closed (4008)
 * @param resumeWindowMillis how long a resumable session stays a member of its rooms after its
 *     socket dropped; 0 turns resume off (docs/protocol.md, "Resume")
 */
public record Limits(int maxRoomsPerConnection, int maxPeersPerRoom, int ratePerSecond, int rateBurst,
    int floodCloseAfter, long resumeWindowMillis) {
  /** Limits with resume off. */
  public Limits(int maxRoomsPerConnection, int maxPeersPerRoom, int ratePerSecond, int rateBurst, int floodCloseAfter) {
    this(maxRoomsPerConnection, maxPeersPerRoom, ratePerSecond, rateBurst, floodCloseAfter, 0);
  }
}
