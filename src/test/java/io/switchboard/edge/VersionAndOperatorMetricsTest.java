package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.BuildInfo;
import io.switchboard.metrics.MetricNames;
import io.switchboard.support.Metrics;
import io.switchboard.support.ServerFixture;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code GET /version} and the meters operators alert on from the first scrape. */
class VersionAndOperatorMetricsTest {
  @Test
  void versionAnswersTheBuildsVersionAndCommit() {
    try (ServerFixture server = ServerFixture.start()) {
      ServerFixture.HttpResult version = server.get("/version");
      assertEquals(200, version.status());
      assertTrue(version.header("content-type").startsWith("application/json"), version.header("content-type"));
      BuildInfo build = BuildInfo.current();
      assertEquals(new JsonObject().put("version", build.version()).put("commit", build.commit()), new JsonObject(version.body()));
      assertTrue(!build.version().equals("unknown"), "the Maven build wrote build-info.properties");
    }
  }

  @Test
  void buildInfoAndConnectionsMaxAreExported() {
    try (ServerFixture server = ServerFixture.start(Map.of("MAX_CONNECTIONS", "1234"))) {
      Metrics metrics = server.metrics();
      BuildInfo build = BuildInfo.current();
      assertEquals(1.0, metrics.value("switchboard_build_info", Map.of("version", build.version(), "commit", build.commit())),
          metrics.text());
      assertEquals(1234.0, metrics.value("switchboard_connections_max"));
      server.connect();
      server.awaitOpenConnections(1);
      assertEquals(1.0 / 1234, server.metrics().value("switchboard_connections_open") / server.metrics().value("switchboard_connections_max"),
          1e-9, "the ratio an alert divides");
    }
  }

  @Test
  void backplaneErrorsAreExportedAtZeroForEveryOperationBeforeAnyError() {
    try (ServerFixture server = ServerFixture.start()) {
      Metrics metrics = server.metrics();
      for (String operation : MetricNames.BACKPLANE_OPERATIONS) {
        assertTrue(metrics.has("switchboard_backplane_errors_total", Map.of("operation", operation)), operation + "\n" + metrics.text());
        assertEquals(0.0, metrics.value("switchboard_backplane_errors_total", Map.of("operation", operation)));
      }
    }
  }
}
