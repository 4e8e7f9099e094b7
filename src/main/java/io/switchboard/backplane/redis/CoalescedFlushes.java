package io.switchboard.backplane.redis;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.vertx.core.net.NetSocket;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.impl.PooledRedisConnection;
import java.lang.reflect.Field;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets the publisher connection send everything one event-loop turn publishes in one write: on a
 * Redis Cluster, each of the sockets it holds to the masters.
 * Vert.x flushes a connection's write at once unless that same connection is being read, and the
 * publisher's writes are made while client sockets are read: one system call per message on the
 * node, and one read and one reply write per message on Redis. Netty's flush consolidation defers
 * the flush to the end of the turn, so a burst of relays leaves as one pipeline.
 *
 * <p>The socket is private to the Redis client, so this finds it by reflection, checked when the
 * class loads; when anything does not match, the connection is left as it is (only the number of
 * writes differs) and the reason is logged once.
 */
final class CoalescedFlushes {
  private static final Logger log = LoggerFactory.getLogger(CoalescedFlushes.class);
  static final String HANDLER_NAME = "switchboard-coalesced-flushes";
  private static final Field SOCKET = field("RedisStandaloneConnection", "netSocket", NetSocket.class, "publisher");
  private static final Field CLUSTER_CONNECTIONS =
      field("RedisClusterConnection", "connections", Map.class, "cluster publisher");

  private CoalescedFlushes() {}

  /**
   * Coalesces {@code connection}'s flushes; false when this Redis client does not allow it. A
   * cluster connection opens a master's socket on its first command there, after a failover or a
   * migration too, so the backplane applies this again after every reading of the slot map;
   * sockets already done are left as they are.
   */
  static boolean apply(RedisConnection connection) {
    Map<?, ?> masters = masterConnections(connection);
    if (masters == null) {
      return applyToSocket(connection);
    }
    boolean all = true;
    // The cluster connection adds to this map under its own lock.
    synchronized (masters) {
      for (Object master : masters.values()) {
        all &= master instanceof RedisConnection socket && applyToSocket(socket);
      }
    }
    return all;
  }

  private static boolean applyToSocket(RedisConnection connection) {
    ChannelPipeline pipeline = pipeline(connection);
    if (pipeline == null) {
      return false;
    }
    if (pipeline.get(HANDLER_NAME) == null) {
      // First in the pipeline, so that it holds back every flush, whichever handler asks.
      pipeline.addFirst(HANDLER_NAME,
          new FlushConsolidationHandler(FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
    }
    return true;
  }

  /** A cluster connection's connections to the masters, by address; null for any other connection. */
  static Map<?, ?> masterConnections(RedisConnection connection) {
    if (CLUSTER_CONNECTIONS == null || !CLUSTER_CONNECTIONS.getDeclaringClass().isInstance(connection)) {
      return null;
    }
    try {
      return (Map<?, ?>) CLUSTER_CONNECTIONS.get(connection);
    } catch (IllegalAccessException | IllegalArgumentException e) {
      log.warn("cluster publisher writes are not coalesced: {}", e.toString());
      return null;
    }
  }

  /** The Netty pipeline of {@code connection}'s socket, or null when it cannot be reached. */
  static ChannelPipeline pipeline(RedisConnection connection) {
    if (SOCKET == null || !(connection instanceof PooledRedisConnection pooled)) {
      return null;
    }
    try {
      return SOCKET.get(pooled.actual()) instanceof NetSocketInternal socket ? socket.channelHandlerContext().pipeline() : null;
    } catch (IllegalAccessException | IllegalArgumentException e) {
      log.warn("publisher writes are not coalesced: {}", e.toString());
      return null;
    }
  }

  /**
   * The private field {@code name} of the Redis client's class {@code owner}, when it holds a
   * {@code type}; null, logged once, when this client does not match.
   */
  private static Field field(String owner, String name, Class<?> type, String whatIsNotCoalesced) {
    try {
      Field field = Class.forName("io.vertx.redis.client.impl." + owner).getDeclaredField(name);
      if (!type.isAssignableFrom(field.getType())) {
        throw new NoSuchFieldException(name + " is a " + field.getType().getName());
      }
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn("{} writes are not coalesced: this Vert.x Redis client does not match ({})", whatIsNotCoalesced,
          e.toString());
      return null;
    }
  }
}
