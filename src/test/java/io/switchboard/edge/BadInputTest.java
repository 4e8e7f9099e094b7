package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every error code of docs/protocol.md, provoked over a real socket. In each test the offender
 * {@code a} and a bystander share room {@code r}: the offender must get exactly the documented
 * error (echoing its id where the message had one), stay usable (ping → pong), and the bystander
 * must hear nothing.
 */
class BadInputTest {
  private static final int MAX_MESSAGE_BYTES = 4096;
  private static ServerFixture fixture;

  private TestClient a;
  private TestClient bystander;
  private TestClient c;
  private TestClient d;
  private ServerFixture ownFixture;

  @BeforeAll
  static void startServer() {
    fixture = ServerFixture.start(Map.of(
        "MAX_PEERS_PER_ROOM", "3",
        "MAX_ROOMS_PER_CONNECTION", "2",
        "MAX_MESSAGE_BYTES", String.valueOf(MAX_MESSAGE_BYTES),
        "MAX_FRAME_BYTES_HARD", "65536",
        "RATE_LIMIT_PER_SECOND", "10000",
        "RATE_LIMIT_BURST", "10000"));
  }

  @AfterAll
  static void stopServer() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @BeforeEach
  void twoInRoom() {
    bystander = fixture.connect();
    a = fixture.connect();
    bystander.join("r");
    a.join("r");
    assertEquals(a.peerId(), bystander.next("peer-joined").getString("peer"));
  }

  @AfterEach
  void closeClients() {
    try {
      fixture.closeClients();
    } finally {
      if (ownFixture != null) {
        ownFixture.close();
      }
    }
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {"{nope", "[]", "\"str\"", "42", "null", "true", "", " ", "{\"type\":\"ping\"", "{'type':'ping'}",
      "{\"type\":\"ping\"}x", "{\"type\":\"ping\"}{\"type\":\"ping\"}", "[{\"type\":\"ping\"}]"})
  void answersBadJsonForAnythingButOneJsonObject(String text) {
    a.send(text);
    expectError(a.next(), "bad-json", null);
    afterError();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {
      "{\"id\":\"m1\",\"room\":\"r\"}",
      "{\"type\":null,\"id\":\"m1\"}",
      "{\"type\":5,\"id\":\"m1\"}",
      "{\"type\":[\"ping\"],\"id\":\"m1\"}",
      "{\"type\":\"join\",\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":5,\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"\",\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"a b\",\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"a/b\",\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"caf\u00e9\",\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"x\\u0000\",\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"mx\",\"meta\":\"alice\",\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"mx\",\"meta\":[1],\"id\":\"m1\"}",
      "{\"type\":\"join\",\"room\":\"mx\",\"meta\":7,\"id\":\"m1\"}",
      "{\"type\":\"leave\",\"id\":\"m1\"}",
      "{\"type\":\"leave\",\"room\":\"#\",\"id\":\"m1\"}",
      "{\"type\":\"offer\",\"room\":\"r\",\"id\":\"m1\"}",
      "{\"type\":\"answer\",\"data\":{},\"id\":\"m1\"}",
      "{\"type\":\"candidate\",\"room\":\"r\",\"to\":5,\"data\":{},\"id\":\"m1\"}",
      "{\"type\":\"signal\",\"room\":\"r\",\"to\":{\"peer\":\"x\"},\"data\":{},\"id\":\"m1\"}"})
  void answersBadMessageEchoingTheId(String text) {
    a.send(text);
    expectError(a.next(), "bad-message", "m1");
    afterError();
  }

  @Test
  void refusesRoomNameOf129CharactersButAccepts128() {
    String room128 = "x".repeat(128);
    a.send("{\"type\":\"join\",\"room\":\"" + room128 + "y\",\"id\":\"long\"}");
    expectError(a.next(), "bad-message", "long");
    afterError();
    a.send("{\"type\":\"join\",\"room\":\"" + room128 + "\",\"id\":\"ok\"}");
    assertEquals("ok", a.next("joined").getValue("id"));
    a.send("{\"type\":\"leave\",\"room\":\"" + room128 + "\"}");
    a.next("left");
  }

