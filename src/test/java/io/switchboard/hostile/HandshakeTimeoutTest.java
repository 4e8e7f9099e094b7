package io.switchboard.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.WireSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, item 3: a connection must deliver each request head within HANDSHAKE_TIMEOUT_MS
 * however slowly it drips bytes, and one address may hold only MAX_PENDING_HANDSHAKES_PER_IP
 * connections that have not sent their first head yet.
 */
class HandshakeTimeoutTest {
  private static final String REJECTED = "switchboard_connections_rejected_total";
  private ServerFixture fixture;
  private final List<Socket> sockets = new ArrayList<>();

  @AfterEach
  void stop() throws IOException {
    for (Socket s : sockets) {
      s.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket();
    sockets.add(socket);
    socket.connect(new InetSocketAddress("127.0.0.1", fixture.port()), (int) TestClient.WAIT.toMillis());
    return socket;
  }

  /** Whether the server closes {@code socket} within {@code timeout}, reading (and dropping) what it sends. */
  private static boolean closedWithin(Socket socket, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[4096];
    for (int i = 0; i < 10_000; i++) {
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        return false;
      }
      socket.setSoTimeout((int) left);
      try {
        if (in.read(buffer) < 0) {
          return true;
        }
      } catch (SocketTimeoutException e) {
        return false;
      } catch (IOException e) {
        return true; // reset
      }
    }
    return false;
  }

  @Test
  void closesASlowlorisThatDripsItsHeadersWhateverItsPace() throws Exception {
    fixture = ServerFixture.start(Map.of("HANDSHAKE_TIMEOUT_MS", "1000"));
    Socket slow = connect();
    OutputStream out = slow.getOutputStream();
    byte[] head = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".getBytes(StandardCharsets.US_ASCII);
    long start = System.nanoTime();
    boolean closed = false;
    for (int i = 0; i < head.length && !closed; i++) {
      try {
        out.write(head[i]);
        out.flush();
      } catch (IOException e) {
        closed = true;
        break;
      }
      closed = closedWithin(slow, Duration.ofMillis(100));
    }
    long took = (System.nanoTime() - start) / 1_000_000;
    assertTrue(closed || closedWithin(slow, Duration.ofSeconds(3)), "slowloris still open after " + took + " ms");
    assertTrue(took < 3000, "closed after " + took + " ms; HANDSHAKE_TIMEOUT_MS is 1000");
    fixture.awaitCondition(() -> fixture.scrape().value(REJECTED, Map.of("reason", "handshake-timeout")) >= 1,
        TestClient.WAIT, "rejected_total{reason=handshake-timeout} counted");
  }

  @Test
  void closesAnIdleKeepAliveConnectionButNotAWebSocket() throws Exception {
    fixture = ServerFixture.start(Map.of("HANDSHAKE_TIMEOUT_MS", "1000"));
    Socket keepAlive = connect();
    keepAlive.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    WireSocket ws = fixture.track(WireSocket.open(fixture.port(), "/ws", new Random(3)));
    ws.nextText(TestClient.WAIT);
    assertTrue(closedWithin(keepAlive, Duration.ofSeconds(4)), "idle keep-alive connection closed after its response");
    Thread.sleep(500);
    ws.sendText("{\"type\":\"ping\",\"id\":1}");
    assertTrue(ws.nextText(TestClient.WAIT).contains("pong"), "the WebSocket is not subject to the head deadline");
  }

  @Test
  void limitsConnectionsWithoutAHeadPerAddress() throws Exception {
    fixture = ServerFixture.start(Map.of("HANDSHAKE_TIMEOUT_MS", "20000", "MAX_PENDING_HANDSHAKES_PER_IP", "4"));
    List<Socket> opened = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Socket s = connect();
      s.getOutputStream().write("GET /hea".getBytes(StandardCharsets.US_ASCII));
      opened.add(s);
    }
    // The event loops count them in whichever order they get to them: one of the five goes.
    fixture.awaitCondition(() -> fixture.scrape().value(REJECTED, Map.of("reason", "per-ip-handshakes")) == 1,
        TestClient.WAIT, "one connection over the limit refused");
    List<Socket> waiting = new ArrayList<>();
    int closed = 0;
    for (Socket s : opened) {
      if (closedWithin(s, Duration.ofMillis(200))) {
        closed++;
      } else {
        waiting.add(s);
      }
    }
    assertEquals(1, closed, "exactly one of five connections without a head is closed at once");
    // One finishes its head: its slot is free again.
    waiting.get(0).getOutputStream().write("lth/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    byte[] answer = new byte[12];
    waiting.get(0).setSoTimeout((int) TestClient.WAIT.toMillis());
    assertEquals(12, waiting.get(0).getInputStream().readNBytes(answer, 0, 12));
    assertEquals("HTTP/1.1 200", new String(answer, StandardCharsets.US_ASCII));
    // The slot was given back when that head arrived, before it was answered.
    try (WireSocket ws = WireSocket.open(fixture.port(), "/ws", new Random(1))) {
      assertTrue(ws.nextText(TestClient.WAIT).contains("welcome"), "a new connection is accepted once a slot is free");
    }
    assertEquals(1, fixture.scrape().value(REJECTED, Map.of("reason", "per-ip-handshakes")));
  }
}
