package io.switchboard.edge.engineio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.metrics.MetricNames;
import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A session closes once, whatever its close packet does: here that packet is the one that takes
 * the outbox over its bound, which used to start a second, slow-consumer close inside the first.
 */
class EngineIoCloseTest {
  private static final int WRITE_QUEUE_MAX = 1024;
  private static final String PEER_ID = "x".repeat(22);

  @Test
  void aClosePacketThatOverflowsTheOutboxClosesTheSessionOnce() {
    try (ServerFixture node = ServerFixture.start(Map.of(
        "MAX_MESSAGE_BYTES", "1024", "WRITE_QUEUE_MAX_BYTES", String.valueOf(WRITE_QUEUE_MAX)))) {
      EngineIoPollingClient quiet = connected(node);
      EngineIoPollingClient talker = connected(node);
      quiet.send("42" + message("{\"type\":\"CONNECT\",\"room\":{\"id\":\"r\"},\"callee\":null,\"payload\":null}"));
      assertTrue(quiet.nextMessage().startsWith("2[\"log\""), "joined");
      talker.send("42" + message("{\"type\":\"CONNECT\",\"room\":{\"id\":\"r\"},\"callee\":null,\"payload\":null}"));
      assertTrue(talker.nextMessage().startsWith("2[\"log\""), "joined");
      assertTrue(quiet.nextMessage().contains("CONNECT"), "the talker's arrival");

      // One event that fills the quiet client's outbox to its bound exactly (each packet counts
      // its text and one separator): the close packet is then one character too many.
      String before = "{\"type\":\"chat\",\"room\":{\"id\":\"r\"},\"payload\":\"";
      int fixed = message("{\"caller\":{\"id\":\"" + PEER_ID + "\"}," + before.substring(1) + "\"}").length() + 1;
      String event = before + "p".repeat(WRITE_QUEUE_MAX - fixed - 1) + "\"}";
      talker.send("42" + message(event));
      // The quiet client never polls; its own disconnect is handled on its session's loop after
      // the event was queued there.
      quiet.send("41");

      node.awaitCondition(() -> node.server().openConnections() == 1, TestClient.WAIT, "the quiet session gone");
      assertEquals(0.0, closes(node, "slow-consumer"), "a normal close, counted as nothing else");
      assertTrue(talker.nextMessage().contains("DISCONNECT"), "the room hears the quiet client leave");
    }
  }

  private static EngineIoPollingClient connected(ServerFixture node) {
    EngineIoPollingClient client = node.track(EngineIoPollingClient.create(node.port(), 3));
    client.handshake();
    assertEquals("0", client.nextMessage(), "the Socket.IO connect");
    return client;
  }

  private static String message(String event) {
    return "[\"message\"," + event + "]";
  }

  private static double closes(ServerFixture node, String reason) {
    return node.registry().find(MetricNames.CLOSES).tag("reason", reason).counter().count();
  }
}
