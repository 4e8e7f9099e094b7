package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.switchboard.support.ControllableProxy;
import io.switchboard.support.PairLoad;
import io.switchboard.support.ResumingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Tokens;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Resume on one in-process node with the default (in-memory) backplane, against
 * docs/protocol.md "Resume": a socket cut without a close frame comes back with nothing lost or
 * repeated while its peer sees it reconnect and return but never leave; and every refusal the
 * document lists, each with the socket going on as the fresh session its welcome announced.
 *
 * <p>The cut is a {@link ControllableProxy} closing the TCP connection, which is what a lost
 * network looks like to the server: no close frame. The window is short (3 s) so that a session a
 * failed test leaves in its gap cannot outlive the fixture's zero-rooms check.
 */
class ResumeTest {
  private static final Duration WAIT = TestClient.WAIT;
  private static final String WINDOW = "3";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private ServerFixture f;

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    if (f != null) {
      f.close();
    }
  }

  private ServerFixture start(Map<String, String> env) {
    f = ServerFixture.start(env);
    return f;
  }

  private ServerFixture start() {
    return start(Map.of("RESUME_WINDOW_SECONDS", WINDOW));
  }

  private ControllableProxy proxy() {
    ControllableProxy p = ControllableProxy.to("127.0.0.1", f.port());
    closeables.add(p);
    return p;
  }

  /** A plain client of {@code /ws?resume=1} on {@code port}; its welcome is left unread. */
  private TestClient open(int port, String name, String query) {
    return f.track(TestClient.open(f.webSocketClient(), TestClient.options(port, "/ws?resume=1" + query, null), name));
  }

  private TestClient resumable(int port, String name) {
    TestClient c = open(port, name, "");
    JsonObject welcome = c.welcome();
    assertNotNull(welcome.getString("resume"), name + ": welcome on /ws?resume=1 must carry a token: " + welcome);
    assertEquals(Integer.parseInt(WINDOW), welcome.getInteger("resumeWindow"), welcome.encode());
    return c;
  }

  /** Consumes the welcome and returns its resume token, which must be there. */
  /** Alice, whose session is in its gap, her resume token, and Bob, who heard she is reconnecting. */
  private record Gap(TestClient alice, String token, TestClient bob) {}

  /** Alice (resumable, behind a proxy) and Bob share "call"; then Alice's socket is cut. */
  private Gap aliceInAGap() {
    start();
    ControllableProxy proxy = proxy();
    TestClient alice = open(proxy.port(), "alice", "");
    String token = tokenOf(alice);
    alice.join("call");
    TestClient bob = resumable(f.port(), "bob");
    bob.join("call");
    proxy.cutAll();
    awaitReconnecting(bob, alice.peerId());
    return new Gap(alice, token, bob);
  }

  private static String tokenOf(TestClient c) {
    JsonObject welcome = c.welcome();
    String token = welcome.getString("resume");
    assertNotNull(token, c.name() + ": welcome on /ws?resume=1 must carry a token: " + welcome);
    return token;
  }

  private static JsonObject resume(String token, long seq, String id) {
    return new JsonObject().put("type", "resume").put("token", token).put("seq", seq).put("id", id);
  }

  private static JsonObject signal(String room, String to, int counter, long n) {
    return new JsonObject().put("type", "signal").put("room", room).put("to", to)
        .put("data", new JsonObject().put("c", counter)).put("n", n);
  }

  /** Frames of {@code c} until {@code done} holds for what was read, bounded by {@code timeout}. */
  private static List<JsonObject> readUntil(TestClient c, Predicate<List<JsonObject>> done, Duration timeout, String what) {
    List<JsonObject> read = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < 10_000 && !done.test(read); i++) {
      long left = deadline - System.nanoTime();
      TestClient.Frame frame = left <= 0 ? null : c.nextFrameOrNull(Duration.ofNanos(left));
      if (frame == null) {
        fail(c.name() + ": " + what + " not within " + timeout.toMillis() + " ms; read " + read);
      }
      read.add(frame.json());
    }
    return read;
  }

  private static boolean has(List<JsonObject> frames, String type) {
    return frames.stream().anyMatch(m -> type.equals(m.getString("type")));
  }

  private static int indexOf(List<JsonObject> frames, String type) {
    for (int i = 0; i < frames.size(); i++) {
      if (type.equals(frames.get(i).getString("type"))) {
        return i;
      }
    }
    return -1;
  }

  /** The {@code seq}s of numbered frames go up by exactly one. */
  private static void assertConsecutive(List<JsonObject> frames, String who) {
    long last = -1;
    for (JsonObject m : frames) {
      if (m.containsKey("seq")) {
        long seq = m.getLong("seq");
        if (last != -1) {
          assertEquals(last + 1, seq, who + ": seq must go up by one: " + frames);
        }
        last = seq;
      }
    }
  }

  /** Reads {@code peer}'s frames until it hears that {@code gone} is reconnecting; returns them. */
  private static List<JsonObject> awaitReconnecting(TestClient peer, String gone) {
    List<JsonObject> read = readUntil(peer, r -> has(r, "peer-reconnecting"), WAIT, "peer-reconnecting");
    JsonObject reconnecting = read.get(read.size() - 1);
    assertEquals(gone, reconnecting.getString("peer"), reconnecting.encode());
    assertTrue(reconnecting.containsKey("seq"), "peer-reconnecting is numbered: " + reconnecting);
    assertTrue(!has(read, "peer-left"), "no peer-left during a gap: " + read);
    return read;
  }

  @Test
  void aSocketCutWithoutACloseFrameResumesWithNothingLostOrRepeated() {
    start();
    ControllableProxy proxy = proxy();
    TestClient bob = resumable(f.port(), "bob");
    bob.join("call");
    ResumingClient alice = ResumingClient.connect(f.clientVertx(), f.webSocketClient(), proxy.port(), "alice",
        new ResumingClient.Options().reconnect(false));
    closeables.add(alice);
    alice.join("call");
    String a = alice.peer();
    JsonObject joined = bob.next("peer-joined");
    assertEquals(a, joined.getString("peer"));
    assertEquals(1L, joined.getLong("seq"), "the first numbered event of a session is seq 1: " + joined);

    for (int c = 1; c <= 3; c++) {
      bob.sendJson(signal("call", a, c, c));
    }
    f.awaitCondition(() -> alice.events().size() == 3, WAIT, "alice processed bob's first three signals");
    alice.relay("signal", "call", bob.peerId(), new JsonObject().put("c", 1));
    JsonObject first = bob.next("signal");
    assertEquals(1, first.getJsonObject("data").getInteger("c"));
    f.awaitCondition(() -> alice.unackedRelays() == 0, WAIT, "alice's relay 1 acknowledged by a pong's acked");

    long cut = System.nanoTime();
    proxy.cutAll();
    f.awaitCondition(() -> alice.state() == ResumingClient.State.GAP, WAIT, "alice saw her socket drop");
    List<JsonObject> gap = awaitReconnecting(bob, a);
    System.out.printf("resume: bob heard peer-reconnecting %d ms after the cut%n", (System.nanoTime() - cut) / 1_000_000);
    // In the gap: relays to alice are kept for her; hers wait in her client.
    for (int c = 4; c <= 8; c++) {
      bob.sendJson(signal("call", a, c, c));
    }
    alice.relay("signal", "call", bob.peerId(), new JsonObject().put("c", 2));
    bob.expectNothing();

    CompletableFuture<JsonObject> outcome = alice.resumeOn(proxy.port());
    JsonObject resumed = alice.awaitResume(outcome, WAIT);
    assertEquals("resumed", resumed.getString("type"), resumed.encode());
    assertEquals(a, resumed.getString("peer"));
    assertEquals(1L, resumed.getLong("acked"), "acked is the highest n accepted: " + resumed);
    JsonArray rooms = resumed.getJsonArray("rooms");
    assertEquals(1, rooms.size(), resumed.encode());
    assertEquals("call", rooms.getJsonObject(0).getString("room"));

    f.awaitCondition(() -> alice.events().size() == 8, WAIT, "alice processed all eight signals");
    List<Integer> counters = new ArrayList<>();
    for (ResumingClient.Received r : alice.events()) {
      assertEquals("signal", r.type(), r.json().encode());
      assertEquals(bob.peerId(), r.json().getString("from"));
      counters.add(r.json().getJsonObject("data").getInteger("c"));
    }
    assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8), counters, "in order, each once");
    assertEquals(0, alice.repeatedSeqs(), "nothing replayed twice: " + alice.frames());
    assertEquals(List.of(), alice.anomalies());
    // 4..8 came on the second connection, after resumed.
    List<ResumingClient.Received> frames = alice.frames();
    int resumedAt = -1;
    for (int i = 0; i < frames.size(); i++) {
      if ("resumed".equals(frames.get(i).type())) {
        resumedAt = i;
      }
    }
    for (int i = 0; i < frames.size(); i++) {
      JsonObject m = frames.get(i).json();
      if ("signal".equals(m.getString("type")) && m.getJsonObject("data").getInteger("c") >= 4) {
        assertTrue(i > resumedAt, "replay comes after resumed: " + frames);
      }
    }

    List<JsonObject> back = readUntil(bob, r -> has(r, "peer-resumed") && has(r, "signal"), WAIT,
        "peer-resumed and alice's relay from the gap");
    bob.expectNothing();
    assertEquals(a, back.get(indexOf(back, "peer-resumed")).getString("peer"));
    assertEquals(2, back.get(indexOf(back, "signal")).getJsonObject("data").getInteger("c"));
    assertEquals(1, back.stream().filter(m -> "signal".equals(m.getString("type"))).count(), "once: " + back);
    assertTrue(!has(back, "peer-left"), back.toString());
    List<JsonObject> all = new ArrayList<>(List.of(joined, first));
    all.addAll(gap);
    all.addAll(back);
    assertConsecutive(all, "bob");
    bob.assertAlive("after");
    alice.close();
  }

  @Test
  void pairsUnderLoadThroughRepeatedCutsLoseNothingAndRepeatNothing() throws Exception {
    start();
    // The a peers reach the node through one proxy, the b peers through another; cutting one
    // drops one side of every pair at once, and the client reconnects through the same proxy.
    ControllableProxy left = proxy();
    ControllableProxy right = proxy();
    PairLoad load = new PairLoad();
    List<ResumingClient> clients = new ArrayList<>();
    for (int k = 0; k < 10; k++) {
      ResumingClient a = ResumingClient.connect(f.clientVertx(), f.webSocketClient(), left.port(), "a" + k,
          new ResumingClient.Options());
      ResumingClient b = ResumingClient.connect(f.clientVertx(), f.webSocketClient(), right.port(), "b" + k,
          new ResumingClient.Options());
      closeables.add(a);
      closeables.add(b);
      clients.add(a);
      clients.add(b);
      a.join("pair-" + k);
      b.join("pair-" + k);
      load.add("pair-" + k, a, b);
    }
    f.awaitCondition(load::allIntroduced, WAIT, "every a heard its b join");
    load.start(f.clientVertx(), 20);
    for (int cut = 0; cut < 4; cut++) {
      Thread.sleep(400);
      (cut % 2 == 0 ? left : right).cutAll();
      f.awaitCondition(() -> clients.stream().allMatch(c -> c.state() == ResumingClient.State.LIVE), WAIT,
          "every client live again after cut " + cut);
    }
    Thread.sleep(400);
    load.stop();
    boolean delivered = load.awaitDelivery(WAIT);
    PairLoad.Verdict verdict = load.judge(clients, m -> false);
    System.out.println("resume: 10 pairs through 4 cuts: " + verdict.summary());
    assertTrue(delivered && verdict.broken().isEmpty(), verdict.firstBroken(20));
    for (ResumingClient c : clients) {
      assertEquals(2, c.dropsAt().size(), c + " was cut twice");
      assertEquals(2, c.resumedAt().size(), c + " resumed twice");
    }
  }

  @Test
  void aForgedTokenIsRefusedAndTheSocketGoesOnAsAFreshSession() {
    start();
    TestClient alice = open(f.port(), "alice", "");
    String token = tokenOf(alice);
    alice.join("call");
    String a = token.substring(0, token.indexOf('.'));
    assertEquals(alice.peerId(), a, "the token is the peer id, a dot and the secret: " + token);
    byte[] secret = new byte[32];
    RANDOM.nextBytes(secret);
    String forged = a + "." + Tokens.b64(secret);

    TestClient mallory = resumable(f.port(), "mallory");
    mallory.sendJson(resume(forged, 0, "r"));
    JsonObject refused = mallory.next("error");
    assertEquals("resume-refused", refused.getString("code"), refused.encode());
    assertEquals("r", refused.getString("id"));
    JsonObject joined = mallory.join("elsewhere");
    assertEquals(mallory.peerId(), joined.getString("peer"), "the fresh session of the welcome");
    alice.assertAlive("untouched");
  }

  @Test
  void aSessionEndedByACleanCloseIsExpired() {
    start();
    TestClient alice = open(f.port(), "alice", "");
    String token = tokenOf(alice);
    alice.join("call");
    alice.close();
    f.awaitOpenConnections(0);

    TestClient late = resumable(f.port(), "late");
    late.sendJson(resume(token, 0, "r"));
    JsonObject expired = late.next("error");
    assertEquals("resume-expired", expired.getString("code"), expired.encode());
    late.assertAlive("fresh");
  }

  @Test
  void aSeqAboveTheLastNumberedIsABadSequenceAndLeavesTheSessionResumable() {
    start();
    ControllableProxy proxy = proxy();
    TestClient alice = open(proxy.port(), "alice", "");
    String token = tokenOf(alice);
    alice.join("call");
    TestClient bob = resumable(f.port(), "bob");
    bob.join("call");
    assertEquals(1L, alice.next("peer-joined").getLong("seq"));
    proxy.cutAll();
    awaitReconnecting(bob, alice.peerId());

    TestClient ahead = resumable(f.port(), "ahead");
    ahead.sendJson(resume(token, 2, "r"));
    JsonObject bad = ahead.next("error");
    assertEquals("bad-sequence", bad.getString("code"), bad.encode());
    ahead.assertAlive("fresh");

    TestClient back = resumable(f.port(), "back");
    back.sendJson(resume(token, 1, "r"));
    JsonObject resumed = back.next("resumed");
    assertEquals(alice.peerId(), resumed.getString("peer"));
    back.expectNothing();
    back.close();
  }

  @Test
  void resumeAfterAnotherMessageIsABadMessageAndLeavesTheSessionResumable() {
    Gap gap = aliceInAGap();
    TestClient alice = gap.alice();
    String token = gap.token();

    TestClient second = resumable(f.port(), "second");
    second.assertAlive("first");
    second.sendJson(resume(token, 0, "r"));
    JsonObject bad = second.next("error");
    assertEquals("bad-message", bad.getString("code"), bad.encode());
    second.assertAlive("fresh");

    TestClient back = resumable(f.port(), "back");
    back.sendJson(resume(token, 0, "r"));
    assertEquals(alice.peerId(), back.next("resumed").getString("peer"));
    back.close();
  }

  @Test
  void withAuthenticationATokenOfAnotherSubIsRefused() {
    String secret = "0123456789abcdef0123456789abcdef-resume";
    start(Map.of("RESUME_WINDOW_SECONDS", WINDOW, "AUTH_JWT_SECRET", secret));
    byte[] key = secret.getBytes(StandardCharsets.UTF_8);
    String aliceJwt = Tokens.hs256(key, new JsonObject().put("sub", "alice").put("exp", Tokens.now() + 600));
    String malloryJwt = Tokens.hs256(key, new JsonObject().put("sub", "mallory").put("exp", Tokens.now() + 600));
    ControllableProxy proxy = proxy();
    TestClient alice = open(proxy.port(), "alice", "&access_token=" + aliceJwt);
    String token = tokenOf(alice);
    alice.join("call");
    TestClient bob = open(f.port(), "bob", "&access_token=" + malloryJwt);
    bob.welcome();
    bob.join("call");
    proxy.cutAll();
    awaitReconnecting(bob, alice.peerId());

    TestClient mallory = open(f.port(), "mallory", "&access_token=" + malloryJwt);
    mallory.welcome();
    mallory.sendJson(resume(token, 0, "r"));
    JsonObject refused = mallory.next("error");
    assertEquals("resume-refused", refused.getString("code"), refused.encode());
    assertEquals(mallory.peerId(), mallory.join("other").getString("peer"));

    TestClient back = open(f.port(), "back", "&access_token=" + aliceJwt);
    back.welcome();
    back.sendJson(resume(token, 0, "r"));
    assertEquals(alice.peerId(), back.next("resumed").getString("peer"), "the right sub still resumes");
    back.close();
  }

  @Test
  void twoRacingResumesOfOneSessionGiveExactlyOneResumed() {
    Gap gap = aliceInAGap();
    TestClient bob = gap.bob();
    String token = gap.token();

    TestClient one = resumable(f.port(), "one");
    TestClient two = resumable(f.port(), "two");
    String text = resume(token, 0, "r").encode();
    one.sendNoWait(text);
    two.sendNoWait(text);
    JsonObject first = one.next();
    JsonObject second = two.next();
    System.out.println("resume race: one got " + first.encode() + ", two got " + second.encode());
    List<JsonObject> replies = List.of(first, second);
    assertEquals(1, replies.stream().filter(m -> "resumed".equals(m.getString("type"))).count(), replies.toString());
    JsonObject loser = "resumed".equals(first.getString("type")) ? second : first;
    TestClient loserSocket = loser == first ? one : two;
    TestClient winner = loser == first ? two : one;
    assertEquals("error", loser.getString("type"), loser.encode());
    assertEquals("resume-expired", loser.getString("code"), loser.encode());
    loserSocket.assertAlive("fresh");
    // The winner presented seq 0, so alice's one unprocessed event, bob's join, comes again.
    JsonObject replayed = winner.next("peer-joined");
    assertEquals(bob.peerId(), replayed.getString("peer"));
    assertEquals(1L, replayed.getLong("seq"));
    winner.assertAlive("won");
    List<JsonObject> back = readUntil(bob, r -> has(r, "peer-resumed"), WAIT, "peer-resumed");
    bob.expectNothing();
    assertEquals(1, back.stream().filter(m -> "peer-resumed".equals(m.getString("type"))).count(), back.toString());
    winner.close();
  }

  @Test
  void whenTheWindowPassesThePeerHearsPeerLeftExpired() {
    start(Map.of("RESUME_WINDOW_SECONDS", "1"));
    ControllableProxy proxy = proxy();
    TestClient alice = open(proxy.port(), "alice", "");
    String token = tokenOf(alice);
    alice.join("call");
    TestClient bob = open(f.port(), "bob", "");
    bob.welcome();
    bob.join("call");
    long cut = System.nanoTime();
    proxy.cutAll();
    awaitReconnecting(bob, alice.peerId());

    List<JsonObject> read = readUntil(bob, r -> has(r, "peer-left"), Duration.ofSeconds(4), "peer-left");
    long took = (System.nanoTime() - cut) / 1_000_000;
    JsonObject left = read.get(read.size() - 1);
    System.out.printf("resume: peer-left expired %d ms after the cut (window 1 s)%n", took);
    assertEquals(alice.peerId(), left.getString("peer"));
    assertEquals("expired", left.getString("reason"), left.encode());
    assertTrue(left.containsKey("seq"), left.encode());
    // Within a second of the window's end, plus the time the server took to see the cut.
    assertTrue(took <= 2_500, "peer-left came " + took + " ms after the cut");

    TestClient late = open(f.port(), "late", "");
    late.welcome();
    late.sendJson(resume(token, 0, "r"));
    assertEquals("resume-expired", late.next("error").getString("code"));
  }
}
