package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The upgrade's 101 response and the first message (the native protocol's welcome, Engine.IO's
 * open packet) leave in one write (UpgradeFlush), so on loopback they arrive as one segment: the
 * client's first read holds both. Sent apart, the message follows in a later event-loop turn, and
 * a client blocked in read wakes with the 101 alone.
 */
class UpgradeFlushTest {
  private static final int CONNECTIONS = 20;
  private static ServerFixture fixture;

  @BeforeAll
  static void start() {
    fixture = ServerFixture.start();
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/ws | {\"type\":\"welcome\"",
      "/socket.io/?EIO=4&transport=websocket | 0{\"sid\":"})
  void theUpgradeResponseAndTheFirstMessageArriveTogether(String path, String firstMessage) throws IOException {
    for (int i = 0; i < CONNECTIONS; i++) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", fixture.port()), (int) TestClient.WAIT.toMillis());
        socket.setSoTimeout((int) TestClient.WAIT.toMillis());
        socket.setTcpNoDelay(true);
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1));
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[8192];
        int read = in.read(buffer);
        String first = new String(buffer, 0, Math.max(read, 0), StandardCharsets.ISO_8859_1);
        assertTrue(first.startsWith("HTTP/1.1 101"), first);
        assertTrue(first.contains(firstMessage), path + ", connection " + i + ", first read: " + first);
      }
    }
  }
}
