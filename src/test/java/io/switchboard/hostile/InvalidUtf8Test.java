package io.switchboard.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Topology;
import io.switchboard.support.WireSocket;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, item 1: a text message that is not UTF-8 fails its sender with 1007 in every dialect
 * and reaches nobody; the others go on as if it had never been sent.
 */
class InvalidUtf8Test {
  private static final byte[] FF_FE = {(byte) 0xff, (byte) 0xfe};
  private static ServerFixture fixture;
  private final Random random = new Random(12);

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

  private WireSocket open(String path) {
    return fixture.track(WireSocket.open(fixture.port(), path, random));
  }

  /**
   * Returns once every receiver is in the room with {@code sender}: a relay socket's join completes
   * after it opens, unannounced, so the sender repeats until each has one message, then sends a
   * last one that each reads up to, after which no repeat is still on its way.
   */
  private static void joined(WireSocket sender, WireSocket... receivers) {
    boolean[] heard = new boolean[receivers.length];
    int missing = receivers.length;
    for (int attempt = 0; attempt < 50 && missing > 0; attempt++) {
      sender.sendText("hello");
      for (int i = 0; i < receivers.length; i++) {
        if (!heard[i] && receivers[i].next(java.time.Duration.ofMillis(100)) != null) {
          heard[i] = true;
          missing--;
        }
      }
    }
    assertEquals(0, missing, "receivers that never joined");
    sender.sendText("synced");
    for (WireSocket receiver : receivers) {
      String text = "";
      for (int i = 0; i < 60 && !"synced".equals(text); i++) {
        text = receiver.nextText(TestClient.WAIT);
      }
      assertEquals("synced", text);
    }
  }

  @Test
  void relayFailsTheSenderWith1007AndRelaysNothing() {
    WireSocket receiver = open("/relay/utf8");
    WireSocket sender = open("/relay/utf8");
    WireSocket third = open("/relay/utf8");
    joined(sender, receiver, third);

    sender.send(WireSocket.TEXT, FF_FE);
    assertEquals(1007, sender.awaitClose(TestClient.WAIT), "sender of invalid UTF-8");
    third.sendText("after");
    // The next thing the receiver gets is the message sent after: the bad frame went nowhere.
    assertEquals("after", receiver.nextText(TestClient.WAIT));
    receiver.sendText("still open");
    assertEquals("still open", third.nextText(TestClient.WAIT));
  }

  @Test
  void relayAcrossTwoNodesFailsTheSenderAndRelaysNothingToTheOtherNode() {
    try (Topology cluster = Topology.twoNodesOnRedis(Map.of())) {
      WireSocket receiver = cluster.b().track(WireSocket.open(cluster.b().port(), "/relay/utf8-x", random));
      WireSocket sender = cluster.a().track(WireSocket.open(cluster.a().port(), "/relay/utf8-x", random));
      // The receiver is reachable once one message has crossed; repeats may still be on their way.
      String got = null;
      for (int attempt = 0; attempt < 50 && got == null; attempt++) {
        sender.sendText("hello");
        WireSocket.Frame f = receiver.next(java.time.Duration.ofMillis(100));
        got = f == null ? null : f.text();
      }
      assertEquals("hello", got);
      sender.sendText("last hello");
      for (int i = 0; i < 60 && !"last hello".equals(got); i++) {
        got = receiver.nextText(TestClient.WAIT);
      }

      sender.send(WireSocket.TEXT, FF_FE);
      assertEquals(1007, sender.awaitClose(TestClient.WAIT));
      WireSocket third = cluster.a().track(WireSocket.open(cluster.a().port(), "/relay/utf8-x", random));
      for (int attempt = 0; attempt < 50; attempt++) {
        third.sendText("after");
        WireSocket.Frame f = receiver.next(java.time.Duration.ofMillis(100));
        if (f != null) {
          assertEquals("after", f.text(), "the first thing across after the bad frame is the next good one");
          break;
        }
        assertTrue(attempt < 49, "nothing crossed after the bad frame");
      }
      cluster.closeClients();
    }
  }

