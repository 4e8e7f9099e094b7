package io.switchboard.edge.dialect.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.switchboard.support.ScriptedBackplane;
import io.switchboard.support.ScriptedBackplane.Op;
import io.switchboard.support.ScriptedBackplane.Step;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Wait;
import io.vertx.core.Future;
import io.vertx.core.http.WebSocket;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * For a {@code /relay/{room}} client, being connected is being in the room: its upgrade completes
 * only once its join is stored and other nodes have been told. Played on a backplane the test
 * holds step by step.
 */
class RelayUpgradeTest {
  // Long enough for a 101 already sent to arrive on loopback; the fixed code never sends one early.
  private static final Duration NO_UPGRADE_YET = Duration.ofMillis(300);

  @Test
  void theUpgradeWaitsForTheJoinAndItsAnnouncement() {
    ScriptedBackplane backplane = ScriptedBackplane.first("solo", Op.JOIN, Op.PUBLISH);
    try (ServerFixture node = ServerFixture.start(Map.of(), backplane)) {
      Future<WebSocket> opening = node.webSocketClient()
          .connect(TestClient.options(node.port(), "/relay/held", null));

      Step join = backplane.next(Op.JOIN, TestClient.WAIT);
      assertStillUpgrading(opening, "while the join is in flight");
      join.answer();
      Step announcement = backplane.next(Op.PUBLISH, TestClient.WAIT);
      assertStillUpgrading(opening, "while other nodes have not been told");
      announcement.answer();

      WebSocket socket = Wait.await(opening, TestClient.WAIT);
      assertEquals(1, node.server().roomCount());
      Wait.await(socket.close(), TestClient.WAIT);
      node.awaitCondition(() -> node.server().roomSlots() == 0, TestClient.WAIT, "the room released");
    }
  }

  private static void assertStillUpgrading(Future<WebSocket> opening, String when) {
    assertThrows(TimeoutException.class,
        () -> opening.toCompletionStage().toCompletableFuture().get(NO_UPGRADE_YET.toMillis(), TimeUnit.MILLISECONDS),
        "upgrade completed " + when);
  }
}
