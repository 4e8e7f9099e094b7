package io.switchboard.backplane.redis;

import io.vertx.redis.client.Command;

/**
 * The pub/sub commands and pushes the backplane uses: Redis's global pub/sub on a standalone or
 * Sentinel-managed server, and sharded pub/sub on a Redis Cluster, where a global PUBLISH would
 * reach every node of the cluster and a shard's subscribers would not hear it at all.
 */
enum PubSub {
  GLOBAL(Command.PUBLISH, Command.SUBSCRIBE, Command.UNSUBSCRIBE, "message", "subscribe", "unsubscribe"),
  SHARDED(Command.SPUBLISH, Command.SSUBSCRIBE, Command.SUNSUBSCRIBE, "smessage", "ssubscribe", "sunsubscribe");

  final Command publish;
  final Command subscribe;
  final Command unsubscribe;
  /** The push that carries a message, and those that confirm a (un)subscription. */
  final String message;
  final String subscribed;
  final String unsubscribed;

  PubSub(Command publish, Command subscribe, Command unsubscribe, String message, String subscribed,
      String unsubscribed) {
    this.publish = publish;
    this.subscribe = subscribe;
    this.unsubscribe = unsubscribe;
    this.message = message;
    this.subscribed = subscribed;
    this.unsubscribed = unsubscribed;
  }
}
