package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertThrows;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.signaling.port.Expired;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.wire.LeaveReason;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The contract of resumable sessions (docs/protocol.md, "Resume"), for every backplane that
 * supports them, on top of the {@link BackplaneContractTest} every backplane meets.
 */
public abstract class ResumeContractTest extends BackplaneContractTest {
  protected static final int DEFAULT_BUFFERED_EVENTS = 1000;

  protected static final String TOKEN = "a".repeat(64);
  private static final String NEXT_TOKEN = "b".repeat(64);

  private static long far() {
    return System.currentTimeMillis() + 60_000;
  }

  private static BackplaneMessage nextFor(LinkedBlockingQueue<BackplaneMessage> inbox, PeerId peer) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      BackplaneMessage m = inbox.poll(50, TimeUnit.MILLISECONDS);
      if (m != null && m.seqs().containsKey(peer)) {
        return m;
      }
    }
    throw new AssertionError("no numbered message for " + peer);
  }

  /** A member that is a resumable session (token {@link #TOKEN}), in {@code room} on {@code node}. */
  private static Member resumableMember(Backplane node, RoomId room, String subject) throws Exception {
    Member peer = session();
    await(node.register(peer.peer(), TOKEN, subject));
    await(node.join(room, peer, 10));
    return peer;
  }

  private static SignalingException refusal(Future<?> future) {
    Exception e = assertThrows(Exception.class, () -> await(future));
    assertTrue(e instanceof SignalingException, "a refusal, not " + e);
    return (SignalingException) e;
  }

  @Test
  void eventsToASessionAreNumberedStoredAndDeliveredToEveryNodeOriginIncluded() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxA = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", inboxA);
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    Member sender = session();
    Member resumable = session();
    Member plain = member();
    await(a.subscribe(room));
    await(b.subscribe(room));
    await(a.join(room, sender, 10));
    await(b.register(resumable.peer(), TOKEN, null));
    await(b.join(room, resumable, 10));
    await(b.join(room, plain, 10));
    for (int i = 1; i <= 3; i++) {
      await(a.publish(new BackplaneMessage("a", room, null, relayed(room, sender.peer(), "" + i))));
      BackplaneMessage atB = nextFor(inboxB, resumable.peer());
      assertEquals(Map.of(resumable.peer(), (long) i), atB.seqs(), "only the session is numbered");
      assertEquals("" + i, ((Relayed) atB.event()).data().toString());
      assertEquals(Map.of(resumable.peer(), (long) i), nextFor(inboxA, resumable.peer()).seqs());
    }
    List<Numbered> stored = await(b.replay(resumable.peer(), 1));
    assertEquals(List.of(2L, 3L), stored.stream().map(Numbered::seq).toList());
    assertEquals("3", ((Relayed) stored.get(1).message().event()).data().toString());
    await(a.ack(resumable.peer(), 2));
    assertEquals(List.of(3L), await(a.replay(resumable.peer(), 0)).stream().map(Numbered::seq).toList());
  }

  /** Two resumable sessions in one room: {@code sender} on one node, {@code receiver} on another. */
  protected record SessionPair(RoomId room, Member sender, Member receiver) {}

  /** A fresh room that {@code at} listens to, with a resumable session on {@code from} and one on {@code at}. */
  protected SessionPair sessionPair(Backplane from, Backplane at) throws Exception {
    RoomId room = freshRoom();
    Member sender = session();
    Member receiver = session();
    await(at.subscribe(room));
    await(from.register(sender.peer(), TOKEN, null));
    await(from.join(room, sender, 10));
    await(at.register(receiver.peer(), TOKEN, null));
    await(at.join(room, receiver, 10));
    return new SessionPair(room, sender, receiver);
  }

  @Test
  void aRetransmittedRelayIsDroppedByItsNumber() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    SessionPair pair = sessionPair(a, b);
    RoomId room = pair.room();
    Member sender = pair.sender();
    Member receiver = pair.receiver();
    for (long n : new long[] {1, 1, 2, 1}) {
      await(a.publish(new BackplaneMessage("a", room, receiver.peer(), relayed(room, sender.peer(), "" + n), n,
          Map.of())));
    }
    assertEquals("1", ((Relayed) nextFor(inboxB, receiver.peer()).event()).data().toString());
    assertEquals("2", ((Relayed) nextFor(inboxB, receiver.peer()).event()).data().toString());
    assertEquals(List.of(1L, 2L), await(b.replay(receiver.peer(), 0)).stream().map(Numbered::seq).toList());
  }

  /**
   * A sender's relays accepted on one node, its session resumed on another, and the last of them
   * sent again there (its acceptance never reached the client): stored once, and the next one
   * after it.
   */
  @Test
  void aRelaySentAgainAfterItsSenderResumedOnAnotherNodeIsDropped() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    Backplane c = started("c", new LinkedBlockingQueue<>());
    SessionPair pair = sessionPair(a, b);
    RoomId room = pair.room();
    PeerId sender = pair.sender().peer();
    PeerId receiver = pair.receiver().peer();
    for (long n = 1; n <= 2; n++) {
      await(a.publish(new BackplaneMessage("a", room, receiver, relayed(room, sender, "" + n), n, Map.of())));
    }
    await(a.suspend(sender, 1, far()));
    assertEquals(2, await(c.claim(sender, TOKEN, null, 0, NEXT_TOKEN)).acked(), "what the session accepted");
    for (long n = 2; n <= 3; n++) {
      await(c.publish(new BackplaneMessage("c", room, receiver, relayed(room, sender, "" + n), n, Map.of())));
    }
    List<String> stored = new ArrayList<>();
    for (Numbered numbered : await(b.replay(receiver, 0))) {
      stored.add(((Relayed) numbered.message().event()).data().toString());
    }
    assertEquals(List.of("1", "2", "3"), stored);
  }

  @Test
  void aSuspendedSessionStaysAMemberAndIsClaimedByAnotherNode() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member peer = new Member(PeerId.random(RANDOM, true), "{\"name\":\"p\"}");
    await(b.register(peer.peer(), TOKEN, "alice"));
    await(b.join(room, peer, 10));
    assertEquals(List.of(room), await(b.suspend(peer.peer(), 1, far())));
    await(b.close());
    nodes.remove(b);
    assertEquals(List.of(peer), members(a, room), "a closed node does not take a member in its gap along");
    Claim claim = await(a.claim(peer.peer(), TOKEN, "alice", 0, NEXT_TOKEN));
    assertEquals(2, claim.epoch());
    assertEquals(List.of(new io.switchboard.wire.RoomMeta(room, "{\"name\":\"p\"}")), claim.rooms());
    assertTrue(claim.gapSinceMillis() > 0, "it was in its gap");
    assertEquals(List.of(new JoinResult.Placed(peer, "a")), await(a.members(room)));
    assertEquals(List.of(), await(a.suspend(peer.peer(), 1, far())), "an old epoch suspends nothing");
    assertEquals(ErrorCode.RESUME_EXPIRED, refusal(a.claim(peer.peer(), TOKEN, "alice", 0, TOKEN)).code(),
        "a used token");
    assertEquals(2, await(a.claim(peer.peer(), NEXT_TOKEN, "alice", 0, TOKEN)).epoch() - 1);
  }

  @Test
  void aClaimIsRefusedForEachBadInput() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member peer = resumableMember(a, room, "alice");
    Member sender = session();
    await(a.join(room, sender, 10));
    await(a.publish(new BackplaneMessage("a", room, null, relayed(room, sender.peer(), "1"))));
    assertEquals(ErrorCode.RESUME_EXPIRED, refusal(a.claim(PeerId.random(RANDOM), TOKEN, "alice", 0, NEXT_TOKEN)).code());
    assertEquals(ErrorCode.RESUME_REFUSED, refusal(a.claim(peer.peer(), NEXT_TOKEN, "alice", 0, NEXT_TOKEN)).code());
    assertEquals(ErrorCode.RESUME_REFUSED, refusal(a.claim(peer.peer(), TOKEN, "mallory", 0, NEXT_TOKEN)).code());
    assertEquals(ErrorCode.RESUME_REFUSED, refusal(a.claim(peer.peer(), TOKEN, null, 0, NEXT_TOKEN)).code());
    assertEquals(ErrorCode.BAD_SEQUENCE, refusal(a.claim(peer.peer(), TOKEN, "alice", 2, NEXT_TOKEN)).code());
    assertEquals(1, await(a.claim(peer.peer(), TOKEN, "alice", 1, NEXT_TOKEN)).rooms().size());
  }

  @Test
  void ofTwoRacingClaimsExactlyOneWins() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member peer = resumableMember(a, room, null);
    await(a.suspend(peer.peer(), 1, far()));
    Future<Claim> first = a.claim(peer.peer(), TOKEN, null, 0, NEXT_TOKEN);
    Future<Claim> second = b.claim(peer.peer(), TOKEN, null, 0, "c".repeat(64));
    int won = 0;
    for (Future<Claim> claim : List.of(first, second)) {
      try {
        await(claim);
        won++;
      } catch (SignalingException lost) {
        assertEquals(ErrorCode.RESUME_EXPIRED, lost.code());
      }
    }
    assertEquals(1, won);
  }

  @Test
  void aGapThatPassesEndsTheSessionOnceClusterWide() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member peer = session();
    Member other = member();
    await(a.register(peer.peer(), TOKEN, null));
    await(a.join(room, peer, 10));
    await(b.join(room, other, 10));
    await(a.suspend(peer.peer(), 1, System.currentTimeMillis() - 1));
    long now = System.currentTimeMillis();
    List<Expired> ended = new ArrayList<>(await(a.expire(now)));
    ended.addAll(await(b.expire(now)));
    assertEquals(List.of(new Expired(room, peer.peer(), LeaveReason.EXPIRED)), ended);
    assertEquals(List.of(other), members(a, room));
    assertEquals(ErrorCode.RESUME_EXPIRED, refusal(a.claim(peer.peer(), TOKEN, null, 0, NEXT_TOKEN)).code());
  }

  @Test
  void aSessionThatOverflowsInItsGapEnds() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member peer = resumableMember(a, room, null);
    Member sender = session();
    await(a.join(room, sender, 10));
    await(a.suspend(peer.peer(), 1, far()));
    List<Future<Void>> sent = new ArrayList<>();
    for (int i = 0; i <= DEFAULT_BUFFERED_EVENTS; i++) {
      sent.add(a.publish(new BackplaneMessage("a", room, peer.peer(), relayed(room, sender.peer(), "" + i))));
    }
    await(Future.all(sent));
    assertEquals(ErrorCode.RESUME_LOST, refusal(a.claim(peer.peer(), TOKEN, null, 0, NEXT_TOKEN)).code());
    assertEquals(List.of(new Expired(room, peer.peer(), LeaveReason.OVERFLOW)), await(a.expire(System.currentTimeMillis())));
  }

  @Test
  void aResumeThatNeedsDroppedEventsIsLost() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member peer = resumableMember(a, room, null);
    Member sender = session();
    await(a.join(room, sender, 10));
    for (int i = 0; i < 3; i++) {
      await(a.publish(new BackplaneMessage("a", room, peer.peer(), relayed(room, sender.peer(), "" + i))));
    }
    await(a.ack(peer.peer(), 2));
    assertEquals(ErrorCode.RESUME_LOST, refusal(a.claim(peer.peer(), TOKEN, null, 1, NEXT_TOKEN)).code());
  }

  @Test
  void aForgottenSessionCannotBeResumed() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member peer = resumableMember(a, room, null);
    await(a.forget(peer.peer(), 1));
    assertEquals(ErrorCode.RESUME_EXPIRED, refusal(a.claim(peer.peer(), TOKEN, null, 0, NEXT_TOKEN)).code());
  }

  /** The buffer bound every backplane of these tests is made with (RESUME_BUFFER_MAX_EVENTS). */
}
