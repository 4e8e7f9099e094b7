package io.switchboard.edge;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.backplane.Backplane;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.metrics.SignalingMetrics;
import io.switchboard.signaling.Hub;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every HTTP verticle instance of one node shares: the hub, the backplane, metrics and the
 * node-wide connection budget. Thread-safe.
 */
public final class Node {
  final SwitchboardConfig config;
  final Hub hub;
  final Backplane backplane;
  final SignalingMetrics metrics;
  final PrometheusMeterRegistry registry;
  private final AtomicInteger connections = new AtomicInteger();
  private volatile boolean draining;

  public Node(SwitchboardConfig config, Hub hub, Backplane backplane, SignalingMetrics metrics,
      PrometheusMeterRegistry registry) {
    this.config = config;
    this.hub = hub;
    this.backplane = backplane;
    this.metrics = metrics;
    this.registry = registry;
  }

  /** Takes one connection slot; false when the node is full. */
  boolean tryAcquireConnection() {
    while (true) {
      int n = connections.get();
      if (n >= config.maxConnections()) {
        return false;
      }
      if (connections.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  void releaseConnection() {
    connections.decrementAndGet();
  }

  /** From now on, refuse new sockets and report not ready. */
  public void startDraining() {
    draining = true;
  }

  public boolean draining() {
    return draining;
  }

  /** Whether this node should receive traffic: not draining and the backplane is usable. */
  public boolean ready() {
    return !draining && backplane.ready();
  }
}
