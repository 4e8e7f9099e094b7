package io.switchboard.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, item 7: the documented limits on the JSON of a native message (64 levels of nesting,
 * the message's own object included; numbers of 1,000 characters), each refused with
 * {@code too-complex} and a message naming the limit, never as malformed JSON; and valid JSON up
 * to each limit relayed byte for byte.
 */
class JsonLimitsTest {
  private static ServerFixture fixture;
  private static TestClient sender;
  private static TestClient receiver;

  @BeforeAll
  static void start() {
    fixture = ServerFixture.start();
    sender = fixture.connect();
    receiver = fixture.connect();
    sender.join("limits");
    receiver.join("limits");
    sender.next("peer-joined");
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  private static String nested(int levels) {
    return "[".repeat(levels) + "]".repeat(levels);
  }

  private static String signal(String data, String id) {
    return "{\"type\":\"signal\",\"room\":\"limits\",\"id\":\"" + id + "\",\"data\":" + data + "}";
  }

  @Test
  void relaysDataNestedToTheLimitByteForByte() {
    String data = nested(63); // 63 + the message's own object = 64
    sender.send(signal(data, "deep-ok"));
    JsonObject relayed = receiver.next("signal");
    assertEquals(data, relayed.getJsonArray("data").encode());
  }

  @Test
  void refusesDataNestedOneLevelMoreWithTooComplexNamingTheLimit() {
    for (int levels : new int[] {64, 1000, 5000}) {
      sender.send(signal(nested(levels), "deep-" + levels));
      JsonObject error = sender.next("error");
      assertEquals("too-complex", error.getString("code"), error.encode());
      assertTrue(error.getString("message").contains("64 levels"), error.encode());
      assertEquals("deep-" + levels, error.getString("id"), "the id came before data, so it is echoed");
    }
    receiver.expectNothing();
  }

  @Test
  void relaysANumberOf1000CharactersAndRefusesOneOf1001() {
    String ok = "1" + "0".repeat(999);
    sender.send(signal(ok, "num-ok"));
    assertTrue(receiver.nextFrame(TestClient.WAIT).text().endsWith("\"data\":" + ok + "}"));

    sender.send(signal("1" + "0".repeat(1000), "num-long"));
    JsonObject error = sender.next("error");
    assertEquals("too-complex", error.getString("code"), error.encode());
    assertTrue(error.getString("message").contains("1000 characters"), error.encode());
    sender.send(signal("0." + "1".repeat(2000), "fraction-long"));
    assertEquals("too-complex", sender.next("error").getString("code"));
    receiver.expectNothing();
  }

  @Test
  void stillCallsBrokenJsonBadJson() {
    sender.send("{\"type\":\"signal\",\"room\":\"limits\",\"data\":[[[}");
    assertEquals("bad-json", sender.next("error").getString("code"));
  }

  @Test
  void theOtherDialectsNameTheLimitToo() {
    TestClient direct = fixture.open("/direct", "direct-limits");
    direct.send("{\"type\":\"login\",\"name\":\"x\",\"deep\":" + nested(64) + "}");
    JsonObject directError = direct.next("error");
    assertEquals("too-complex", directError.getString("code"), directError.encode());
    assertTrue(directError.getString("message").contains("64 levels"), directError.encode());

    EngineIoPollingClient socketIo = fixture.track(EngineIoPollingClient.create(fixture.port(), 3));
    socketIo.handshake();
    assertEquals("0", socketIo.nextMessage(), "the Socket.IO connect");
    socketIo.send("42[\"message\",{\"type\":\"mute\",\"room\":{\"id\":\"r\"},\"payload\":" + nested(64) + "}]");
    String socketIoError = socketIo.nextMessage();
    assertTrue(socketIoError.startsWith("2[\"signaling-error\",{\"code\":\"too-complex\""), socketIoError);
  }
}
