package io.switchboard.backplane.redis;

import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

/**
 * Every Redis key and channel name Switchboard uses (the table in docs/clustering.md). All keys
 * of one room share the hash tag {@code {room}}, and all keys of one resumable session the tag
 * {@code {peer}}; room names and peer ids are from a safe character set, so no escaping is
 * needed. On a Redis Cluster the channels are sharded, and the keys take one of two layouts:
 * spread, where the rooms and the sessions spread over the masters by their own tags and the
 * node keys (with the sorted set of sessions in their gap) share the tag {@code {nodes}}, so
 * that one script or pipeline may touch several of them; or one slot
 * ({@code REDIS_CLUSTER_LAYOUT=one-slot}, which a replica wait needs, since it must follow a
 * session's writes on one connection to one master), where every key and channel takes the
 * prefix itself as its tag ({@code {sb}:...}), named as on a standalone server under that prefix.
 */
final class RedisKeys {
  private final String prefix;
  private final boolean cluster;
  private final boolean spread;
  // Where the node keys start: keys of a standalone server keep the names they always had.
  private final String nodes;
  private final String nodeKeyStart;

  /**
   * @param cluster a Redis Cluster
   * @param oneSlot every key and channel in one slot (only on a Redis Cluster)
   */
  RedisKeys(String prefix, boolean cluster, boolean oneSlot) {
    this.prefix = oneSlot ? "{" + prefix + "}" : prefix;
    this.cluster = cluster;
    this.spread = cluster && !oneSlot;
    this.nodes = spread ? this.prefix + ":{nodes}" : this.prefix + ":nodes";
    this.nodeKeyStart = spread ? nodes + ":node:" : this.prefix + ":node:";
  }

  /**
   * Whether a room's keys, a session's keys and the node keys may each live on another master
   * (a Redis Cluster in the spread layout): then no script touches two of them.
   */
  boolean spread() {
    return spread;
  }

  /** What every key and channel starts with: the configured prefix, braced in the one-slot layout. */
  String prefix() {
    return prefix;
  }

  PubSub pubSub() {
    return cluster ? PubSub.SHARDED : PubSub.GLOBAL;
  }

  /** Hash: peer id -> {"node":..,"seq":..,"meta":..}. */
  String members(RoomId room) {
    return prefix + ":{" + room.value() + "}:members";
  }

  /** A SCAN pattern matching the members hash of every room, and nothing else. */
  String membersPattern() {
    // Prefixes and room names hold none of Redis's glob characters (* ? [ \), and no room
    // name holds a brace, so this matches exactly the keys members() makes.
    return prefix + ":{*}:members";
  }

  /** The room a key from {@link #members} belongs to, or null for another key. */
  RoomId roomOfMembers(String key) {
    return roomBetween(key, prefix + ":{", "}:members");
  }

  /** Counter giving members their join order; deleted with the room's last member. */
  String seq(RoomId room) {
    return prefix + ":{" + room.value() + "}:seq";
  }

  /** Pub/sub channel of the room's relays and membership events. */
  String events(RoomId room) {
    return prefix + ":{" + room.value() + "}:events";
  }

  /** The room a channel name from {@link #events} belongs to, or null for another channel. */
  RoomId roomOfChannel(String channel) {
    return roomBetween(channel, prefix + ":{", "}:events");
  }

  private static RoomId roomBetween(String name, String head, String tail) {
    if (!name.startsWith(head) || !name.endsWith(tail) || name.length() <= head.length() + tail.length()) {
      return null;
    }
    return RoomId.parse(name.substring(head.length(), name.length() - tail.length()));
  }

  /**
   * Pub/sub channel every node subscribes to for as long as it is connected: requests that
   * concern a peer wherever it is (the server API's disconnect), and their replies.
   */
  String control() {
    return prefix + ":control";
  }

  /** String with a TTL: present while the node heartbeats. */
  String node(String nodeId) {
    return nodeKeyStart() + nodeId;
  }

  /**
   * Set of rooms where the node has members, for reaping it when it dies: a room is added before
   * the node's first member there joins, and taken out after its last one has left, so the set
   * never misses a room the node holds.
   */
  String nodeRooms(String nodeId) {
    return node(nodeId) + ":rooms";
  }

  /** String with a TTL: the janitor reaping the (dead) node, for the length of its lease. */
  String nodeReaper(String nodeId) {
    return node(nodeId) + ":reaper";
  }

  /** What every node's key starts with; a node's key is this and its id. */
  String nodeKeyStart() {
    return nodeKeyStart;
  }

  /** What every session's key starts with; a session's key is this, "{", the peer id and "}". */
  String sessionKeyStart() {
    // Not ":session:", the name before buffers were streams: a node of an earlier version and one
    // of this version see nothing of each other's sessions, rather than a type they do not read.
    return prefix + ":resume:";
  }

  /** Sorted set: node id -> last heartbeat (ms); the janitor's list of nodes to check. */
  String nodes() {
    return nodes;
  }

  /**
   * Hash of a resumable session: tok, prev (the token hash before the last claim), sub, epoch,
   * node, in (highest relay n accepted), load (its buffer's count and bytes, buffer.lua), gap
   * (deadline while in its gap), over (1: overflowed in its gap), and r:ROOM = its meta in each room.
   */
  String session(PeerId peer) {
    return sessionKeyStart() + "{" + peer.value() + "}";
  }

  /**
   * Stream of a session's buffered events, oldest first: entry id 0-SEQ, one field "e" holding
   * "ROOM MESSAGE" (see WireFormat).
   */
  String sessionBuffer(PeerId peer) {
    return session(peer) + ":stream";
  }

  /**
   * Set of the resumable sessions the node owns outside a gap, so that the reaper can give those
   * of a dead node their gap even when they are in no room.
   */
  String nodeSessions(String nodeId) {
    return node(nodeId) + ":sessions";
  }

  /** Sorted set: peer -> deadline (ms) of each session in its gap; 0 for one that overflowed. */
  String gaps() {
    // Beside the node keys when spread: read and written with them, never beside a session's keys.
    return spread ? nodes + ":gaps" : prefix + ":gaps";
  }
}
