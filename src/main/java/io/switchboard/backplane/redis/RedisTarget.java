package io.switchboard.backplane.redis;

import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.RedisReplicas;
import io.vertx.redis.client.RedisRole;
import java.util.List;

/**
 * Where the backplane's Redis is: one standalone server, the master that Redis Sentinel names
 * (docs/clustering.md, "Redis Sentinel"), or a Redis Cluster (docs/clustering.md, "Redis Cluster").
 *
 * @param urls the server's URL, the sentinels' URLs, or the cluster's seed nodes; in sentinel
 *     mode their credentials, TLS and database number are used for the master too (the Vert.x
 *     client derives the master's address from the sentinel it asked), and in cluster mode for
 *     every node the seeds name
 * @param sentinelMaster the name the sentinels monitor the master under; empty otherwise
 * @param cluster whether the URLs are a Redis Cluster's seed nodes
 * @param oneSlot on a Redis Cluster, every key and channel in the prefix's slot rather than
 *     spread over the masters (docs/clustering.md, "Two layouts")
 */
public record RedisTarget(List<String> urls, String sentinelMaster, boolean cluster, boolean oneSlot) {
  public RedisTarget {
    urls = List.copyOf(urls);
    if (oneSlot && !cluster) {
      throw new IllegalArgumentException("only a cluster has slots");
    }
    if (urls.isEmpty() || sentinelMaster.isEmpty() && !cluster && urls.size() != 1) {
      throw new IllegalArgumentException("standalone takes one URL, sentinel and cluster at least one: " + urls.size());
    }
    if (cluster && !sentinelMaster.isEmpty()) {
      throw new IllegalArgumentException("a cluster has no sentinel master");
    }
  }

  public static RedisTarget standalone(String url) {
    return new RedisTarget(List.of(url), "", false, false);
  }

  public static RedisTarget sentinel(String master, List<String> sentinels) {
    if (master.isEmpty()) {
      throw new IllegalArgumentException("sentinel mode needs the master's name");
    }
    return new RedisTarget(sentinels, master, false, false);
  }

  /** A Redis Cluster in the spread layout. */
  public static RedisTarget cluster(List<String> seeds) {
    return new RedisTarget(seeds, "", true, false);
  }

  /** This cluster with every key and channel in the prefix's slot. */
  public RedisTarget inOneSlot() {
    return new RedisTarget(urls, sentinelMaster, cluster, true);
  }

  public boolean sentinel() {
    return !sentinelMaster.isEmpty();
  }

  /** Options that reach the master; {@code base} holds the network and pool settings. */
  RedisOptions master(RedisOptions base) {
    RedisOptions options = new RedisOptions(base).setEndpoints(urls);
    if (sentinel()) {
      // No auto-failover: it swaps a connection's socket under it without its handlers or its
      // subscriptions, so the backplane reconnects by itself (Connections), like after an outage.
      options.setType(RedisClientType.SENTINEL).setMasterName(sentinelMaster).setRole(RedisRole.MASTER)
          .setAutoFailover(false);
    }
    if (cluster) {
      // Masters only: a replica may lag behind a write the backplane just made (a join, a leave).
      options.setType(RedisClientType.CLUSTER).setUseReplicas(RedisReplicas.NEVER);
    }
    return options;
  }

  /** Options that reach one of the sentinels; only in sentinel mode. */
  RedisOptions sentinels(RedisOptions base) {
    return master(base).setRole(RedisRole.SENTINEL);
  }
}
