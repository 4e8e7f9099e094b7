package io.switchboard.edge.engineio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Wait;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A stopping node ends its Socket.IO sessions like its WebSockets: a held poll is answered with a
 * close packet and a WebSocket is closed with 1012, so clients reconnect elsewhere at once and
 * the stop does not wait for them.
 */
class EngineIoDrainTest {
  @Test
  void stoppingClosesPollingAndWebSocketSessions() throws Exception {
    try (ServerFixture node = ServerFixture.start(Map.of("SHUTDOWN_GRACE_SECONDS", "5"))) {
      EngineIoPollingClient polling = node.track(EngineIoPollingClient.create(node.port(), 3));
      polling.handshake();
      assertEquals("0", polling.nextMessage(), "the Socket.IO connect");
      CompletableFuture<EngineIoPollingClient.Response> held = polling.pollAsync();
      TestClient ws = node.open("/socket.io/?EIO=4&transport=websocket", "ws-only");
      assertTrue(ws.nextFrame(TestClient.WAIT).text().startsWith("0{"), "open packet");
      node.awaitCondition(() -> node.server().openConnections() == 2, TestClient.WAIT, "two sessions open");

      long started = System.nanoTime();
      Wait.await(node.beginServerClose(), Duration.ofSeconds(10));
      long tookMillis = (System.nanoTime() - started) / 1_000_000;

      EngineIoPollingClient.Response answer = held.get(5, TimeUnit.SECONDS);
      assertEquals(200, answer.status(), answer.toString());
      assertEquals(List.of("1"), polling.decode(answer.body()).stream().map(p -> polling.codec().encodePacket(p)).toList());
      assertEquals("1", ws.nextFrame(TestClient.WAIT).text(), "a close packet before the close frame");
      assertEquals(1012, ws.awaitClose(TestClient.WAIT));
      assertTrue(tookMillis < 4_000, "the stop did not wait for the sessions: " + tookMillis + " ms");
      assertEquals(0, node.server().openConnections());
    }
  }
}
