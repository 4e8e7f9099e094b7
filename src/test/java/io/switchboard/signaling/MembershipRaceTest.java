package io.switchboard.signaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.signaling.HubAcrossNodesTest.Recorder;
import io.switchboard.signaling.command.Deliver;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Leave;
import io.switchboard.signaling.command.Relay;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Welcome;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ScriptedBackplane;
import io.switchboard.support.ScriptedBackplane.Op;
import io.switchboard.support.ScriptedBackplane.Step;
import io.switchboard.wire.ClientRequestId;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The interleavings of joins, leaves, closes and backplane replies that used to lose or invent
 * membership, each played out step by step on a {@link ScriptedBackplane}: the test decides when
 * each backplane operation takes effect, when the hub hears its answer, and when a node hears
 * what another published. No sleeps; each case is the same every run.
 */
class MembershipRaceTest {
  private static final Limits LIMITS = new Limits(4, 8, 1000, 1000, 100);
  private static final RoomId ROOM = new RoomId("race");

  private final AtomicInteger repairs = new AtomicInteger();
  private final SignalingMetrics metrics = countingRepairs(repairs);

  private Hub node(ScriptedBackplane backplane, String id) {
    Hub hub = new Hub(backplane, LIMITS, metrics, id);
    backplane.start(hub);
    return hub;
  }

  private static Session open(Hub hub, Recorder out) {
    return hub.open(out, System.nanoTime(), Identity.ANONYMOUS);
  }

  private static Join join(String id) {
    return new Join(ROOM, null, new ClientRequestId(id));
  }

  private static RawJson data(String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    return new RawJson(bytes, 0, bytes.length);
  }

  /** The events a client saw after its welcome, by kind and in order. */
  private static List<String> kinds(Recorder out) {
    return out.events.stream().filter(e -> !(e instanceof Welcome)).map(MembershipRaceTest::describe).toList();
  }

  private static String describe(Event e) {
    if (e instanceof PeerJoined j) {
      return "peer-joined " + j.member().peer();
    }
    if (e instanceof PeerLeft l) {
      return "peer-left " + l.peer();
    }
    if (e instanceof ErrorReply r) {
      return "error " + r.code().wire();
    }
    return e.getClass().getSimpleName().toLowerCase();
  }

  // 1. A member that leaves while another node is joining the same room must not come back
  //    from the roster that join read before the leave.
  @Test
  void aMemberThatLeavesDuringAnotherNodesJoinStaysGone() {
    ScriptedBackplane backplaneA = ScriptedBackplane.first("a");
    ScriptedBackplane backplaneB = ScriptedBackplane.sharing(backplaneA, "b", Op.JOIN);
    Hub a = node(backplaneA, "a");
    Hub b = node(backplaneB, "b");
    Recorder rx = new Recorder();
    Recorder rb1 = new Recorder();
    Recorder rb2 = new Recorder();

    Session x = open(a, rx);
    a.handle(x, join("x"));
    Session b1 = open(b, rb1);
    b.handle(b1, join("b1"));
    backplaneB.next(Op.JOIN).answer();
    backplaneA.deliver();

    Session b2 = open(b, rb2);
    b.handle(b2, join("b2"));
    Step b2Join = backplaneB.next(Op.JOIN).run(); // its roster still lists x
    a.handle(x, new Leave(ROOM, null));
    assertEquals(1, backplaneB.deliver(), "x's peer-left reaches node b");
    b2Join.answer();

    assertEquals(List.of("joined", "peer-left " + x.peer(), "peer-joined " + b2.peer()), kinds(rb1),
        "b1 must not hear x come back");
    Joined joined = rb2.all(Joined.class).get(0);
    assertEquals(List.of(b1.peer()), joined.peers().stream().map(Member::peer).toList(), "b2's roster");
    b.handle(b2, new Relay(RelayKind.OFFER, ROOM, x.peer(), data("{}"), null));
    assertEquals(ErrorCode.PEER_NOT_FOUND, rb2.all(ErrorReply.class).get(0).code(), "x is gone for node b");
  }

  // 2. A socket that closes while its join is in flight is a member in the backplane, and other
  //    nodes may have read it in a roster: it must leave like any member, announced.
  @Test
  void aSocketClosedDuringItsJoinIsAnnouncedGone() {
    ScriptedBackplane backplaneA = ScriptedBackplane.first("a");
    ScriptedBackplane backplaneB = ScriptedBackplane.sharing(backplaneA, "b", Op.JOIN);
    Hub a = node(backplaneA, "a");
    Hub b = node(backplaneB, "b");
    Recorder ra1 = new Recorder();
    Recorder ra2 = new Recorder();
    Recorder rb = new Recorder();

    Session a1 = open(a, ra1);
    a.handle(a1, join("a1"));
    Session gone = open(b, rb);
    b.handle(gone, join("gone"));
    Step goneJoin = backplaneB.next(Op.JOIN).run();
    Session a2 = open(a, ra2);
    a.handle(a2, join("a2")); // reads a roster that lists the joiner on node b
    assertTrue(kinds(ra1).contains("peer-joined " + gone.peer()));

    b.close(gone);
    goneJoin.answer();
    backplaneA.deliver();

    assertEquals("peer-left " + gone.peer(), kinds(ra2).get(kinds(ra2).size() - 1));
    assertTrue(kinds(ra1).contains("peer-left " + gone.peer()));
    a.handle(a2, new Relay(RelayKind.OFFER, ROOM, gone.peer(), data("{}"), null));
    assertEquals(ErrorCode.PEER_NOT_FOUND, ra2.all(ErrorReply.class).get(0).code());
    assertEquals(0, b.roomSlots(), "node b keeps nothing of the room");
  }

