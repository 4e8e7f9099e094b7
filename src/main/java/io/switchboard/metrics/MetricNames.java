package io.switchboard.metrics;

import java.util.List;

/**
 * Every meter Switchboard registers, in Micrometer's dotted form (Prometheus shows
 * {@code switchboard.joins} as {@code switchboard_joins_total}). docs/metrics.md lists the same set.
 */
public final class MetricNames {
  /** Gauge: WebSocket connections open on this node. */
  public static final String CONNECTIONS_OPEN = "switchboard.connections.open";
  /** Gauge: {@code MAX_CONNECTIONS}, the sockets this node accepts before refusing upgrades with 503. */
  public static final String CONNECTIONS_MAX = "switchboard.connections.max";
  /**
   * Counter, tag {@code reason} (origin, capacity, draining, unauthorized, forbidden, per-ip-rate,
   * per-ip-connections): upgrades and Engine.IO handshakes refused.
   */
  public static final String CONNECTIONS_REJECTED = "switchboard.connections.rejected";
  /** Counter, tag {@code reason} (a close reason such as idle-timeout): sockets the server closed. */
  public static final String CLOSES = "switchboard.closes";
  /** Gauge: rooms with at least one member on this node. */
  public static final String ROOMS = "switchboard.rooms";
  /** Counter: successful joins. */
  public static final String JOINS = "switchboard.joins";
  /** Counter: members that left a room, by leave or disconnect. */
  public static final String LEAVES = "switchboard.leaves";
  /** Counter, tag {@code type}: messages relayed (counted once per sent message, not per receiver). */
  public static final String MESSAGES_RELAYED = "switchboard.messages.relayed";
  /** Counter, tag {@code code}: error replies sent. */
  public static final String ERRORS = "switchboard.errors";
  /** Counter: bytes of WebSocket messages received. */
  public static final String BYTES_IN = "switchboard.bytes.in";
  /** Counter: bytes of WebSocket messages sent. */
  public static final String BYTES_OUT = "switchboard.bytes.out";

  /** Counter: messages published to other nodes (one per message, not per receiver). */
  public static final String BACKPLANE_PUBLISHED = "switchboard.backplane.published";
  /** Counter: messages received from other nodes. */
  public static final String BACKPLANE_RECEIVED = "switchboard.backplane.received";
  /** Counter, tag {@code operation}: failed backplane operations. */
  public static final String BACKPLANE_ERRORS = "switchboard.backplane.errors";
  /**
   * The {@code operation} tags of {@link #BACKPLANE_ERRORS}, registered at zero at start-up so that
   * Prometheus' {@code increase()} sees the first error (a series that appears at 1 has no increase).
   */
  public static final List<String> BACKPLANE_OPERATIONS = List.of(
      "publish", "subscribe", "join", "leave", "reap", "reassert", "deregister", "heartbeat", "command", "decode",
      "control", "rooms");
  /** Counter: reconnections of the backplane after a lost connection. */
  public static final String BACKPLANE_RECONNECTS = "switchboard.backplane.reconnects";
  public static final String MEMBERSHIP_REPAIRS = "switchboard.membership.repairs";
  /** Gauge: rooms whose channel this node is subscribed to. */
  public static final String BACKPLANE_SUBSCRIPTIONS = "switchboard.backplane.subscriptions";
  /** Timer (histogram): publish-to-receipt time of relays between nodes. */
  public static final String CROSS_NODE_LATENCY = "switchboard.crossnode.latency";

  /**
   * Counter, tag {@code outcome}: resumes ({@code ok}, {@code expired}, {@code refused}) and
   * sessions that ended in their gap ({@code timeout}, {@code overflow}).
   */
  public static final String RESUMES = "switchboard.resumes";
  /** Counter: events replayed from sessions' buffers after resumes. */
  public static final String RESUME_REPLAYED = "switchboard.resume.replayed";
  /** Counters: numbered events stored for resumable sessions, and their bytes. */
  public static final String RESUME_BUFFERED = "switchboard.resume.buffered";
  public static final String RESUME_BUFFERED_BYTES = "switchboard.resume.buffered.bytes";
  /** Timer (histogram): how long resumed sessions were away. */
  public static final String RESUME_GAP = "switchboard.resume.gap";

  /**
   * Gauge, always 1, tags {@code version} and {@code commit}: which build runs here, for joining
   * onto other series and for spotting a rollout that left nodes on two versions.
   */
  public static final String BUILD_INFO = "switchboard.build.info";

  /**
   * Counter, tags {@code route} (the path template, {@code unmatched} for unknown paths) and
   * {@code status}: requests to the server API on the admin port.
   */
  public static final String ADMIN_REQUESTS = "switchboard.admin.requests";

  private MetricNames() {}
}
