package io.switchboard.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.WireSocket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 12, item 4: an opening handshake that breaks RFC 6455 section 4.2.1 is refused over HTTP,
 * and a frame that breaks section 5 is answered with a 1002 close frame before the TCP
 * connection ends, on every WebSocket endpoint.
 */
class UpgradeStrictnessTest {
  private static final String GOOD_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
  private static ServerFixture fixture;
  private final Random random = new Random(4);

  @BeforeAll
  static void start() {
    fixture = ServerFixture.start();
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  @AfterEach
  void backToZero() {
    fixture.closeClients();
  }

  private String upgrade(String path, String key, String version, String extra) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + (key == null ? "" : "Sec-WebSocket-Key: " + key + "\r\n")
        + (version == null ? "" : "Sec-WebSocket-Version: " + version + "\r\n") + extra + "\r\n";
  }

  private WireSocket send(String request) {
    return fixture.track(WireSocket.connect(fixture.port(), request, random));
  }

  @ParameterizedTest
  @ValueSource(strings = {"/ws", "/direct", "/relay/strict", "/socket.io/?EIO=4&transport=websocket"})
  void refusesMalformedKeysWith400(String path) {
    for (String key : new String[] {"", "not base64!!", "a, b", "dGhlIHNhbXBsZSBub25jZQ", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ=="}) {
      WireSocket ws = send(upgrade(path, key, "13", ""));
      assertEquals(400, ws.status(), "key '" + key + "' on " + path + ": " + ws.responseHead());
    }
    WireSocket none = send(upgrade(path, null, "13", ""));
    assertEquals(400, none.status(), "no key on " + path + ": " + none.responseHead());
    WireSocket two = send(upgrade(path, GOOD_KEY, "13", "Sec-WebSocket-Key: " + GOOD_KEY + "\r\n"));
    assertEquals(400, two.status(), "two key headers on " + path + ": " + two.responseHead());
  }

  @ParameterizedTest
  @ValueSource(strings = {"/ws", "/relay/strict", "/socket.io/?EIO=4&transport=websocket"})
  void answersAnyVersionButThirteenWith426NamingThirteen(String path) {
    for (String version : new String[] {"8", "7", "0", "14", "13, 8"}) {
      WireSocket ws = send(upgrade(path, GOOD_KEY, version, ""));
      assertEquals(426, ws.status(), "version " + version + " on " + path + ": " + ws.responseHead());
      assertTrue(ws.responseHead().toLowerCase().contains("sec-websocket-version: 13"), ws.responseHead());
    }
    assertEquals(400, send(upgrade(path, GOOD_KEY, null, "")).status(), "no version on " + path);
  }

  @Test
  void refusesAnUpgradeWithoutConnectionUpgradeOrByPost() {
    String noConnection = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + GOOD_KEY
        + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assertEquals(400, send(noConnection).status());
    String post = upgrade("/ws", GOOD_KEY, "13", "Content-Length: 0\r\n").replaceFirst("GET", "POST");
    assertEquals(400, send(post).status());
    String http10 = upgrade("/ws", GOOD_KEY, "13", "").replaceFirst("HTTP/1.1", "HTTP/1.0");
    assertEquals(400, send(http10).status());
  }

  @Test
  void acceptsAWellFormedHandshake() {
    WireSocket ws = send(upgrade("/ws", GOOD_KEY, "13", ""));
    assertEquals(101, ws.status(), ws.responseHead());
    // RFC 6455's own example: this key's accept value.
    assertTrue(ws.responseHead().contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), ws.responseHead());
  }

