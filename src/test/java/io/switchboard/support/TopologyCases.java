package io.switchboard.support;

import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;

/**
 * The cases of a dialect test, run once per {@link Topology}: a test class holds one
 * {@code @Nested @TestInstance(PER_CLASS)} subclass per topology. Each case must leave no
 * connection, room or subscription behind.
 */
public abstract class TopologyCases {
  private final Supplier<Topology> start;
  protected Topology nodes;

  protected TopologyCases(Supplier<Topology> start) {
    this.start = start;
  }

  @BeforeAll
  protected void startNodes() {
    nodes = start.get();
  }

  @AfterEach
  protected void noLeftovers() {
    nodes.closeClients();
  }

  @AfterAll
  protected void stopNodes() {
    nodes.close();
  }
}