  @Test
  void relayFailsAMessageWhoseInvalidBytesAreInALaterFragment() {
    WireSocket receiver = open("/relay/utf8-frag");
    WireSocket sender = open("/relay/utf8-frag");
    joined(sender, receiver);

    sender.send(false, 0, WireSocket.TEXT, "valid start ".getBytes(StandardCharsets.UTF_8), true);
    // U+20AC split across fragments is fine; an invalid continuation byte is not.
    sender.send(false, 0, WireSocket.CONTINUATION, new byte[] {(byte) 0xe2, (byte) 0x82}, true);
    sender.send(true, 0, WireSocket.CONTINUATION, new byte[] {(byte) 0x28}, true);
    assertEquals(1007, sender.awaitClose(TestClient.WAIT));
    WireSocket other = open("/relay/utf8-frag");
    joined(other, receiver);
    other.sendText("after");
    assertEquals("after", receiver.nextText(TestClient.WAIT));
  }

  @Test
  void nativeRefusesInvalidUtf8InDataAndInIdAlike() {
    WireSocket receiver = open("/ws");
    String receiverPeer = new JsonObject(receiver.nextText(TestClient.WAIT)).getString("peer");
    receiver.sendText("{\"type\":\"join\",\"room\":\"u\"}");
    assertEquals("joined", new JsonObject(receiver.nextText(TestClient.WAIT)).getString("type"));
    for (String field : new String[] {"data", "id"}) {
      WireSocket sender = open("/ws");
      sender.nextText(TestClient.WAIT);
      sender.sendText("{\"type\":\"join\",\"room\":\"u\"}");
      assertEquals("joined", new JsonObject(sender.nextText(TestClient.WAIT)).getString("type"));
      assertEquals("peer-joined", new JsonObject(receiver.nextText(TestClient.WAIT)).getString("type"));

      ByteArrayOutputStream message = new ByteArrayOutputStream();
      message.writeBytes(("{\"type\":\"signal\",\"room\":\"u\",\"data\":\"x\",\"" + field + "\":\"")
          .getBytes(StandardCharsets.UTF_8));
      message.writeBytes(FF_FE);
      message.writeBytes("\"}".getBytes(StandardCharsets.UTF_8));
      sender.send(WireSocket.TEXT, message.toByteArray());
      assertEquals(1007, sender.awaitClose(TestClient.WAIT), "invalid UTF-8 in " + field);
      JsonObject next = new JsonObject(receiver.nextText(TestClient.WAIT));
      assertEquals("peer-left", next.getString("type"), "nothing relayed before the sender left: " + next);
    }
    assertTrue(receiverPeer.length() > 0);
  }

  @Test
  void directFailsTheSenderWith1007() {
    WireSocket sender = open("/direct");
    sender.sendText("{\"type\":\"login\",\"name\":\"utf8-direct\"}");
    assertTrue(sender.nextText(TestClient.WAIT).contains("\"success\":true"));
    ByteArrayOutputStream message = new ByteArrayOutputStream();
    message.writeBytes("{\"type\":\"offer\",\"name\":\"x\",\"offer\":\"".getBytes(StandardCharsets.UTF_8));
    message.writeBytes(FF_FE);
    message.writeBytes("\"}".getBytes(StandardCharsets.UTF_8));
    sender.send(WireSocket.TEXT, message.toByteArray());
    assertEquals(1007, sender.awaitClose(TestClient.WAIT));
  }

  @Test
  void engineIoWebSocketFailsTheSenderWith1007() {
    WireSocket sender = open("/socket.io/?EIO=4&transport=websocket");
    assertTrue(sender.nextText(TestClient.WAIT).startsWith("0{"), "open packet");
    ByteArrayOutputStream message = new ByteArrayOutputStream();
    message.writeBytes("42[\"message\",\"".getBytes(StandardCharsets.UTF_8));
    message.writeBytes(FF_FE);
    message.writeBytes("\"]".getBytes(StandardCharsets.UTF_8));
    sender.send(WireSocket.TEXT, message.toByteArray());
    assertEquals(1007, sender.awaitClose(TestClient.WAIT));
  }

  @Test
  void engineIoPollingRefusesABodyThatIsNotUtf8() throws Exception {
    EngineIoPollingClient polling = fixture.track(EngineIoPollingClient.create(fixture.port(), 4));
    polling.handshake();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes("4".getBytes(StandardCharsets.UTF_8));
    body.writeBytes(FF_FE);
    HttpClient http = HttpClient.newBuilder().connectTimeout(TestClient.WAIT).build();
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + fixture.port() + "/socket.io/?" + polling.sessionQuery()))
        .timeout(TestClient.WAIT)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(400, response.statusCode(), response.body());
    assertTrue(response.body().contains("not UTF-8"), response.body());
  }
}
