package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.PeerReconnecting;
import io.switchboard.signaling.event.PeerResumed;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.Expired;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The resume methods of the Redis backplane, one by one, against a real Redis; two nodes on one
 * Redis (one key prefix) where what one node does must be seen by the other.
 */
class RedisResumeTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final long WAIT_MS = 5000;
  private static final RedisBackplane.Resume RESUME = new RedisBackplane.Resume(30_000, 1000, 1 << 20);
  private static Vertx vertx;
  private static Redis direct;

  private String prefix;
  private final List<RedisBackplane> nodes = new ArrayList<>();

  @BeforeAll
  static void vertx() {
    vertx = Vertx.vertx();
    direct = Redis.createClient(vertx, RedisFixture.shared().uri());
  }

  @AfterAll
  static void closeVertx() {
    direct.close();
    vertx.close();
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  @AfterEach
  void closeNodes() throws Exception {
    for (RedisBackplane node : nodes) {
      await(node.close());
    }
  }

  // ---- register, join, leave ----

  @Test
  void registerCreatesTheSessionOnceAndJoinAndLeaveRecordItsRooms() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    PeerId p = resumablePeer();
    RoomId room = room();
    await(a.register(p, "t1", "alice"));
    Map<String, String> session = session(p);
    assertEquals(Map.of("tok", "t1", "sub", "alice", "epoch", "1", "node", "a", "in", "0", "load", "0"), session);
    assertEquals(0L, redis("XLEN", buffer(p)).toLong(), "its buffer exists, empty");
    await(a.join(room, new Member(p, "{\"name\":\"x\"}"), 10));
    assertEquals("{\"name\":\"x\"}", session(p).get("r:" + room.value()));
    await(a.register(p, "t2", null));
    assertEquals("t1", session(p).get("tok"), "a second register changes nothing");
    await(a.leave(room, p));
    assertNull(session(p).get("r:" + room.value()));
    PeerId plain = peer();
    await(a.join(room, new Member(plain, "{}"), 10));
    assertEquals(0L, redis("EXISTS", prefix + ":resume:{" + plain.value() + "}").toLong(),
        "a join creates no session for a peer that has none");
  }

  // ---- publish ----

  @Test
  void publishNumbersPerRecipientAndDeliversToEveryNodeIncludingTheOrigin() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atA = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    RedisBackplane a = started("a", RESUME, atA);
    RedisBackplane b = started("b", RESUME, atB);
    RoomId room = room();
    PeerId pa = resumablePeer();
    PeerId pb = resumablePeer();
    PeerId plain = peer();
    await(a.register(pa, "ta", null));
    await(b.register(pb, "tb", null));
    await(a.join(room, new Member(pa, "{}"), 10));
    await(b.join(room, new Member(pb, "{}"), 10));
    await(b.join(room, new Member(plain, "{}"), 10));
    await(a.subscribe(room));
    await(b.subscribe(room));

    await(a.publish(new BackplaneMessage("a", room, null, server(room, "{\"k\":1}"))));
    for (LinkedBlockingQueue<BackplaneMessage> inbox : List.of(atA, atB)) {
      BackplaneMessage got = next(inbox);
      assertInstanceOf(ServerMessage.class, got.event());
      assertEquals(Map.of(pa, 1L, pb, 1L), got.seqs());
    }

    await(a.publish(new BackplaneMessage("a", room, null, relay(room, pa, "{\"o\":1}"))));
    for (LinkedBlockingQueue<BackplaneMessage> inbox : List.of(atA, atB)) {
      BackplaneMessage got = next(inbox);
      assertEquals(Map.of(pb, 2L), got.seqs(), "the sender is no recipient; the plain member gets no number");
      assertEquals("{\"o\":1}", text(((Relayed) got.event()).data()));
    }

    await(b.publish(new BackplaneMessage("b", room, pa, relay(room, pb, "{\"to\":1}"))));
    for (LinkedBlockingQueue<BackplaneMessage> inbox : List.of(atA, atB)) {
      BackplaneMessage got = next(inbox);
      assertEquals(pa, got.to());
      assertEquals(Map.of(pa, 2L), got.seqs());
    }

    // Nobody to number: the origin drops its own message as before, the other node gets it.
    await(a.publish(new BackplaneMessage("a", room, plain, relay(room, pa, "{}"))));
    BackplaneMessage got = next(atB);
    assertEquals(Map.of(), got.seqs());
    assertNull(atA.poll(300, TimeUnit.MILLISECONDS));
  }

  @Test
  void onlyMessagesForTheWholeRoomRunTheScript() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, atB);
    RoomId room = room();
    PeerId from = peer();
    PeerId plain = peer();
    PeerId resumable = resumablePeer();
    await(b.register(resumable, "t", null));
    for (PeerId member : List.of(from, plain, resumable)) {
      await(b.join(room, new Member(member, "{}"), 10));
    }
    await(b.subscribe(room));

    long scripts = commandCalls("evalsha");
    long publishes = commandCalls("publish");
    await(a.publish(new BackplaneMessage("a", room, plain, relay(room, from, "{}"))));
    assertEquals(Map.of(), next(atB).seqs());
    assertEquals(scripts, commandCalls("evalsha"), "a relay between peers that cannot resume is a bare PUBLISH");
    assertEquals(publishes + 1, commandCalls("publish"));

    long stores = commandCalls("xadd");
    await(a.publish(new BackplaneMessage("a", room, resumable, relay(room, from, "{}"))));
    assertEquals(Map.of(resumable, 1L), next(atB).seqs());
    assertEquals(scripts, commandCalls("evalsha"), "a relay to one resumable peer is stored with plain commands");
    assertEquals(stores + 1, commandCalls("xadd"));
    await(a.publish(new BackplaneMessage("a", room, null, relay(room, from, "{}"))));
    assertEquals(Map.of(resumable, 2L), next(atB).seqs(), "anything to the whole room is numbered");
    assertEquals(scripts + 1, commandCalls("evalsha"));
  }

  /** How many times Redis has run {@code command} since it started (INFO commandstats). */
  private long commandCalls(String command) throws Exception {
    String stats = redis("INFO", "commandstats").toString();
    for (String line : stats.split("\r?\n")) {
      if (line.startsWith("cmdstat_" + command + ":calls=")) {
        int start = line.indexOf('=') + 1;
        return Long.parseLong(line.substring(start, line.indexOf(',', start)));
      }
    }
    return 0;
  }

  @Test
  void aRelayAtOrBelowTheHighestAcceptedSenderNumberIsDroppedAndSucceeds() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atB = new LinkedBlockingQueue<>();
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, atB);
    RoomId room = room();
    PeerId pa = resumablePeer();
    PeerId pb = resumablePeer();
    await(a.register(pa, "ta", null));
    await(b.register(pb, "tb", null));
    await(a.join(room, new Member(pa, "{}"), 10));
    await(b.join(room, new Member(pb, "{}"), 10));
    await(b.subscribe(room));

    await(a.publish(numbered(room, pa, "{\"n\":1}", 1)));
    assertEquals(Map.of(pb, 1L), next(atB).seqs());
    await(a.publish(numbered(room, pa, "{\"n\":1}", 1)));
    await(a.publish(numbered(room, pa, "{\"n\":0}", 1)));
    assertNull(atB.poll(300, TimeUnit.MILLISECONDS), "a retransmission is not published");
    assertEquals(1L, redis("XLEN", buffer(pb)).toLong(), "nor stored");
    await(a.publish(numbered(room, pa, "{\"n\":2}", 2)));
    assertEquals(Map.of(pb, 2L), next(atB).seqs());
    assertEquals("2", session(pa).get("in"));
  }

  @Test
  void theBufferKeepsTheNewestEventsWithinTheCountAndByteBounds() throws Exception {
    RedisBackplane a = started("a", new RedisBackplane.Resume(30_000, 4, 1 << 20), new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    await(a.register(p, "t", null));
    await(a.join(room, new Member(p, "{}"), 10));
    for (int i = 1; i <= 6; i++) {
      await(a.publish(new BackplaneMessage("a", room, p, server(room, "{\"i\":" + i + "}"))));
    }
    assertEquals(List.of(3L, 4L, 5L, 6L), seqsOf(await(a.replay(p, 0))));
    assertBytesAccounted(p);
    assertNull(session(p).get("over"), "dropping outside a gap ends nothing");

    RedisBackplane small = started("s", new RedisBackplane.Resume(30_000, 1000, 400), new LinkedBlockingQueue<>());
    PeerId q = resumablePeer();
    await(small.register(q, "t", null));
    await(small.join(room, new Member(q, "{}"), 10));
    String data = "{\"pad\":\"" + "x".repeat(80) + "\"}";
    for (int i = 0; i < 10; i++) {
      await(small.publish(new BackplaneMessage("s", room, q, server(room, data))));
    }
    long bytes = Long.parseLong(session(q).get("load")) % (1L << 32);
    assertTrue(bytes <= 400 && bytes > 200, "bytes " + bytes);
    List<Long> kept = seqsOf(await(small.replay(q, 0)));
    assertEquals(10L, kept.get(kept.size() - 1));
    assertTrue(kept.size() < 10);
    assertBytesAccounted(q);
  }

  /**
   * A node of the release before buffers were streams, drained during an upgrade, leaves its
   * sessions in their gap under the old key names: no node of this release can resume them,
   * but they must still end, or their member entries would stay in their rooms for good.
   */
  @Test
  void aSessionLeftInItsGapByAnEarlierReleaseEndsWhenItsWindowPasses() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId old = resumablePeer();
    PeerId other = peer();
    await(a.join(room, new Member(other, "{}"), 10));
    String session = prefix + ":session:{" + old.value() + "}";
    long deadline = System.currentTimeMillis() - 1;
    redis("HSET", session, "tok", "t", "epoch", "1", "node", "gone", "seq", "2", "in", "0", "bytes", "40",
        "gap", Long.toString(deadline), "r:" + room.value(), "{}");
    redis("RPUSH", session + ":events", "1 " + room.value() + " x", "2 " + room.value() + " y");
    redis("HSET", prefix + ":{" + room.value() + "}:members", old.value(), "{\"node\":\"-\",\"seq\":9,\"meta\":{}}");
    redis("ZADD", prefix + ":gaps", Long.toString(deadline), old.value());

    assertEquals(List.of(new Expired(room, old, LeaveReason.EXPIRED)), await(a.expire(System.currentTimeMillis())));
    assertEquals(List.of(other), memberIds(a, room));
    assertEquals(0L, redis("EXISTS", session, session + ":events").toLong());
  }

  @Test
  void anOverflowInTheGapEndsTheSessionAtTheNextExpire() throws Exception {
    RedisBackplane a = started("a", new RedisBackplane.Resume(30_000, 4, 1 << 20), new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    PeerId other = peer();
    await(a.register(p, "t", null));
    await(a.join(room, new Member(p, "{}"), 10));
    await(a.join(room, new Member(other, "{}"), 10));
    assertEquals(List.of(room), await(a.suspend(p, 1, System.currentTimeMillis() + 60_000)));
    for (int i = 0; i < 4; i++) {
      await(a.publish(new BackplaneMessage("a", room, null, relay(room, other, "{}"))));
    }
    assertEquals(List.of(), await(a.expire(System.currentTimeMillis())), "full, but nothing dropped yet");
    await(a.publish(new BackplaneMessage("a", room, null, relay(room, other, "{}"))));
    assertEquals("1", session(p).get("over"));
    assertEquals(List.of(new Expired(room, p, LeaveReason.OVERFLOW)), await(a.expire(System.currentTimeMillis())));
    assertEquals(List.of(other), memberIds(a, room));
    assertEquals(0L, redis("EXISTS", prefix + ":resume:{" + p.value() + "}").toLong());
  }

  @Test
  void theSeqListIsASeventhHeaderFieldOnlyWithResumeOn() throws Exception {
    RoomId room = room();
    PeerId p = resumablePeer();
    PeerId from = peer();
    RedisBackplane on = started("on", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane off = started("off", RedisBackplane.Resume.OFF, new LinkedBlockingQueue<>());
    await(on.register(p, "t", null));
    await(on.join(room, new Member(p, "{}"), 10));
    LinkedBlockingQueue<String> heard = new LinkedBlockingQueue<>();
    Redis listening = Redis.createClient(vertx, RedisFixture.shared().uri());
    try {
      io.vertx.redis.client.RedisConnection connection = await(listening.connect());
      connection.handler(push -> {
        if (push.size() == 3 && "message".equals(push.get(0).toString())) {
          heard.add(push.get(2).toString());
        }
      });
      await(connection.send(Request.cmd(Command.SUBSCRIBE).arg(prefix + ":{" + room.value() + "}:events")));
      await(off.publish(new BackplaneMessage("off", room, null, relay(room, from, "{\"x\":1}"))));
      await(on.publish(new BackplaneMessage("on", room, null, relay(room, from, "{\"x\":1}"))));
      String plain = heard.poll(WAIT_MS, TimeUnit.MILLISECONDS);
      assertTrue(plain.matches("1 off signal " + from.value() + " - \\d+\n\\{\"x\":1}"), plain);
      String numbered = heard.poll(WAIT_MS, TimeUnit.MILLISECONDS);
      assertTrue(numbered.matches("1 on signal " + from.value() + " - \\d+ " + p.value() + ":1\n\\{\"x\":1}"),
          numbered);
    } finally {
      listening.close();
    }
  }

  // ---- ack, replay ----

  @Test
  void ackDropsWhatWasProcessedAndReplayReturnsTheRestDecoded() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    PeerId other = peer();
    await(a.register(p, "t", null));
    await(a.join(room, new Member(p, "{}"), 10));
    List<Event> events = List.of(
        relay(room, other, "{\"sdp\":\"v=0\"}"),
        new PeerJoined(room, new Member(other, "{\"name\":\"b\"}")),
        new PeerReconnecting(room, other),
        new PeerResumed(room, other),
        server(room, "{\"hello\":true}"),
        new PeerLeft(room, other, LeaveReason.EXPIRED));
    for (Event event : events) {
      await(a.publish(new BackplaneMessage("a", room, null, event)));
    }
    Relayed first = (Relayed) await(a.replay(p, 0)).get(0).message().event();
    assertEquals(RelayKind.SIGNAL, first.kind());
    assertEquals(other, first.from());
    assertEquals("{\"sdp\":\"v=0\"}", text(first.data()));
    await(a.ack(p, 2));
    assertBytesAccounted(p);
    List<Numbered> replayed = await(a.replay(p, 3));
    assertEquals(List.of(4L, 5L, 6L), seqsOf(replayed));
    assertEquals(List.of(3L, 4L, 5L, 6L), seqsOf(await(a.replay(p, 0))), "acknowledged ones are gone");
    for (int i = 0; i < replayed.size(); i++) {
      BackplaneMessage message = replayed.get(i).message();
      assertEquals(room, message.room());
      assertEquals("a", message.originNode());
      assertEquals(Map.of(p, replayed.get(i).seq()), message.seqs());
      Event expected = events.get(i + 3);
      if (expected instanceof ServerMessage s) {
        assertEquals(text(s.data()), text(((ServerMessage) message.event()).data()));
      } else {
        assertEquals(expected, message.event());
      }
    }
    await(a.ack(p, 6));
    assertEquals(List.of(), await(a.replay(p, 0)));
    assertBytesAccounted(p);
  }

  @Test
  void afterAcksTheByteBoundCountsOnlyWhatIsStillBuffered() throws Exception {
    // Acks drop entries without counting their bytes, so the session's count overstates the
    // buffer until a publish that seems to pass the bound counts again: it must then drop
    // nothing that fits.
    RedisBackplane a = started("a", new RedisBackplane.Resume(30_000, 1000, 700), new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    await(a.register(p, "t", null));
    await(a.join(room, new Member(p, "{}"), 10));
    String data = "{\"pad\":\"" + "x".repeat(100) + "\"}";
    long seq = 0;
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < 3; i++) {
        await(a.publish(new BackplaneMessage("a", room, p, server(room, data))));
        seq++;
      }
      assertEquals(List.of(seq - 2, seq - 1, seq), seqsOf(await(a.replay(p, 0))), "round " + round);
      assertBytesAccounted(p);
      await(a.ack(p, seq));
      assertEquals(List.of(), await(a.replay(p, 0)));
      assertBytesAccounted(p);
    }
    for (int i = 0; i < 10; i++) {
      await(a.publish(new BackplaneMessage("a", room, p, server(room, data))));
    }
    List<Long> kept = seqsOf(await(a.replay(p, 0)));
    assertTrue(kept.size() < 10 && kept.get(kept.size() - 1) == seq + 10, "kept " + kept);
    assertBytesAccounted(p, true);
  }

  /**
   * When a node's subscription to busy rooms comes back, each resumable session there fetches
   * what it missed at once (Hub.missedEvents): more replays in one go than the command pool's
   * queue (4,096) holds. Every one must be answered.
   */
  @Test
  void moreReplaysAtOnceThanTheCommandPoolQueuesAreAllAnswered() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    PeerId p = resumablePeer();
    await(a.register(p, "t", null));
    List<Future<List<Numbered>>> replays = new ArrayList<>();
    for (int i = 0; i < 12_000; i++) {
      replays.add(a.replay(p, 0));
    }
    int failed = 0;
    for (Future<List<Numbered>> replay : replays) {
      try {
        replay.await(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        failed++;
      }
    }
    assertEquals(0, failed, "replays that failed, of " + replays.size());
  }

  // ---- suspend, claim ----

  @Test
  void suspendKeepsTheMemberInItsRoomsOnlyForTheOwnerAtItsEpoch() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    await(a.register(p, "t", null));
    await(a.join(room, new Member(p, "{\"m\":1}"), 10));
    long deadline = System.currentTimeMillis() + 30_000;
    assertEquals(List.of(), await(a.suspend(p, 2, deadline)), "another epoch");
    assertEquals(List.of(), await(b.suspend(p, 1, deadline)), "another node");
    assertNull(session(p).get("gap"));
    assertEquals(List.of(room), await(a.suspend(p, 1, deadline)));
    assertEquals(Long.toString(deadline), session(p).get("gap"));
    assertEquals(deadline, redis("ZSCORE", prefix + ":gaps", p.value()).toLong());
    assertEquals(List.of(new JoinResult.Placed(new Member(p, "{\"m\":1}"), "-")), await(b.members(room)),
        "still a member, on no node");
    assertEquals(0L, redis("SISMEMBER", prefix + ":node:a:rooms", room.value()).toLong());
    await(a.leave(room, p));
    await(a.close());
    nodes.remove(a);
    assertEquals(List.of(p), memberIds(b, room), "neither a leave nor a close of its old node removes it");
  }

  @Test
  void claimMovesTheSessionToTheClaimingNode() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, new LinkedBlockingQueue<>());
    RoomId room = room();
    RoomId second = room();
    PeerId p = resumablePeer();
    PeerId other = peer();
    await(a.register(p, "t1", "alice"));
    await(a.join(room, new Member(p, "{\"m\":1}"), 10));
    await(a.join(second, new Member(p, "{\"m\":2}"), 10));
    await(a.join(room, new Member(other, "{}"), 10));
    for (long n = 1; n <= 7; n++) {
      await(a.publish(numbered(second, p, "{}", n)));
    }
    await(a.publish(new BackplaneMessage("a", room, null, relay(room, other, "{}"))));
    await(a.suspend(p, 1, System.currentTimeMillis() + 30_000));

    Claim claim = await(b.claim(p, "t1", "alice", 0, "t2"));
    assertEquals(2, claim.epoch());
    assertEquals(7, claim.acked());
    assertEquals(Set.of(new io.switchboard.wire.RoomMeta(room, "{\"m\":1}"), new io.switchboard.wire.RoomMeta(second, "{\"m\":2}")),
        new HashSet<>(claim.rooms()));
    Map<String, String> session = session(p);
    assertEquals("b", session.get("node"));
    assertEquals("t2", session.get("tok"));
    assertNull(session.get("gap"));
    assertNull(redis("ZSCORE", prefix + ":gaps", p.value()));
    assertEquals(List.of(new JoinResult.Placed(new Member(p, "{\"m\":1}"), "b"),
        new JoinResult.Placed(new Member(other, "{}"), "a")), await(a.members(room)), "join order kept");
    assertEquals(1L, redis("SISMEMBER", prefix + ":node:b:rooms", second.value()).toLong());
    assertEquals(List.of(1L), seqsOf(await(b.replay(p, 0))));
    assertEquals(List.of(), await(b.expire(Long.MAX_VALUE)), "no longer in a gap");
    // The new owner holds it: its leave removes it, the old owner's does not.
    await(a.leave(second, p));
    assertEquals(List.of(p), memberIds(b, second));
    await(b.leave(second, p));
    assertEquals(List.of(), memberIds(b, second));
  }

  @Test
  void claimRefusesWhatItCannotResume() throws Exception {
    RedisBackplane a = started("a", new RedisBackplane.Resume(30_000, 4, 1 << 20), new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    PeerId other = peer();
    assertRefused(ErrorCode.RESUME_EXPIRED, a.claim(p, "t", null, 0, "n"));
    await(a.register(p, "t", "alice"));
    await(a.join(room, new Member(p, "{}"), 10));
    await(a.join(room, new Member(other, "{}"), 10));
    assertRefused(ErrorCode.RESUME_REFUSED, a.claim(p, "forged", "alice", 0, "n"));
    assertRefused(ErrorCode.RESUME_REFUSED, a.claim(p, "t", null, 0, "n"));
    assertRefused(ErrorCode.RESUME_REFUSED, a.claim(p, "t", "bob", 0, "n"));
    assertRefused(ErrorCode.BAD_SEQUENCE, a.claim(p, "t", "alice", 1, "n"));
    for (int i = 0; i < 3; i++) {
      await(a.publish(new BackplaneMessage("a", room, null, relay(room, other, "{}"))));
    }
    await(a.ack(p, 2));
    assertRefused(ErrorCode.RESUME_LOST, a.claim(p, "t", "alice", 1, "n"));
    assertEquals("1", session(p).get("over"), "marked for expire");
    assertRefused(ErrorCode.RESUME_LOST, a.claim(p, "t", "alice", 3, "n"), "once lost, always lost");
    assertEquals(List.of(new Expired(room, p, LeaveReason.OVERFLOW)), await(a.expire(System.currentTimeMillis())));
    assertRefused(ErrorCode.RESUME_EXPIRED, a.claim(p, "t", "alice", 3, "n"));
  }

  @Test
  void claimFailsWithResumeLostWhenTheBufferDroppedEventsAfterTheClientsSeq() throws Exception {
    RedisBackplane a = started("a", new RedisBackplane.Resume(30_000, 4, 1 << 20), new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    PeerId other = peer();
    await(a.register(p, "t", null));
    await(a.join(room, new Member(p, "{}"), 10));
    await(a.join(room, new Member(other, "{}"), 10));
    for (int i = 0; i < 6; i++) {
      await(a.publish(new BackplaneMessage("a", room, null, relay(room, other, "{}"))));
    }
    assertRefused(ErrorCode.RESUME_LOST, a.claim(p, "t", null, 1, "n"));
    assertEquals(0L, redis("ZSCORE", prefix + ":gaps", p.value()).toLong());
  }

  @Test
  void ofTwoRacingClaimsWithOneTokenExactlyOneWins() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, new LinkedBlockingQueue<>());
    for (int round = 0; round < 20; round++) {
      PeerId p = resumablePeer();
      RoomId room = room();
      await(a.register(p, "t", null));
      await(a.join(room, new Member(p, "{}"), 10));
      await(a.suspend(p, 1, System.currentTimeMillis() + 30_000));
      Future<Claim> byA = a.claim(p, "t", null, 0, "ta");
      Future<Claim> byB = b.claim(p, "t", null, 0, "tb");
      await(Future.join(byA, byB).transform(settled -> Future.succeededFuture()));
      assertTrue(byA.succeeded() ^ byB.succeeded(), "exactly one wins");
      Future<Claim> lost = byA.succeeded() ? byB : byA;
      assertEquals(ErrorCode.RESUME_EXPIRED, ((SignalingException) lost.cause()).code());
      String winner = byA.succeeded() ? "a" : "b";
      assertEquals(winner, session(p).get("node"));
      assertEquals("t" + winner, session(p).get("tok"));
      assertEquals(List.of(new JoinResult.Placed(new Member(p, "{}"), winner)), await(a.members(room)));
    }
  }

  // ---- expire, forget ----

  @Test
  void expireEndsEachSessionOnceHoweverManyNodesRunIt() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, new LinkedBlockingQueue<>());
    RoomId room = room();
    RoomId alone = room();
    Set<Expired> expected = new HashSet<>();
    long now = System.currentTimeMillis();
    for (int i = 0; i < 30; i++) {
      PeerId p = resumablePeer();
      RedisBackplane owner = i % 2 == 0 ? a : b;
      await(owner.register(p, "t", null));
      await(owner.join(room, new Member(p, "{}"), 100));
      if (i == 0) {
        await(owner.join(alone, new Member(p, "{}"), 100));
        expected.add(new Expired(alone, p, LeaveReason.EXPIRED));
      }
      await(owner.suspend(p, 1, now - 1));
      expected.add(new Expired(room, p, LeaveReason.EXPIRED));
    }
    PeerId later = resumablePeer();
    await(a.register(later, "t", null));
    await(a.join(room, new Member(later, "{}"), 100));
    await(a.suspend(later, 1, now + 60_000));

    List<Expired> all = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      List<Future<List<Expired>>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        calls.add(a.expire(now));
        calls.add(b.expire(now));
      }
      for (Future<List<Expired>> call : calls) {
        all.addAll(await(call));
      }
    }
    assertEquals(expected.size(), all.size(), "no departure twice: " + all);
    assertEquals(expected, new HashSet<>(all));
    assertEquals(List.of(later), memberIds(a, room), "one whose deadline has not passed stays");
    assertEquals(0L, redis("EXISTS", prefix + ":{" + alone.value() + "}:seq").toLong(),
        "an emptied room's counter goes with it");
    assertEquals(1L, redis("ZCARD", prefix + ":gaps").toLong());
  }

  @Test
  void forgetDropsTheSessionOnlyAtItsEpoch() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, new LinkedBlockingQueue<>());
    RoomId room = room();
    PeerId p = resumablePeer();
    PeerId other = peer();
    await(a.register(p, "t", null));
    await(a.join(room, new Member(p, "{}"), 10));
    await(a.join(room, new Member(other, "{}"), 10));
    await(a.publish(new BackplaneMessage("a", room, null, relay(room, other, "{}"))));
    await(b.claim(p, "t", null, 0, "t2"));
    await(a.forget(p, 1));
    assertEquals("2", session(p).get("epoch"), "a claim moved it on");
    await(b.forget(p, 2));
    assertEquals(Map.of(), session(p));
    assertEquals(0L, redis("EXISTS", buffer(p)).toLong());
  }

  // ---- a node dies ----

  @Test
  void theReaperKeepsADeadNodesSessionsInTheirGapAndRemovesItsOtherMembers() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atA = new LinkedBlockingQueue<>();
    RoomId room = room();
    PeerId resumable = resumablePeer();
    PeerId plain = peer();
    PeerId watcher = resumablePeer();
    // A node that never heartbeats, known to the registry: dead as far as the reaper can tell.
    RedisBackplane dead = node("d", RESUME);
    await(dead.register(resumable, "t", null));
    await(dead.join(room, new Member(resumable, "{\"r\":1}"), 10));
    await(dead.join(room, new Member(plain, "{}"), 10));
    RedisBackplane a = started("a", RESUME, atA);
    await(a.register(watcher, "w", null));
    await(a.join(room, new Member(watcher, "{}"), 10));
    await(a.subscribe(room));
    long lastBeat = System.currentTimeMillis() - 10_000;
    redis("ZADD", prefix + ":nodes", Long.toString(lastBeat), "d");

    BackplaneMessage first = next(atA);
    BackplaneMessage second = next(atA);
    Map<Class<?>, BackplaneMessage> heard =
        Map.of(first.event().getClass(), first, second.event().getClass(), second);
    BackplaneMessage reconnecting = heard.get(PeerReconnecting.class);
    BackplaneMessage left = heard.get(PeerLeft.class);
    assertEquals(new PeerReconnecting(room, resumable), reconnecting.event());
    assertEquals("d", reconnecting.originNode());
    assertEquals(new PeerLeft(room, plain, LeaveReason.NODE_LOST), left.event());
    assertEquals(Set.of(1L, 2L), Set.of(reconnecting.seqs().get(watcher), left.seqs().get(watcher)),
        "both numbered for the watching session");

    assertEquals(List.of(new JoinResult.Placed(new Member(resumable, "{\"r\":1}"), "-"),
        new JoinResult.Placed(new Member(watcher, "{}"), "a")), await(a.members(room)));
    long deadline = lastBeat + RESUME.windowMillis();
    assertEquals(Long.toString(deadline), session(resumable).get("gap"));
    assertEquals(deadline, redis("ZSCORE", prefix + ":gaps", resumable.value()).toLong());
    assertEquals(List.of(), await(a.expire(deadline - 1)));

    Claim claim = await(a.claim(resumable, "t", null, 0, "t2"));
    assertEquals(List.of(new io.switchboard.wire.RoomMeta(room, "{\"r\":1}")), claim.rooms());
    assertEquals("a", await(a.members(room)).get(0).node());
  }

  @Test
  void theSessionsANodeOwnsOutsideAGapAreIndexedSoThatItsDeathEndsThemEvenInNoRoom() throws Exception {
    RedisBackplane a = started("a", RESUME, new LinkedBlockingQueue<>());
    RedisBackplane b = started("b", RESUME, new LinkedBlockingQueue<>());
    PeerId moved = resumablePeer();
    PeerId kept = resumablePeer();
    await(a.register(moved, "t", null));
    await(a.register(kept, "t", null));
    assertEquals(Set.of(moved.value(), kept.value()), ownedBy("a"));
    await(a.suspend(moved, 1, System.currentTimeMillis() + 30_000));
    assertEquals(Set.of(kept.value()), ownedBy("a"), "in its gap, the sorted set ends it");
    await(b.claim(moved, "t", null, 0, "t2"));
    assertEquals(Set.of(moved.value()), ownedBy("b"));
    await(b.forget(moved, 2));
    assertEquals(Set.of(), ownedBy("b"));

    // A node that stops with a session it neither suspended nor forgot stays in the registry,
    // so that the reaper deals with the session.
    await(a.close());
    nodes.remove(a);
    assertTrue(redis("ZSCORE", prefix + ":nodes", "a") != null);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
    while (session(kept).get("gap") == null) {
      assertTrue(System.nanoTime() < deadline, "b's reaper gives the dead node's session a gap");
      Thread.sleep(50);
    }
    assertEquals(Set.of(), ownedBy("a"));
    assertEquals(List.of(), await(b.expire(Long.MAX_VALUE)), "in no room: nobody to tell");
    assertEquals(Map.of(), session(kept));
    assertNull(redis("ZSCORE", prefix + ":nodes", "a"));
  }

  @Test
  void withResumeOffTheReaperRemovesEveryMemberOfADeadNode() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atA = new LinkedBlockingQueue<>();
    RoomId room = room();
    PeerId p = resumablePeer();
    RedisBackplane dead = node("d", RESUME);
    await(dead.register(p, "t", null));
    await(dead.join(room, new Member(p, "{}"), 10));
    RedisBackplane a = started("a", RedisBackplane.Resume.OFF, atA);
    await(a.join(room, new Member(peer(), "{}"), 10));
    await(a.subscribe(room));
    redis("ZADD", prefix + ":nodes", Long.toString(System.currentTimeMillis() - 10_000), "d");
    BackplaneMessage got = next(atA);
    assertEquals(new PeerLeft(room, p, LeaveReason.NODE_LOST), got.event());
    assertEquals(Map.of(), got.seqs());
  }

  @Test
  void theNodesRoomSetListsARoomFromBeforeItsFirstJoinUntilAfterItsLastLeave() throws Exception {
    RedisBackplane a = node("a", RedisBackplane.Resume.OFF);
    RoomId room = room();
    PeerId first = peer();
    PeerId second = peer();
    await(a.join(room, new Member(first, "{}"), 10));
    assertTrue(listed("a", room), "listed once the join is answered");
    await(a.join(room, new Member(second, "{}"), 10));
    await(a.leave(room, first));
    assertTrue(listed("a", room), "still holds a member there");
    await(a.leave(room, second));
    assertFalse(listed("a", room), "taken out after the last leave");

    // A join asked for while the last leave is in flight keeps the room listed, whichever of
    // the two Redis hears first.
    await(a.join(room, new Member(first, "{}"), 10));
    Future<Void> leaving = a.leave(room, first);
    Future<JoinResult> joining = a.join(room, new Member(second, "{}"), 10);
    await(leaving);
    await(joining);
    assertTrue(listed("a", room));
    Future<JoinResult> again = a.join(room, new Member(first, "{}"), 10);
    Future<Void> last = a.leave(room, second);
    Future<Void> gone = a.leave(room, first);
    await(again);
    await(last);
    await(gone);
    assertFalse(listed("a", room), "a leave right after its join still takes the room out");
  }

  @Test
  void aReapTouchesOnlyTheRoomsInTheDeadNodesSet() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atA = new LinkedBlockingQueue<>();
    RoomId listedRoom = room();
    RoomId unlistedRoom = room();
    PeerId inListed = peer();
    PeerId inUnlisted = peer();
    RedisBackplane dead = node("d", RedisBackplane.Resume.OFF);
    await(dead.join(listedRoom, new Member(inListed, "{}"), 10));
    await(dead.join(unlistedRoom, new Member(inUnlisted, "{}"), 10));
    // Were the reaper to look at every room, it would find this member too.
    redis("SREM", prefix + ":node:d:rooms", unlistedRoom.value());
    RedisBackplane a = started("a", RedisBackplane.Resume.OFF, atA);
    await(a.subscribe(listedRoom));
    await(a.subscribe(unlistedRoom));
    redis("ZADD", prefix + ":nodes", Long.toString(System.currentTimeMillis() - 10_000), "d");

    assertEquals(new PeerLeft(listedRoom, inListed, LeaveReason.NODE_LOST), next(atA).event());
    awaitBuried("d");
    assertEquals(List.of(), memberIds(a, listedRoom));
    assertEquals(List.of(inUnlisted), memberIds(a, unlistedRoom));
    assertNull(atA.poll(300, TimeUnit.MILLISECONDS));
    assertEquals(0L, redis("EXISTS", prefix + ":node:d:rooms", prefix + ":node:d:reaper").toLong());
  }

  @Test
  void aDeadNodeWhoseReaperDiedIsReapedByAnotherOnceTheLeaseRunsOut() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> atA = new LinkedBlockingQueue<>();
    RoomId room = room();
    PeerId p = peer();
    RedisBackplane dead = node("d", RedisBackplane.Resume.OFF);
    await(dead.join(room, new Member(p, "{}"), 10));
    // Another janitor took the reaping and died before it was done.
    long leaseMs = 1500;
    redis("SET", prefix + ":node:d:reaper", "gone", "PX", Long.toString(leaseMs));
    long leased = System.nanoTime();
    RedisBackplane a = started("a", RedisBackplane.Resume.OFF, atA);
    await(a.subscribe(room));
    redis("ZADD", prefix + ":nodes", Long.toString(System.currentTimeMillis() - 10_000), "d");

    assertEquals(new PeerLeft(room, p, LeaveReason.NODE_LOST), next(atA).event());
    assertTrue(System.nanoTime() - leased >= TimeUnit.MILLISECONDS.toNanos(leaseMs),
        "nobody reaps it while another janitor holds the lease");
    awaitBuried("d");
    assertNull(atA.poll(300, TimeUnit.MILLISECONDS), "announced once");
  }

  private boolean listed(String node, RoomId room) throws Exception {
    return redis("SISMEMBER", prefix + ":node:" + node + ":rooms", room.value()).toLong() == 1;
  }

  private void awaitBuried(String node) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
    while (redis("ZSCORE", prefix + ":nodes", node) != null) {
      assertTrue(System.nanoTime() < deadline, node + " leaves the registry once reaped");
      Thread.sleep(20);
    }
  }

  @Test
  void aNodeWhoseHeartbeatKeyExpiredWhileItRanHearsItMayHaveBeenDeclaredDead() throws Exception {
    java.util.concurrent.CountDownLatch declared = new java.util.concurrent.CountDownLatch(1);
    RedisBackplane a = node("a", RESUME);
    await(a.start(new IgnoringListener() {
      @Override
      public void declaredDead() {
        declared.countDown();
      }
    }));
    Thread.sleep(500); // a few heartbeats: the key exists and was refreshed
    assertFalse(declared.await(1, TimeUnit.MILLISECONDS), "a running node is not declared dead");
    redis("DEL", prefix + ":node:a"); // as if it had gone silent for longer than the node timeout
    assertTrue(declared.await(WAIT_MS, TimeUnit.MILLISECONDS));
  }

  // ---- helpers ----

  private RedisBackplane node(String id, RedisBackplane.Resume resume) {
    RedisBackplane node = new RedisBackplane(vertx, RedisTarget.standalone(RedisFixture.shared().uri()), "", prefix,
        id, 200, 1000, 2000, SignalingMetrics.NOOP, resume);
    nodes.add(node);
    return node;
  }

  private RedisBackplane started(String id, RedisBackplane.Resume resume, LinkedBlockingQueue<BackplaneMessage> inbox)
      throws Exception {
    RedisBackplane node = node(id, resume);
    await(node.start(new IgnoringListener() {
      @Override
      public void onMessage(BackplaneMessage message) {
        inbox.add(message);
      }
    }));
    return node;
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }

  private static void assertRefused(ErrorCode code, Future<?> claim) {
    assertRefused(code, claim, null);
  }

  private static void assertRefused(ErrorCode code, Future<?> claim, String why) {
    SignalingException refused = assertThrows(SignalingException.class, () -> await(claim), why);
    assertEquals(code, refused.code(), why);
  }

  private static BackplaneMessage next(LinkedBlockingQueue<BackplaneMessage> inbox) throws InterruptedException {
    BackplaneMessage message = inbox.poll(WAIT_MS, TimeUnit.MILLISECONDS);
    assertTrue(message != null, "a message within " + WAIT_MS + " ms");
    return message;
  }

  private Response redis(String command, String... args) throws Exception {
    Request request = Request.cmd(Command.create(command));
    for (String arg : args) {
      request.arg(arg);
    }
    return await(direct.send(request));
  }

  private Map<String, String> session(PeerId peer) throws Exception {
    Response all = redis("HGETALL", prefix + ":resume:{" + peer.value() + "}");
    Map<String, String> out = new HashMap<>();
    if (all.isMap()) {
      for (String key : all.getKeys()) {
        out.put(key, all.get(key).toString());
      }
    } else {
      for (int i = 0; i + 1 < all.size(); i += 2) {
        out.put(all.get(i).toString(), all.get(i + 1).toString());
      }
    }
    return out;
  }

  private Set<String> ownedBy(String node) throws Exception {
    Set<String> out = new HashSet<>();
    for (Response peer : redis("SMEMBERS", prefix + ":node:" + node + ":sessions")) {
      out.add(peer.toString());
    }
    return out;
  }

  // The load's count is the buffer's; its bytes match the entries buffered, or overstate them
  // after acks, which drop entries without counting their bytes.
  private void assertBytesAccounted(PeerId peer) throws Exception {
    assertBytesAccounted(peer, false);
  }

  private void assertBytesAccounted(PeerId peer, boolean exact) throws Exception {
    long sum = 0;
    Response entries = redis("XRANGE", buffer(peer), "-", "+");
    for (Response entry : entries) {
      sum += entry.get(1).get(1).toBuffer().length();
    }
    long load = Long.parseLong(session(peer).get("load"));
    assertEquals(entries.size(), load >> 32, "the load's count");
    long counted = load % (1L << 32);
    if (exact) {
      assertEquals(sum, counted, "the load's bytes");
    } else {
      assertTrue(counted >= sum, "bytes " + counted + " below the " + sum + " buffered");
    }
  }

  private String buffer(PeerId peer) {
    return prefix + ":resume:{" + peer.value() + "}:stream";
  }

  private static List<PeerId> memberIds(RedisBackplane node, RoomId room) throws Exception {
    return await(node.members(room)).stream().map(m -> m.member().peer()).toList();
  }

  private static List<Long> seqsOf(List<Numbered> numbered) {
    return numbered.stream().map(Numbered::seq).toList();
  }

  private static PeerId peer() {
    return PeerId.random(RANDOM);
  }

  /** An id marked resumable, as the hub gives to a session that asked to resume. */
  private static PeerId resumablePeer() {
    return PeerId.random(RANDOM, true);
  }

  private static RoomId room() {
    return new RoomId("room-" + Long.toHexString(RANDOM.nextLong()));
  }

  private static RawJson json(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    return new RawJson(bytes, 0, bytes.length);
  }

  private static String text(RawJson json) {
    return new String(json.source(), json.start(), json.length(), StandardCharsets.UTF_8);
  }

  private static Relayed relay(RoomId room, PeerId from, String data) {
    return new Relayed(RelayKind.SIGNAL, room, from, json(data));
  }

  private static ServerMessage server(RoomId room, String data) {
    return new ServerMessage(room, json(data));
  }

  private static BackplaneMessage numbered(RoomId room, PeerId from, String data, long n) {
    return new BackplaneMessage("a", room, null, relay(room, from, data), n, Map.of());
  }
}
