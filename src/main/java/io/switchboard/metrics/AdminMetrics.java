package io.switchboard.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;

/** The server API's requests, by route and status ({@link MetricNames#ADMIN_REQUESTS}). Thread-safe. */
public final class AdminMetrics {
  private final MeterRegistry registry;

  /**
   * @param routes the API's path templates: each starts at zero for 200 and 401, so a rate of
   *     refused keys or of successful calls can be graphed and alerted on from the first request
   */
  public AdminMetrics(MeterRegistry registry, List<String> routes) {
    this.registry = registry;
    for (String route : routes) {
      counter(route, 200);
      counter(route, 401);
    }
  }

  public void request(String route, int status) {
    counter(route, status).increment();
  }

  private Counter counter(String route, int status) {
    return Counter.builder(MetricNames.ADMIN_REQUESTS)
        .description("Requests to the server API, by route and status")
        .tag("route", route)
        .tag("status", Integer.toString(status))
        .register(registry);
  }
}