  @Test
  void acceptsRoomNamesUsingEveryAllowedCharacter() {
    a.send("{\"type\":\"leave\",\"room\":\"r\"}");
    a.next("left");
    bystander.next("peer-left");
    a.send("{\"type\":\"join\",\"room\":\"AZaz09._:-\",\"id\":\"chars\"}");
    assertEquals("chars", a.next("joined").getValue("id"));
    bystander.expectNothing();
  }

  @Test
  void refusesMetaOverOneKilobyte() {
    String big = "{\"blob\":\"" + "m".repeat(1100) + "\"}";
    a.send("{\"type\":\"join\",\"room\":\"meta\",\"meta\":" + big + ",\"id\":\"big\"}");
    expectError(a.next(), "bad-message", "big");
    afterError();
    String fits = "{\"blob\":\"" + "m".repeat(900) + "\"}";
    a.send("{\"type\":\"join\",\"room\":\"meta\",\"meta\":" + fits + ",\"id\":\"fits\"}");
    assertEquals("fits", a.next("joined").getValue("id"));
  }

  @Test
  void refusesRelayToItself() {
    a.send("{\"type\":\"offer\",\"room\":\"r\",\"to\":\"" + a.peerId() + "\",\"data\":{},\"id\":\"self\"}");
    expectError(a.next(), "bad-message", "self");
    afterError();
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {"{\"k\":1}", "[1]", "1.5", "true"})
  void refusesIdThatIsNeitherStringNorInteger(String id) {
    a.send("{\"type\":\"ping\",\"id\":" + id + "}");
    JsonObject error = a.next();
    expectError(error, "bad-message", ERROR_ID_NOT_CHECKED);
    afterError();
  }

  @Test
  void refusesIdLongerThan128Characters() {
    a.send("{\"type\":\"ping\",\"id\":\"" + "i".repeat(129) + "\"}");
    expectError(a.next(), "bad-message", ERROR_ID_NOT_CHECKED);
    afterError();
    String id128 = "i".repeat(128);
    a.send("{\"type\":\"ping\",\"id\":\"" + id128 + "\"}");
    assertEquals(id128, a.next("pong").getValue("id"));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {"dance", "welcome", "joined", "pong", "error", "PING", "Join", ""})
  void answersUnknownTypeEchoingTheId(String type) {
    a.send("{\"type\":\"" + type + "\",\"room\":\"r\",\"id\":\"u\"}");
    expectError(a.next(), "unknown-type", "u");
    afterError();
  }

  @Test
  void answersTooLargeAndStaysUsable() {
    String padding = "p".repeat(MAX_MESSAGE_BYTES + 100);
    a.send("{\"type\":\"signal\",\"room\":\"r\",\"data\":\"" + padding + "\",\"id\":\"big\"}");
    expectError(a.next(), "too-large", ERROR_ID_NOT_CHECKED);
    afterError();
  }

  @Test
  void answersTooLargeForAFragmentedMessageOverTheLimit() {
    String padding = "p".repeat(MAX_MESSAGE_BYTES + 100);
    String message = "{\"type\":\"signal\",\"room\":\"r\",\"data\":\"" + padding + "\"}";
    int third = message.length() / 3;
    a.sendFrame(WebSocketFrame.textFrame(message.substring(0, third), false));
    a.sendFrame(WebSocketFrame.continuationFrame(Buffer.buffer(message.substring(third, 2 * third)), false));
    a.sendFrame(WebSocketFrame.continuationFrame(Buffer.buffer(message.substring(2 * third)), true));
    expectError(a.next(), "too-large", null);
    afterError();
  }

  @Test
  void relaysAMessageJustUnderTheSizeLimit() {
    String prefix = "{\"type\":\"signal\",\"room\":\"r\",\"data\":\"";
    String suffix = "\"}";
    String message = prefix + "q".repeat(MAX_MESSAGE_BYTES - prefix.length() - suffix.length()) + suffix;
    assertEquals(MAX_MESSAGE_BYTES, message.length());
    a.send(message);
    JsonObject relayed = bystander.next("signal");
    assertEquals(MAX_MESSAGE_BYTES - prefix.length() - suffix.length(), relayed.getString("data").length());
    a.expectNothing();
  }

