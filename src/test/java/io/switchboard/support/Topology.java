package io.switchboard.support;

import io.micrometer.core.instrument.Gauge;
import io.switchboard.metrics.MetricNames;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Where a dialect test's two sides run: both on one node with the in-memory backplane, or on two
 * nodes sharing a real Redis, so that every message between the sides crosses nodes. Dialect
 * tests run the same cases on both.
 */
public final class Topology implements AutoCloseable {
  private final String name;
  private final List<ServerFixture> nodes;

  private Topology(String name, List<ServerFixture> nodes) {
    this.name = name;
    this.nodes = nodes;
  }

  public static Topology oneNode(Map<String, String> env) {
    return new Topology("one node", List.of(ServerFixture.start(env)));
  }

  public static Topology twoNodesOnRedis(Map<String, String> env) {
    String prefix = RedisFixture.uniquePrefix();
    ServerFixture a = ServerFixture.start(withRedis(env, prefix, "a"));
    try {
      return new Topology("two nodes on Redis", List.of(a, ServerFixture.start(withRedis(env, prefix, "b"))));
    } catch (RuntimeException | AssertionError e) {
      a.close();
      throw e;
    }
  }

  private static Map<String, String> withRedis(Map<String, String> env, String prefix, String node) {
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put("REDIS_URL", RedisFixture.shared().uri());
    all.put("REDIS_KEY_PREFIX", prefix);
    all.put("NODE_ID", node);
    return all;
  }

  /** The node for the first side. */
  public ServerFixture a() {
    return nodes.get(0);
  }

  /** The node for the second side: another node when there are two. */
  public ServerFixture b() {
    return nodes.get(nodes.size() - 1);
  }

  public boolean crossesNodes() {
    return nodes.size() > 1;
  }

  /** Closes every client, then checks each node is back to no connections, rooms or subscriptions. */
  public void closeClients() {
    for (ServerFixture node : nodes) {
      node.closeClients();
      // Every backplane reports its subscriptions, so one node is checked like two.
      Gauge subscriptions = node.registry().get(MetricNames.BACKPLANE_SUBSCRIPTIONS).gauge();
      node.awaitCondition(() -> subscriptions.value() == 0.0, Duration.ofSeconds(5), "no room left subscribed");
    }
  }

  @Override
  public void close() {
    nodes.forEach(ServerFixture::close);
  }

  @Override
  public String toString() {
    return name;
  }
}
