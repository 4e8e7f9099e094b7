package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.RawWebSocket;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Wait;
import io.vertx.core.Future;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every limit of the node as a client meets it: capacity, rates, floods, idle sockets, origins,
 * frame sizes, slow readers and shutdown. Each test starts its own node with the limit under test
 * set small; clients are closed and the node must be back to zero connections and rooms.
 */
class LimitsTest {
  private static final String CLOSES = "switchboard_closes_total";
  private static final String REJECTED = "switchboard_connections_rejected_total";
  private static final String ERRORS = "switchboard_errors_total";

  private ServerFixture fixture;

  private TestClient a;
  private TestClient b;
  private TestClient c;
  private TestClient watcher;
  private RawWebSocket raw;

  @AfterEach
  void stop() {
    if (fixture != null) {
      fixture.close();
    }
  }

  @Test
  void holdsRoomCapacityUnderConcurrentJoins() {
    fixture = ServerFixture.start(Map.of("MAX_PEERS_PER_ROOM", "5", "RATE_LIMIT_PER_SECOND", "1000", "RATE_LIMIT_BURST", "1000"));
    List<TestClient> clients = fixture.connect(20);
    for (int i = 0; i < clients.size(); i++) {
      clients.get(i).sendNoWait("{\"type\":\"join\",\"room\":\"hot\",\"id\":" + i + "}");
    }
    Map<TestClient, Set<String>> known = new HashMap<>();
    List<TestClient> winners = new ArrayList<>();
    List<TestClient> losers = new ArrayList<>();
    for (int i = 0; i < clients.size(); i++) {
      TestClient client = clients.get(i);
      Set<String> peers = new HashSet<>();
      JsonObject reply = null;
      for (int n = 0; n < 50 && reply == null; n++) {
        JsonObject m = client.next(Duration.ofSeconds(10));
        if ("peer-joined".equals(m.getString("type"))) {
          assertTrue(peers.add(m.getString("peer")), "peer-joined twice: " + m);
        } else {
          reply = m;
        }
      }
      assertNotNull(reply);
      assertEquals(i, reply.getValue("id"), reply.encode());
      if ("joined".equals(reply.getString("type"))) {
        winners.add(client);
        reply.getJsonArray("peers").forEach(p -> assertTrue(peers.add(((JsonObject) p).getString("peer")), "listed twice: " + p));
      } else {
        assertEquals("error", reply.getString("type"), reply.encode());
        assertEquals("room-full", reply.getString("code"), reply.encode());
        assertTrue(peers.isEmpty(), "a refused joiner heard of members: " + peers);
        losers.add(client);
      }
      known.put(client, peers);
    }
    assertEquals(5, winners.size(), "exactly MAX_PEERS_PER_ROOM joins succeed");
    assertEquals(15, losers.size());

    Set<String> winnerIds = new HashSet<>();
    winners.forEach(w -> winnerIds.add(w.peerId()));
    for (TestClient w : winners) {
      Set<String> others = new HashSet<>(winnerIds);
      others.remove(w.peerId());
      // Read until the member knows all four others (each next() is bounded), then check that
      // nothing more comes.
      while (!known.get(w).containsAll(others)) {
        JsonObject f = w.next();
        assertEquals("peer-joined", f.getString("type"), f.encode());
        assertTrue(known.get(w).add(f.getString("peer")), "peer-joined twice: " + f);
      }
      assertEquals(others, known.get(w), "each member ends up knowing exactly the other four");
    }
    winners.forEach(TestClient::expectNothing);
    for (TestClient l : losers) {
      l.expectNothing(Duration.ofMillis(10));
    }
    assertEquals(1, fixture.server().roomCount());

    TestClient leaver = winners.get(0);
    leaver.send("{\"type\":\"leave\",\"room\":\"hot\"}");
    leaver.next("left");
    for (TestClient w : winners.subList(1, 5)) {
      assertEquals("leave", w.next("peer-left").getString("reason"));
    }
    JsonObject late = losers.get(0).join("hot");
    assertEquals(4, late.getJsonArray("peers").size(), "final roster: the four who stayed");
  }