  // 5a. join and leave sent back to back: the leave waits for the join.
  @Test
  void aLeaveSentDuringItsJoinTakesEffectAfterIt() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.JOIN);
    Hub hub = node(backplane, "a");
    Recorder out = new Recorder();
    Session s = open(hub, out);

    hub.handle(s, join("1"));
    hub.handle(s, new Leave(ROOM, new ClientRequestId("2")));
    assertEquals(List.of(), kinds(out), "nothing happens before the join's answer");
    backplane.next(Op.JOIN).answer();

    assertEquals(List.of("joined", "left"), kinds(out));
    assertFalse(s.inRoom(ROOM));
    assertEquals(0, hub.roomSlots());
    assertEquals(0, hub.roomCount());
  }

  // 5b. join then signal: the signal reaches the room after the joined, never an error first.
  @Test
  void aSignalSentDuringItsJoinIsRelayedAfterIt() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.JOIN);
    Hub hub = node(backplane, "a");
    Recorder first = new Recorder();
    Recorder late = new Recorder();
    Session s1 = open(hub, first);
    hub.handle(s1, join("1"));
    backplane.next(Op.JOIN).answer();

    Session s2 = open(hub, late);
    hub.handle(s2, join("2"));
    hub.handle(s2, new Relay(RelayKind.SIGNAL, ROOM, null, data("{\"n\":1}"), new ClientRequestId("3")));
    backplane.next(Op.JOIN).answer();

    assertEquals(List.of("joined"), kinds(late));
    assertEquals(List.of("joined", "peer-joined " + s2.peer(), "relayed"), kinds(first));
  }

  // 5c. join, signal and leave back to back with the other member on another node.
  @Test
  void joinSignalLeaveKeepTheirOrderAcrossNodes() {
    ScriptedBackplane backplaneA = ScriptedBackplane.first("a");
    ScriptedBackplane backplaneB = ScriptedBackplane.sharing(backplaneA, "b", Op.JOIN);
    Hub a = node(backplaneA, "a");
    Hub b = node(backplaneB, "b");
    Recorder ra = new Recorder();
    Recorder rb = new Recorder();
    Session sa = open(a, ra);
    a.handle(sa, join("a"));

    Session sb = open(b, rb);
    b.handle(sb, join("1"));
    b.handle(sb, new Relay(RelayKind.OFFER, ROOM, sa.peer(), data("{}"), new ClientRequestId("2")));
    b.handle(sb, new Leave(ROOM, new ClientRequestId("3")));
    backplaneB.next(Op.JOIN).answer();
    backplaneA.deliver();

    assertEquals(List.of("joined", "left"), kinds(rb));
    assertEquals(List.of("joined", "peer-joined " + sb.peer(), "relayed", "peer-left " + sb.peer()), kinds(ra));
    assertEquals(0, b.roomSlots());
  }

  // 7. A join is complete for its session (its next command, or a relay socket's upgrade) only
  //    once other nodes have been told, so a member there can already reach it.
  @Test
  void aJoinSettlesOnlyOnceOtherNodesAreTold() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.PUBLISH);
    Hub hub = node(backplane, "a");
    Recorder out = new Recorder();
    Session s = open(hub, out);
    hub.handle(s, join("1"));
    hub.handle(s, new Leave(ROOM, new ClientRequestId("2")));

    Step announcement = backplane.next(Op.PUBLISH);
    assertEquals(ROOM, announcement.room());
    assertFalse(s.settled().isComplete(), "not settled while peer-joined is unpublished");
    assertEquals(List.of("joined"), kinds(out), "the leave waits too");
    announcement.answer();
    assertTrue(s.settled().isComplete());
    assertEquals(List.of("joined", "left"), kinds(out));
  }

  // 7b. The relay race itself: a member on another node is open (joined, announced) but its
  //     announcement has not reached the sender's node yet. A broadcast must still reach it.
  @Test
  void aBroadcastReachesAMemberWhoseAnnouncementIsStillInFlight() {
    ScriptedBackplane backplaneA = ScriptedBackplane.first("a");
    ScriptedBackplane backplaneB = ScriptedBackplane.sharing(backplaneA, "b");
    Hub a = node(backplaneA, "a");
    Hub b = node(backplaneB, "b");
    Recorder ra = new Recorder();
    Recorder rb = new Recorder();
    Session sa = open(a, ra);
    a.handle(sa, join("a"));
    Session sb = open(b, rb);
    b.handle(sb, join("b"));
    assertTrue(sb.settled().isComplete(), "b is in, and its peer-joined published");
    assertEquals(1, backplaneA.inbox().size(), "...but node a has not heard it yet");

    a.handle(sa, new Relay(RelayKind.SIGNAL, ROOM, null, data("{\"now\":true}"), null));
    backplaneB.deliver();
    assertEquals(List.of("joined", "relayed"), kinds(rb));
  }

  // A delivery the client sent before its socket closed goes out, though it waited behind one in
  // flight: /direct's farewell 'leave' is sent as its socket closes, often while the answer
  // before it is still being published.
  @Test
  void aDeliveryQueuedBehindOneInFlightStillGoesOutWhenTheSocketCloses() {
    ScriptedBackplane backplaneA = ScriptedBackplane.first("a", Op.PUBLISH);
    ScriptedBackplane backplaneB = ScriptedBackplane.sharing(backplaneA, "b");
    Hub a = node(backplaneA, "a");
    Hub b = node(backplaneB, "b");
    Recorder rb = new Recorder();
    Session sb = open(b, rb);
    b.handle(sb, join("b"));
    Session sa = open(a, new Recorder());
    a.handle(sa, new Deliver(RelayKind.SIGNAL, ROOM, data("{\"answer\":1}"), null));
    Step answer = backplaneA.next(Op.PUBLISH);
    a.handle(sa, new Deliver(RelayKind.SIGNAL, ROOM, data("{\"leave\":1}"), null));
    a.close(sa);
    answer.answer();
    backplaneA.next(Op.PUBLISH).answer();
    backplaneB.deliver();
    assertEquals(List.of("joined", "relayed", "relayed"), kinds(rb));
  }

  // Self-healing: a difference seen by one periodic check may be an announcement in flight; one
  // seen by two in a row is repaired and counted.
  @Test
  void reconciliationRepairsOnlyWhatTwoChecksInARowSee() {
    ScriptedBackplane backplaneA = ScriptedBackplane.first("a");
    ScriptedBackplane backplaneB = ScriptedBackplane.sharing(backplaneA, "b", Op.PUBLISH);
    Hub a = node(backplaneA, "a");
    Hub b = node(backplaneB, "b");
    Recorder ra = new Recorder();
    Session sa = open(a, ra);
    a.handle(sa, join("a"));
    Session missed = open(b, new Recorder());
    b.handle(missed, join("b"));
    backplaneB.next(Op.PUBLISH).fail(new IllegalStateException("lost")); // node a never hears it

    List<io.switchboard.signaling.port.JoinResult.Placed> truth = List.of(
        new io.switchboard.signaling.port.JoinResult.Placed(new Member(sa.peer(), null), "a"),
        new io.switchboard.signaling.port.JoinResult.Placed(new Member(missed.peer(), null), "b"));
    a.reconcile(ROOM, truth);
    assertEquals(0, repairs.get(), "one sighting may be an event in flight");
    ch.qos.logback.classic.Logger hubLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Hub.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logged =
        new ch.qos.logback.core.read.ListAppender<>();
    logged.start();
    hubLog.addAppender(logged);
    try {
      a.reconcile(ROOM, truth);
    } finally {
      hubLog.detachAppender(logged);
    }
    assertEquals(1, repairs.get());
    assertEquals(List.of("room=" + ROOM), logged.list.get(0).getKeyValuePairs().stream()
        .map(kv -> kv.key + "=" + kv.value).toList(), "the repair is logged with its room as a field");
    assertEquals("peer-joined " + missed.peer(), kinds(ra).get(kinds(ra).size() - 1));
    a.reconcile(ROOM, truth);
    assertEquals(1, repairs.get(), "nothing left to repair");

    // Gone from the backplane, but its peer-left still in flight: the first check waits, and
    // the announcement arriving meanwhile leaves nothing for the second to repair.
    List<io.switchboard.signaling.port.JoinResult.Placed> afterLeave = truth.subList(0, 1);
    a.reconcile(ROOM, afterLeave);
    a.onMessage(new io.switchboard.signaling.port.BackplaneMessage("b", ROOM, null,
        new PeerLeft(ROOM, missed.peer(), io.switchboard.wire.LeaveReason.LEAVE)));
    a.reconcile(ROOM, afterLeave);
    assertEquals(1, repairs.get(), "an event in flight is not a repair");
  }

  private static SignalingMetrics countingRepairs(AtomicInteger repairs) {
    return (SignalingMetrics) Proxy.newProxyInstance(SignalingMetrics.class.getClassLoader(),
        new Class<?>[] {SignalingMetrics.class}, (proxy, method, args) -> {
          if (method.getName().equals("membershipRepaired")) {
            repairs.incrementAndGet();
          }
          return method.getReturnType() == boolean.class ? false : null;
        });
  }
}
