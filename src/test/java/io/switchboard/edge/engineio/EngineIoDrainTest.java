package io.switchboard.edge.engineio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Wait;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
      // The poll that the stop must answer goes over a socket connected, and its request written,
      // before anything else happens: an HTTP client connecting on a thread of its own was seen to
      // connect only after the stop had closed the listener, on a loaded machine.
      Socket held = new Socket(InetAddress.getLoopbackAddress(), node.port());
      held.setSoTimeout(5000);
      held.getOutputStream().write(("GET /socket.io/?" + polling.sessionQuery() + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      held.getOutputStream().flush();
      TestClient ws = node.open("/socket.io/?EIO=4&transport=websocket", "ws-only");
      assertTrue(ws.nextFrame(TestClient.WAIT).text().startsWith("0{"), "open packet");
      node.awaitCondition(() -> node.server().openConnections() == 2, TestClient.WAIT, "two sessions open");

      long started = System.nanoTime();
      Wait.await(node.beginServerClose(), Duration.ofSeconds(10));
      long tookMillis = (System.nanoTime() - started) / 1_000_000;

      String answer = readResponse(held);
      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
      String body = answer.substring(answer.indexOf("\r\n\r\n") + 4);
      assertEquals(List.of("1"), polling.decode(body).stream().map(p -> polling.codec().encodePacket(p)).toList());
      held.close();
      assertEquals("1", ws.nextFrame(TestClient.WAIT).text(), "a close packet before the close frame");
      assertEquals(1012, ws.awaitClose(TestClient.WAIT));
      assertTrue(tookMillis < 4_000, "the stop did not wait for the sessions: " + tookMillis + " ms");
      assertEquals(0, node.server().openConnections());
    }
  }

  // One HTTP/1.1 response with a Content-Length body, as text.
  private static String readResponse(Socket socket) throws Exception {
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new AssertionError("connection closed before the response's head ended: " + head);
      }
      head.append((char) c);
    }
    Matcher length = Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    int bodyLength = length.find() ? Integer.parseInt(length.group(1)) : 0;
    return head + new String(in.readNBytes(bodyLength), StandardCharsets.UTF_8);
  }
}
