package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.JsonText;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The native protocol as docs/protocol.md describes it, end to end: a real node on port 0 and
 * real WebSocket clients. One node serves the whole class (limits raised so that no test trips
 * the rate limit); after each test every client is closed and the node must be back to zero
 * connections and zero rooms.
 */
class NativeProtocolTest {
  /** Data with escapes, odd whitespace, a trailing-zero number and a raw non-ASCII character. */
  private static final String ODD_DATA =
      "{ \"sdp\":\"v=0\\r\\n a=x\" ,\n\t\"n\":1.50,\"u\":\"\\u00e9\\u2028\", \"raw\":\"\u00e9\u00df\","
          + "\"arr\":[1, 2 ,{}], \"e\":1E+2, \"neg\":-0 }";

  private static ServerFixture fixture;

  private TestClient a;
  private TestClient b;
  private TestClient c;
  private TestClient d;

  @BeforeAll
  static void startServer() {
    fixture = ServerFixture.start(Map.of(
        "RATE_LIMIT_PER_SECOND", "10000",
        "RATE_LIMIT_BURST", "10000",
        "MAX_PEERS_PER_ROOM", "50"));
  }

  @AfterAll
  static void stopServer() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @AfterEach
  void closeClients() {
    fixture.closeClients();
  }

  @Test
  void welcomesEveryClientWithAUniqueRandomPeerId() {
    Set<String> ids = new HashSet<>();
    List<TestClient> clients = fixture.connect(40);
    for (TestClient client : clients) {
      String id = client.peerId();
      assertTrue(id.matches("[A-Za-z0-9_-]{22}"), "22 characters of base64url: " + id);
      assertEquals(16, Base64.getUrlDecoder().decode(id).length, "128 bits: " + id);
      assertTrue(ids.add(id), "duplicate peer id " + id);
    }
    for (TestClient client : clients) {
      client.expectNothing(Duration.ofMillis(20));
    }
  }

  @Test
  void answersJoinWithEmptyRosterAndEchoesStringId() {
    a = fixture.connect();
    a.send("{\"type\":\"join\",\"room\":\"call-42\",\"meta\":{\"name\":\"alice\"},\"id\":\"j1\"}");
    JsonObject joined = a.next("joined");
    assertEquals("call-42", joined.getString("room"));
    assertEquals(a.peerId(), joined.getString("peer"));
    assertEquals(new JsonArray(), joined.getJsonArray("peers"));
    assertEquals("j1", joined.getValue("id"));
    a.expectNothing();
  }

  @Test
  void echoesIntegerIdAsInteger() {
    a = fixture.connect();
    a.send("{\"type\":\"join\",\"room\":\"r\",\"id\":42}");
    TestClient.Frame frame = a.nextFrame(TestClient.WAIT);
    assertEquals("joined", frame.json().getString("type"));
    assertEquals(42, frame.json().getValue("id"));
    assertEquals("42", JsonText.member(frame.text(), "id"), "id echoed unchanged: " + frame);
  }

  @Test
  void tellsSecondPeerTheRosterAndFirstPeerTheNewcomer() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("call-42", new JsonObject().put("name", "alice"));

    b.send("{\"type\":\"join\",\"room\":\"call-42\",\"id\":1}");
    JsonObject joined = b.next("joined");
    assertEquals(b.peerId(), joined.getString("peer"));
    assertEquals(1, joined.getValue("id"));
    assertEquals(new JsonArray().add(new JsonObject().put("peer", a.peerId()).put("meta", new JsonObject().put("name", "alice"))),
        joined.getJsonArray("peers"));