  /**
   * The 101 and the first message (the native protocol's welcome, Engine.IO's open packet) leave
   * in one write (UpgradeFlush), so on loopback they arrive as one segment: the client's first
   * read holds both. Sent apart, the message follows a loop turn later, and a client blocked in
   * read wakes with the 101 alone.
   */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "/ws | {\"type\":\"welcome\"",
      "/socket.io/?EIO=4&transport=websocket | 0{\"sid\":"})
  void sendsTheUpgradeResponseAndTheFirstMessageInOneWrite(String path, String firstMessage) throws IOException {
    for (int i = 0; i < 20; i++) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", fixture.port()), (int) TestClient.WAIT.toMillis());
        socket.setSoTimeout((int) TestClient.WAIT.toMillis());
        socket.getOutputStream().write(upgrade(path, GOOD_KEY, "13", "").getBytes(StandardCharsets.ISO_8859_1));
        byte[] buffer = new byte[8192];
        int read = socket.getInputStream().read(buffer);
        String first = new String(buffer, 0, Math.max(read, 0), StandardCharsets.ISO_8859_1);
        assertTrue(first.startsWith("HTTP/1.1 101"), first);
        assertTrue(first.contains(firstMessage), path + ", connection " + i + ", first read: " + first);
      }
    }
  }

  /** Each is a frame the server must fail with 1002 (RFC 6455 sections 5.1, 5.2, 5.5, 7.4). */
  @ParameterizedTest(name = "{0} on {1}")
  @CsvSource({
      "unmasked, /ws", "unmasked, /relay/strict", "unmasked, /direct", "unmasked, /socket.io/?EIO=4&transport=websocket",
      "rsv1, /ws", "rsv2, /relay/strict", "rsv3, /ws",
      "opcode3, /ws", "opcode7, /relay/strict", "opcodeB, /ws", "opcodeF, /direct",
      "close999, /ws", "close1005, /ws", "close1006, /relay/strict", "close1004, /ws", "close2999, /ws",
      "close1byte, /ws", "pingFragmented, /ws", "ping126, /ws", "continuationFirst, /relay/strict",
      "textInsideFragments, /ws"})
  void failsAProtocolErrorWith1002(String violation, String path) {
    WireSocket ws = fixture.track(WireSocket.open(fixture.port(), path, random));
    byte[] hi = "hi".getBytes();
    switch (violation) {
      case "unmasked" -> ws.send(true, 0, WireSocket.TEXT, hi, false);
      case "rsv1" -> ws.send(true, 4, WireSocket.TEXT, hi, true);
      case "rsv2" -> ws.send(true, 2, WireSocket.TEXT, hi, true);
      case "rsv3" -> ws.send(true, 1, WireSocket.TEXT, hi, true);
      case "opcode3" -> ws.send(true, 0, 0x3, hi, true);
      case "opcode7" -> ws.send(true, 0, 0x7, hi, true);
      case "opcodeB" -> ws.send(true, 0, 0xB, hi, true);
      case "opcodeF" -> ws.send(true, 0, 0xF, hi, true);
      case "close999" -> ws.sendClose(999, new byte[0]);
      case "close1005" -> ws.sendClose(1005, new byte[0]);
      case "close1006" -> ws.sendClose(1006, new byte[0]);
      case "close1004" -> ws.sendClose(1004, new byte[0]);
      case "close2999" -> ws.sendClose(2999, new byte[0]);
      case "close1byte" -> ws.send(WireSocket.CLOSE, new byte[] {0x03});
      case "pingFragmented" -> ws.send(false, 0, WireSocket.PING, hi, true);
      case "ping126" -> ws.send(WireSocket.PING, new byte[126]);
      case "continuationFirst" -> ws.send(true, 0, WireSocket.CONTINUATION, hi, true);
      case "textInsideFragments" -> {
        ws.send(false, 0, WireSocket.TEXT, hi, true);
        ws.send(true, 0, WireSocket.TEXT, hi, true);
      }
      default -> throw new IllegalArgumentException(violation);
    }
    assertEquals(1002, ws.awaitClose(TestClient.WAIT), violation + " on " + path);
    assertTrue(ws.tcpClosedWithin(TestClient.WAIT), "the server ends the TCP connection after its close frame");
  }
}