  @Test
  void refusesJoinBeyondMaxRoomsPerConnection() {
    fixture = ServerFixture.start(Map.of("MAX_ROOMS_PER_CONNECTION", "3"));
    a = fixture.connect();
    a.join("one");
    a.join("two");
    a.join("three");
    a.send("{\"type\":\"join\",\"room\":\"four\",\"id\":\"4\"}");
    JsonObject error = a.next("error");
    assertEquals("too-many-rooms", error.getString("code"));
    assertEquals("4", error.getValue("id"));
    b = fixture.connect();
    b.join("four");
    b.join("one");
    a.next("peer-joined");
    a.send("{\"type\":\"leave\",\"room\":\"two\"}");
    a.next("left");
    a.join("four");
    b.next("peer-joined");
    assertEquals(3, fixture.server().roomCount(), "one, three and four");
  }

  @Test
  void allowsTheBurstThenRefusesUntilTheBucketRefills() {
    fixture = ServerFixture.start(Map.of("RATE_LIMIT_PER_SECOND", "1", "RATE_LIMIT_BURST", "5", "FLOOD_CLOSE_AFTER", "1000"));
    a = fixture.connect();
    b = fixture.connect();
    double before = fixture.scrape().value(ERRORS, Map.of("code", "rate-limited"));

    long start = System.nanoTime();
    for (int i = 0; i < 8; i++) {
      a.sendNoWait("{\"type\":\"ping\",\"id\":" + i + "}");
    }
    List<JsonObject> replies = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      replies.add(a.next());
    }
    double elapsed = (System.nanoTime() - start) / 1e9;
    for (int i = 0; i < 5; i++) {
      assertEquals("pong", replies.get(i).getString("type"), "within the burst: " + replies);
      assertEquals(i, replies.get(i).getValue("id"));
    }
    int refused = 0;
    for (JsonObject r : replies.subList(5, 8)) {
      if ("error".equals(r.getString("type"))) {
        assertEquals("rate-limited", r.getString("code"), r.encode());
        refused++;
      } else {
        assertEquals("pong", r.getString("type"), r.encode());
      }
    }
    if (elapsed < 0.9) {
      assertEquals(3, refused, "burst of 5 at 1/s, 8 sent in " + elapsed + " s: " + replies);
    }
    assertTrue(refused >= 1, replies.toString());
    a.expectNothing();
    a.assertOpen();
    b.assertAlive("own-bucket");
    int expected = refused;
    fixture.awaitCondition(() -> fixture.scrape().value(ERRORS, Map.of("code", "rate-limited")) == before + expected,
        TestClient.WAIT, "errors_total{code=rate-limited} counts each refusal");
  }

  @Test
  void closesAFloodingSocketWith4008WhileOthersKeepRelaying() {
    fixture = ServerFixture.start(Map.of("RATE_LIMIT_PER_SECOND", "5", "RATE_LIMIT_BURST", "5", "FLOOD_CLOSE_AFTER", "1000"));
    TestClient flooder = fixture.connect();
    watcher = fixture.connect();
    b = fixture.connect();
    c = fixture.connect();
    watcher.join("f");
    flooder.join("f");
    watcher.next("peer-joined");
    b.join("p");
    c.join("p");
    b.next("peer-joined");
    double before = fixture.scrape().value(CLOSES, Map.of("reason", "flooding"));

    for (int i = 0; i < 2000; i++) {
      flooder.sendNoWait("{\"type\":\"ping\",\"id\":" + i + "}");
    }
    b.send("{\"type\":\"offer\",\"room\":\"p\",\"to\":\"" + c.peerId() + "\",\"data\":{\"sdp\":\"during flood\"}}");
    JsonObject offer = c.next(Duration.ofSeconds(3));
    assertEquals("offer", offer.getString("type"));
    assertEquals(b.peerId(), offer.getString("from"));

    assertEquals(4008, flooder.awaitClose(Duration.ofSeconds(10)), "flooding close code");
    JsonObject left = watcher.next("peer-left");
    assertEquals(flooder.peerId(), left.getString("peer"));
    assertEquals("disconnect", left.getString("reason"));
    fixture.awaitCondition(() -> fixture.scrape().value(CLOSES, Map.of("reason", "flooding")) == before + 1,
        TestClient.WAIT, "closes_total{reason=flooding} + 1");

    c.send("{\"type\":\"answer\",\"room\":\"p\",\"to\":\"" + b.peerId() + "\",\"data\":{}}");
    assertEquals("answer", b.next().getString("type"));
    b.assertAlive("b");
    c.assertAlive("c");
    watcher.expectNothing();
  }

  @Test
  void closesAnIdleSocketWith4000ButNotOneThatAnswersPings() {
    fixture = ServerFixture.start(Map.of("IDLE_TIMEOUT_SECONDS", "2", "PING_INTERVAL_SECONDS", "1"));
    long start = System.nanoTime();
    a = fixture.connect();
    a.join("idle");
    double before = fixture.scrape().value(CLOSES, Map.of("reason", "idle-timeout"));

    raw = fixture.connectRaw(0);
    JsonObject welcome = new JsonObject(raw.nextText(TestClient.WAIT));
    assertEquals("welcome", welcome.getString("type"));
    raw.sendText("{\"type\":\"join\",\"room\":\"idle\"}");
    long lastSent = System.nanoTime();
    assertEquals("joined", new JsonObject(raw.nextText(TestClient.WAIT)).getString("type"));
    a.next("peer-joined");

    assertEquals(4000, raw.awaitCloseFrame(Duration.ofSeconds(5)), "idle-timeout close code");
    double idleFor = (System.nanoTime() - lastSent) / 1e9;
    assertTrue(idleFor >= 1.5, "closed after only " + idleFor + " s of silence; IDLE_TIMEOUT_SECONDS is 2");
    assertTrue(raw.pingsReceived() >= 1, "the server pings every second: " + raw.pingsReceived());

    TestClient.Frame leftFrame = a.nextFrameOrNull(TestClient.WAIT);
    assertNotNull(leftFrame, "no peer-left within " + TestClient.WAIT.toSeconds()
        + " s of the idle close: the silent socket still counts as a member");
    JsonObject left = leftFrame.json();
    assertEquals("peer-left", left.getString("type"), leftFrame.text());
    assertEquals(welcome.getString("peer"), left.getString("peer"));
    assertEquals("disconnect", left.getString("reason"));
    fixture.awaitCondition(() -> fixture.scrape().value(CLOSES, Map.of("reason", "idle-timeout")) == before + 1,
        TestClient.WAIT, "closes_total{reason=idle-timeout} + 1");

    long openFor = (System.nanoTime() - start) / 1_000_000;
    if (openFor < 3500) {
      a.expectNothing(Duration.ofMillis(3500 - openFor));
    }
    a.assertOpen();
    a.assertAlive("answered-pings");
  }

  @Test
  void refusesUpgradeBeyondMaxConnectionsWith503() {
    fixture = ServerFixture.start(Map.of("MAX_CONNECTIONS", "3"));
    a = fixture.connect();
    b = fixture.connect();
    c = fixture.connect();
    double before = fixture.scrape().value(REJECTED, Map.of("reason", "capacity"));
    UpgradeRejectedException refused = assertThrows(UpgradeRejectedException.class, () -> fixture.connect());
    assertEquals(503, refused.getStatus());
    assertEquals(3, fixture.server().openConnections());
    assertEquals(before + 1, fixture.scrape().value(REJECTED, Map.of("reason", "capacity")));

    a.close();
    fixture.awaitOpenConnections(2);
    TestClient again = fixture.connect();
    again.assertAlive("room-again");
    b.assertAlive("b");
  }

  @Test
  void refusesForeignOriginsWith403AndAllowsListedOrNone() {
    fixture = ServerFixture.start(Map.of("ALLOWED_ORIGINS", "https://good.example"));
    double before = fixture.scrape().value(REJECTED, Map.of("reason", "origin"));
    for (String origin : List.of("https://evil.example", "https://good.example.evil.com", "http://good.example", "null")) {
      UpgradeRejectedException refused = assertThrows(UpgradeRejectedException.class, () -> fixture.connect(origin),
          "Origin " + origin);
      assertEquals(403, refused.getStatus(), "Origin " + origin);
    }
    assertEquals(before + 4, fixture.scrape().value(REJECTED, Map.of("reason", "origin")));
    assertEquals(0, fixture.server().openConnections());

    a = fixture.connect("https://good.example");
    b = fixture.connect();
    a.join("o");
    b.join("o");
    assertEquals(b.peerId(), a.next("peer-joined").getString("peer"));
  }

  @Test
  void closesASocketSendingAFrameOverTheHardLimitWith1009() {
    fixture = ServerFixture.start(Map.of("MAX_MESSAGE_BYTES", "4096", "MAX_FRAME_BYTES_HARD", "16384"));
    a = fixture.connect();
    watcher = fixture.connect();
    watcher.join("hf");
    a.join("hf");
    watcher.next("peer-joined");

    String huge = "{\"type\":\"signal\",\"room\":\"hf\",\"data\":\"" + "h".repeat(20_000) + "\"}";
    a.sendFrame(WebSocketFrame.textFrame(huge, true));
    assertEquals(1009, a.awaitClose(TestClient.WAIT), "frame over MAX_FRAME_BYTES_HARD");

    JsonObject left = watcher.next("peer-left");
    assertEquals(a.peerId(), left.getString("peer"));
    assertEquals("disconnect", left.getString("reason"));
    watcher.expectNothing();
  }

  @Test
  void closesSlowConsumerInsteadOfBuffering() {
    fixture = ServerFixture.start(Map.of(
        "WRITE_QUEUE_MAX_BYTES", "65536",
        "MAX_MESSAGE_BYTES", "131072",
        "RATE_LIMIT_PER_SECOND", "100000",
        "RATE_LIMIT_BURST", "100000",
        "FLOOD_CLOSE_AFTER", "100000"));
    TestClient sender = fixture.connect();
    sender.join("slow");
    raw = fixture.connectRaw(4096);
    String rawId = new JsonObject(raw.nextText(TestClient.WAIT)).getString("peer");
    raw.sendText("{\"type\":\"join\",\"room\":\"slow\"}");
    assertEquals("joined", new JsonObject(raw.nextText(TestClient.WAIT)).getString("type"));
    assertEquals(rawId, sender.next("peer-joined").getString("peer"));
    raw.pause();
    double before = fixture.scrape().value(CLOSES, Map.of("reason", "slow-consumer"));

    String message = "{\"type\":\"signal\",\"room\":\"slow\",\"to\":\"" + rawId + "\",\"data\":\"" + "z".repeat(60_000) + "\"}";
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    JsonObject notice = null;
    int sent = 0;
    while (sent < 400 && System.nanoTime() < deadline && notice == null) {
      sender.send(message);
      sent++;
      TestClient.Frame f = sender.pollNow();
      if (f != null) {
        notice = f.json();
      }
    }
    if (notice == null) {
      TestClient.Frame f = sender.nextFrameOrNull(Duration.ofSeconds(10));
      assertNotNull(f, "no peer-left within 10 s after " + sent + " messages of 60 KB to a reader that stopped; "
          + "closes_total{reason=slow-consumer} went from " + before + " to "
          + fixture.scrape().value(CLOSES, Map.of("reason", "slow-consumer")));
      notice = f.json();
    }
    assertEquals("peer-left", notice.getString("type"), "after " + sent + " messages of 60 KB: " + notice);
    assertEquals(rawId, notice.getString("peer"));
    assertEquals("disconnect", notice.getString("reason"));
    sender.assertOpen();
    // Messages sent after the close was decided are refused (peer-not-found); then a ping works.
    sender.send("{\"type\":\"ping\",\"id\":\"unaffected\"}");
    for (int i = 0; i <= sent; i++) {
      JsonObject m = sender.next();
      if ("pong".equals(m.getString("type"))) {
        break;
      }
      assertEquals("peer-not-found", m.getString("code"), "only refusals may precede the pong: " + m);
    }
    fixture.awaitCondition(() -> fixture.scrape().value(CLOSES, Map.of("reason", "slow-consumer")) == before + 1,
        TestClient.WAIT, "closes_total{reason=slow-consumer} + 1");

    raw.resume();
    assertEquals(4001, raw.awaitCloseFrame(Duration.ofSeconds(10)), "slow-consumer close code");
  }

  @Test
  void closesEverySocketWith1012OnGracefulShutdown() {
    fixture = ServerFixture.start(Map.of("SHUTDOWN_GRACE_SECONDS", "2"));
    a = fixture.connect();
    b = fixture.connect();
    a.join("bye");
    b.join("bye");
    a.next("peer-joined");

    Future<Void> closing = fixture.beginServerClose();
    assertEquals(1012, a.awaitClose(Duration.ofSeconds(5)), "service restart close code");
    assertEquals(1012, b.awaitClose(Duration.ofSeconds(5)), "service restart close code");
    Wait.await(closing, Duration.ofSeconds(10));
    assertFalse(fixture.server().ready());
    fixture.awaitCondition(() -> fixture.server().openConnections() == 0 && fixture.server().roomCount() == 0,
        TestClient.WAIT, "after a graceful close no session and no room is left (connections "
            + fixture.server().openConnections() + ", rooms " + fixture.server().roomCount() + ")");
  }
}