  @Test
  void answersBinaryNotSupported() {
    a.sendBinary(Buffer.buffer(new byte[] {1, 2, 3, '{', '}'}));
    expectError(a.next(), "binary-not-supported", null);
    afterError();
    a.sendBinary(Buffer.buffer("{\"type\":\"ping\",\"id\":\"bin\"}"));
    expectError(a.next(), "binary-not-supported", ERROR_ID_NOT_CHECKED);
    afterError();
  }

  @Test
  void answersNotInRoomForRelayToARoomNotJoined() {
    a.send("{\"type\":\"offer\",\"room\":\"call-43\",\"data\":{},\"id\":\"nr\"}");
    expectError(a.next(), "not-in-room", "nr");
    afterError();
  }

  @Test
  void answersNotInRoomForLeaveOfARoomNotJoined() {
    a.send("{\"type\":\"leave\",\"room\":\"elsewhere\",\"id\":9}");
    expectError(a.next(), "not-in-room", 9);
    afterError();
  }

  @Test
  void answersNotInRoomForRelayAfterLeaving() {
    a.send("{\"type\":\"leave\",\"room\":\"r\"}");
    a.next("left");
    bystander.next("peer-left");
    a.send("{\"type\":\"signal\",\"room\":\"r\",\"to\":\"" + bystander.peerId() + "\",\"data\":1,\"id\":\"gone\"}");
    expectError(a.next(), "not-in-room", "gone");
    afterError();
  }

  @Test
  void answersPeerNotFoundForAnUnknownOrAbsentPeer() {
    c = fixture.connect();
    c.join("elsewhere");
    String stranger = "AAAAAAAAAAAAAAAAAAAAAA";
    a.send("{\"type\":\"offer\",\"room\":\"r\",\"to\":\"" + stranger + "\",\"data\":{},\"id\":\"pnf\"}");
    expectError(a.next(), "peer-not-found", "pnf");
    afterError();
    a.send("{\"type\":\"offer\",\"room\":\"r\",\"to\":\"" + c.peerId() + "\",\"data\":{},\"id\":\"other-room\"}");
    expectError(a.next(), "peer-not-found", "other-room");
    afterError();
    c.expectNothing(Duration.ofMillis(20));
  }

  @Test
  void answersPeerNotFoundForAPeerThatHasLeft() {
    bystander.send("{\"type\":\"leave\",\"room\":\"r\"}");
    bystander.next("left");
    a.next("peer-left");
    a.send("{\"type\":\"answer\",\"room\":\"r\",\"to\":\"" + bystander.peerId() + "\",\"data\":{},\"id\":\"late\"}");
    expectError(a.next(), "peer-not-found", "late");
    a.assertAlive("still");
    bystander.expectNothing();
  }

  @Test
  void answersRoomFullAndTellsNobody() {
    c = fixture.connect();
    d = fixture.connect();
    c.join("r");
    bystander.next("peer-joined");
    a.next("peer-joined");

    d.send("{\"type\":\"join\",\"room\":\"r\",\"id\":\"full\"}");
    expectError(d.next(), "room-full", "full");
    d.assertAlive("d-alive");
    a.expectNothing();
    bystander.expectNothing(Duration.ofMillis(20));
    c.expectNothing(Duration.ofMillis(20));
    d.send("{\"type\":\"signal\",\"room\":\"r\",\"data\":{},\"id\":\"not-member\"}");
    expectError(d.next(), "not-in-room", "not-member");

    c.send("{\"type\":\"leave\",\"room\":\"r\"}");
    c.next("left");
    a.next("peer-left");
    bystander.next("peer-left");
    d.send("{\"type\":\"join\",\"room\":\"r\",\"id\":\"room-now\"}");
    assertEquals("room-now", d.next("joined").getValue("id"));
  }

