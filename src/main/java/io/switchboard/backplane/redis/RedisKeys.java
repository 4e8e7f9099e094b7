package io.switchboard.backplane.redis;

import io.switchboard.wire.RoomId;

/**
 * Every Redis key and channel name Switchboard uses (the table in docs/clustering.md). All keys
 * of one room share the hash tag {@code {room}}; room names are from a safe character set, so
 * no escaping is needed.
 */
final class RedisKeys {
  private final String prefix;

  RedisKeys(String prefix) {
    this.prefix = prefix;
  }

  String prefix() {
    return prefix;
  }

  /** Hash: peer id -> {"node":..,"seq":..,"meta":..}. */
  String members(RoomId room) {
    return prefix + ":{" + room.value() + "}:members";
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
    String head = prefix + ":{";
    String tail = "}:events";
    if (!channel.startsWith(head) || !channel.endsWith(tail) || channel.length() <= head.length() + tail.length()) {
      return null;
    }
    String name = channel.substring(head.length(), channel.length() - tail.length());
    return RoomId.parse(name);
  }

  /** String with a TTL: present while the node heartbeats. */
  String node(String nodeId) {
    return prefix + ":node:" + nodeId;
  }

  /** Set of rooms where the node has members, for reaping it when it dies. */
  String nodeRooms(String nodeId) {
    return prefix + ":node:" + nodeId + ":rooms";
  }

  /** Sorted set: node id -> last heartbeat (ms); the janitor's list of nodes to check. */
  String nodes() {
    return prefix + ":nodes";
  }
}