    JsonObject peerJoined = a.next("peer-joined");
    assertEquals("call-42", peerJoined.getString("room"));
    assertEquals(b.peerId(), peerJoined.getString("peer"));
    assertEquals(new JsonObject(), peerJoined.getJsonObject("meta"), "meta is {} when none was given");
    assertFalse(peerJoined.containsKey("id"), "peer-joined carries no id: " + peerJoined);
    a.expectNothing();
    b.expectNothing();
  }

  @Test
  void showsMetaExactlyAsTheJoinerSentIt() {
    a = fixture.connect();
    b = fixture.connect();
    String meta = "{\"name\":\"al\\u00efce\", \"n\":1.50,\"tags\":[ ]}";
    a.send("{\"type\":\"join\",\"room\":\"m\",\"meta\":" + meta + "}");
    a.next("joined");
    b.send("{\"type\":\"join\",\"room\":\"m\"}");
    JsonObject roster = b.next("joined");
    JsonObject shown = roster.getJsonArray("peers").getJsonObject(0).getJsonObject("meta");
    assertEquals(new JsonObject(meta), shown);
  }

  @Test
  void keepsRosterCorrectAsFourPeersJoinInSequence() {
    List<TestClient> peers = fixture.connect(4);
    Map<String, JsonObject> members = new HashMap<>();
    for (int i = 0; i < peers.size(); i++) {
      TestClient joiner = peers.get(i);
      JsonObject meta = new JsonObject().put("seat", i);
      JsonObject joined = joiner.join("table", meta);
      Map<String, JsonObject> roster = new HashMap<>();
      for (Object o : joined.getJsonArray("peers")) {
        JsonObject m = (JsonObject) o;
        assertNull(roster.put(m.getString("peer"), m.getJsonObject("meta")), "peer listed twice: " + joined);
      }
      assertEquals(members, roster, "roster for joiner " + i);
      for (int j = 0; j < i; j++) {
        JsonObject pj = peers.get(j).next("peer-joined");
        assertEquals(joiner.peerId(), pj.getString("peer"));
        assertEquals(meta, pj.getJsonObject("meta"));
        assertEquals("table", pj.getString("room"));
      }
      members.put(joiner.peerId(), meta);
    }
    for (TestClient p : peers) {
      p.expectNothing(Duration.ofMillis(50));
    }
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {"offer", "answer", "candidate", "signal"})
  void relaysToTheAddressedPeerOnlyWithDataByteForByte(String type) {
    threeInRoom("call");
    String sent = "{\"type\":\"" + type + "\",\"room\":\"call\",\"to\":\"" + b.peerId() + "\",\"data\":" + ODD_DATA + "}";
    a.send(sent);

    TestClient.Frame frame = b.nextFrame(TestClient.WAIT);
    JsonObject relayed = frame.json();
    assertEquals(type, relayed.getString("type"), frame.text());
    assertEquals("call", relayed.getString("room"));
    assertEquals(a.peerId(), relayed.getString("from"));
    assertEquals(ODD_DATA, JsonText.member(frame.text(), "data"), "data must be relayed byte for byte");
    assertTrue(frame.text().contains(ODD_DATA));

    a.expectNothing();
    b.expectNothing(Duration.ofMillis(50));
    c.expectNothing(Duration.ofMillis(50));
  }

  @Test
  void followsTheOfferAnswerCandidateExchangeOfTheSpec() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("call-42");
    b.join("call-42");
    a.next("peer-joined");
    String offer = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n...\"}";
    b.send("{\"type\":\"offer\",\"room\":\"call-42\",\"to\":\"" + a.peerId() + "\",\"data\":" + offer + "}");
    TestClient.Frame got = a.nextFrame(TestClient.WAIT);
    assertEquals("offer", got.json().getString("type"));
    assertEquals(b.peerId(), got.json().getString("from"));
    assertEquals(offer, JsonText.member(got.text(), "data"));

    String answer = "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n...\"}";
    a.send("{\"type\":\"answer\",\"room\":\"call-42\",\"to\":\"" + b.peerId() + "\",\"data\":" + answer + "}");
    got = b.nextFrame(TestClient.WAIT);
    assertEquals("answer", got.json().getString("type"));
    assertEquals(answer, JsonText.member(got.text(), "data"));

    String candidate = "{\"candidate\":\"candidate:1 1 udp 2122260223 10.0.0.5 50000 typ host\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}";
    a.send("{\"type\":\"candidate\",\"room\":\"call-42\",\"to\":\"" + b.peerId() + "\",\"data\":" + candidate + "}");
    got = b.nextFrame(TestClient.WAIT);
    assertEquals("candidate", got.json().getString("type"));
    assertEquals(candidate, JsonText.member(got.text(), "data"));
    a.expectNothing();
    b.expectNothing(Duration.ofMillis(20));
  }

  @Test
  void broadcastsWithoutToToEveryOtherMemberExactlyOnce() {
    threeInRoom("party");
    d = fixture.connect();
    d.join("party");
    a.next("peer-joined");
    b.next("peer-joined");
    c.next("peer-joined");

    a.send("{\"type\":\"signal\",\"room\":\"party\",\"data\":{\"mute\":true}}");
    for (TestClient receiver : List.of(b, c, d)) {
      TestClient.Frame f = receiver.nextFrame(TestClient.WAIT);
      assertEquals("signal", f.json().getString("type"), f.text());
      assertEquals(a.peerId(), f.json().getString("from"));
      assertEquals("party", f.json().getString("room"));
      assertEquals("{\"mute\":true}", JsonText.member(f.text(), "data"));
    }
    a.expectNothing();
    b.expectNothing(Duration.ofMillis(20));
    c.expectNothing(Duration.ofMillis(20));
    d.expectNothing(Duration.ofMillis(20));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @ValueSource(strings = {"\"just a string \\\" with \\\\ escapes\"", "12.500", "-3", "[1,\"two\", {\"three\":3}]",
      "true", "false", "[]", "{}"})
  void relaysDataOfAnyJsonKindUnchanged(String data) {
    a = fixture.connect();
    b = fixture.connect();
    a.join("kinds");
    b.join("kinds");
    a.next("peer-joined");
    a.send("{\"type\":\"signal\",\"room\":\"kinds\",\"to\":\"" + b.peerId() + "\",\"data\":" + data + "}");
    TestClient.Frame f = b.nextFrame(TestClient.WAIT);
    assertEquals("signal", f.json().getString("type"), f.text());
    assertEquals(data, JsonText.member(f.text(), "data"));
    a.expectNothing();
  }

  @Test
  void relaysNullDataAsAnyOtherJsonValue() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("nulls");
    b.join("nulls");
    a.next("peer-joined");
    a.send("{\"type\":\"signal\",\"room\":\"nulls\",\"to\":\"" + b.peerId() + "\",\"data\":null}");
    TestClient.Frame f = b.nextFrame(TestClient.WAIT);
    assertEquals("signal", f.json().getString("type"), f.text());
    assertEquals("null", JsonText.member(f.text(), "data"));
    a.expectNothing();
  }

  @Test
  void ignoresUnknownExtraFields() {
    a = fixture.connect();
    a.send("{\"type\":\"ping\",\"id\":\"x\",\"extra\":{\"nested\":[1,2]},\"zz\":null}");
    JsonObject pong = a.next("pong");
    assertEquals("x", pong.getValue("id"));
    a.send("{\"type\":\"join\",\"room\":\"extra\",\"colour\":\"blue\",\"id\":\"e\"}");
    assertEquals("e", a.next("joined").getValue("id"));
  }

  @Test
  void repliesLeftAndTellsOthersThePeerLeft() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("lobby");
    b.join("lobby");
    a.next("peer-joined");

    b.send("{\"type\":\"leave\",\"room\":\"lobby\",\"id\":2}");
    JsonObject left = b.next("left");
    assertEquals("lobby", left.getString("room"));
    assertEquals(2, left.getValue("id"));

    JsonObject peerLeft = a.next("peer-left");
    assertEquals("lobby", peerLeft.getString("room"));
    assertEquals(b.peerId(), peerLeft.getString("peer"));
    assertEquals("leave", peerLeft.getString("reason"));

    a.send("{\"type\":\"signal\",\"room\":\"lobby\",\"data\":1}");
    b.expectNothing();
    a.expectNothing(Duration.ofMillis(20));
  }

  @Test
  void tellsEveryRoomOfAClosedSocketThatItDisconnected() {
    a = fixture.connect();
    b = fixture.connect();
    c = fixture.connect();
    a.join("r1");
    a.join("r2");
    b.join("r1");
    c.join("r2");
    a.next("peer-joined");
    a.next("peer-joined");

    a.close();

    JsonObject toB = b.next("peer-left");
    assertEquals("r1", toB.getString("room"));
    assertEquals(a.peerId(), toB.getString("peer"));
    assertEquals("disconnect", toB.getString("reason"));
    JsonObject toC = c.next("peer-left");
    assertEquals("r2", toC.getString("room"));
    assertEquals(a.peerId(), toC.getString("peer"));
    assertEquals("disconnect", toC.getString("reason"));
    b.expectNothing();
    c.expectNothing(Duration.ofMillis(20));
  }

  @Test
  void joiningARoomAgainRepliesJoinedAndTellsNobody() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("again", new JsonObject().put("v", 1));
    b.join("again");
    a.next("peer-joined");

    a.send("{\"type\":\"join\",\"room\":\"again\",\"id\":\"twice\"}");
    JsonObject joined = a.next("joined");
    assertEquals("twice", joined.getValue("id"));
    assertEquals(new JsonArray().add(new JsonObject().put("peer", b.peerId()).put("meta", new JsonObject())),
        joined.getJsonArray("peers"), "current roster, without the joiner itself");
    b.expectNothing();

    b.send("{\"type\":\"signal\",\"room\":\"again\",\"data\":\"once\"}");
    assertEquals("signal", a.next().getString("type"));
    a.expectNothing();
  }

  @Test
  void answersPingWithPongEchoingTheId() {
    a = fixture.connect();
    a.send("{\"type\":\"ping\",\"id\":7}");
    JsonObject pong = a.next("pong");
    assertEquals(7, pong.getValue("id"));
    a.send("{\"type\":\"ping\",\"id\":\"p\"}");
    assertEquals("p", a.next("pong").getValue("id"));
    a.send("{\"type\":\"ping\"}");
    JsonObject bare = a.next("pong");
    assertFalse(bare.containsKey("id"), "no id in, no id out: " + bare);
    a.expectNothing();
  }

  @Test
  void answersWebSocketPingFrameWithPongFrame() {
    a = fixture.connect();
    a.ping(Buffer.buffer("hello"));
    assertEquals(Buffer.buffer("hello"), a.nextPong(TestClient.WAIT));
    a.expectNothing();
  }

  @Test
  void reassemblesFragmentedTextMessages() {
    a = fixture.connect();
    a.sendFrame(WebSocketFrame.textFrame("{\"type\":\"pi", false));
    a.sendFrame(WebSocketFrame.continuationFrame(Buffer.buffer("ng\",\"id\""), false));
    a.sendFrame(WebSocketFrame.continuationFrame(Buffer.buffer(":\"frag\"}"), true));
    assertEquals("frag", a.next("pong").getValue("id"));
    a.expectNothing();
  }

  @Test
  void keepsPerSenderOrderForTwoHundredMessages() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("order");
    b.join("order");
    a.next("peer-joined");
    for (int i = 0; i < 200; i++) {
      a.sendNoWait("{\"type\":\"signal\",\"room\":\"order\",\"to\":\"" + b.peerId() + "\",\"data\":{\"n\":" + i + "}}");
    }
    for (int i = 0; i < 200; i++) {
      JsonObject m = b.next(Duration.ofSeconds(10));
      assertEquals("signal", m.getString("type"), m.encode());
      assertEquals(i, m.getJsonObject("data").getInteger("n"), "message " + i + " out of order");
    }
    b.expectNothing();
    a.expectNothing(Duration.ofMillis(20));
  }

  @Test
  void peersInDifferentRoomsDoNotHearEachOther() {
    a = fixture.connect();
    b = fixture.connect();
    a.join("room-a");
    b.join("room-b");
    a.send("{\"type\":\"signal\",\"room\":\"room-a\",\"data\":{}}");
    a.expectNothing();
    b.expectNothing(Duration.ofMillis(20));
  }

  /** a, b and c in {@code room}, every join notification consumed. */
  private void threeInRoom(String room) {
    a = fixture.connect();
    b = fixture.connect();
    c = fixture.connect();
    a.join(room);
    b.join(room);
    c.join(room);
    assertEquals(b.peerId(), a.next("peer-joined").getString("peer"));
    assertEquals(c.peerId(), a.next("peer-joined").getString("peer"));
    assertEquals(c.peerId(), b.next("peer-joined").getString("peer"));
  }
}