  @Test
  void answersTooManyRoomsUntilOneIsLeft() {
    a.join("second");
    a.send("{\"type\":\"join\",\"room\":\"third\",\"id\":\"tmr\"}");
    expectError(a.next(), "too-many-rooms", "tmr");
    afterError();

    a.send("{\"type\":\"join\",\"room\":\"second\",\"id\":\"rejoin\"}");
    assertEquals("rejoin", a.next("joined").getValue("id"), "re-joining a room already held is not a new room");

    a.send("{\"type\":\"leave\",\"room\":\"second\"}");
    a.next("left");
    a.send("{\"type\":\"join\",\"room\":\"third\",\"id\":\"now\"}");
    assertEquals("now", a.next("joined").getValue("id"));
  }

  @Test
  void answersRateLimitedAndDropsTheMessage() {
    ownFixture = ServerFixture.start(Map.of(
        "RATE_LIMIT_PER_SECOND", "2",
        "RATE_LIMIT_BURST", "3",
        "FLOOD_CLOSE_AFTER", "1000"));
    TestClient limited = ownFixture.connect();
    TestClient peer = ownFixture.connect();
    peer.join("rl");
    limited.join("rl");
    peer.next("peer-joined");

    long start = System.nanoTime();
    int sent = 10;
    for (int i = 0; i < sent; i++) {
      limited.sendNoWait("{\"type\":\"signal\",\"room\":\"rl\",\"data\":" + i + ",\"id\":" + i + "}");
    }
    // Each message is either refused (an error to the sender) or relayed (to the peer): read both
    // until all ten are accounted for.
    List<JsonObject> errors = new ArrayList<>();
    List<JsonObject> relayed = new ArrayList<>();
    long deadline = System.nanoTime() + TestClient.WAIT.toNanos();
    while (errors.size() + relayed.size() < sent && System.nanoTime() < deadline) {
      collect(limited, errors);
      collect(peer, relayed);
    }
    double elapsed = (System.nanoTime() - start) / 1e9;

    assertEquals(sent, errors.size() + relayed.size(),
        "every message is either relayed or refused: relayed " + relayed + ", errors " + errors);
    for (JsonObject e : errors) {
      expectError(e, "rate-limited", ERROR_ID_NOT_CHECKED);
    }
    assertFalse(errors.isEmpty(), "ten messages at once must exceed a burst of 3");
    assertFalse(relayed.isEmpty(), "the burst left tokens for the first message");
    assertEquals(0, relayed.get(0).getInteger("data"), "the first message fitted the burst");
    assertTrue(relayed.size() <= 2 + 2 * (elapsed + 1), relayed.size() + " relayed in " + elapsed + " s");
    for (int i = 1; i < relayed.size(); i++) {
      assertTrue(relayed.get(i).getInteger("data") > relayed.get(i - 1).getInteger("data"), "order kept: " + relayed);
    }

    peer.assertAlive("own-bucket");
    // At 2 tokens a second the bucket refills within 0.7 s; meanwhile nothing else may arrive.
    limited.expectNothing(Duration.ofMillis(700));
    limited.assertAlive("refilled");
    limited.assertOpen();
  }

  /** Adds to {@code out} the messages {@code client} has received by now, waiting briefly for one. */
  private static void collect(TestClient client, List<JsonObject> out) {
    for (TestClient.Frame f = client.nextFrameOrNull(Duration.ofMillis(20)); f != null; f = client.pollNow()) {
      assertTrue(f.json() != null, "not a JSON object: " + f);
      out.add(f.json());
    }
  }

  /** Marks an error whose id the spec does not pin down (the message was not read, or its id was the fault). */
  private static final Object ERROR_ID_NOT_CHECKED = new Object();

  private static void expectError(JsonObject error, String code, Object id) {
    assertEquals("error", error.getString("type"), "expected error " + code + ", got " + error);
    assertEquals(code, error.getString("code"), error.encode());
    Object message = error.getValue("message");
    assertTrue(message instanceof String s && !s.isBlank(), "error needs a message: " + error);
    if (id == null) {
      assertFalse(error.containsKey("id"), "no id was sent, none may come back: " + error);
    } else if (id != ERROR_ID_NOT_CHECKED) {
      assertEquals(id, error.getValue("id"), "error must echo the id: " + error);
    }
  }

  /** The offender can go on, and the bystander heard nothing of it. */
  private void afterError() {
    a.expectNothing(Duration.ofMillis(20));
    a.assertAlive("after-error");
    bystander.expectNothing();
  }
}
