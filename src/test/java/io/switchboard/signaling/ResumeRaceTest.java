package io.switchboard.signaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.signaling.command.Ack;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Relay;
import io.switchboard.signaling.command.Resume;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.NumberedEvent;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.Resumed;
import io.switchboard.signaling.event.Welcome;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.ScriptedBackplane;
import io.switchboard.support.ScriptedBackplane.Op;
import io.switchboard.support.ScriptedBackplane.Step;
import io.switchboard.wire.ClientRequestId;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The interleavings of a resume with the old socket's close, with live events, and with a
 * node's stop, each played out step by step on a {@link ScriptedBackplane}. No sleeps.
 */
class ResumeRaceTest {
  private static final Limits LIMITS = new Limits(4, 8, 1000, 1000, 100, 30_000);
  private static final RoomId ROOM = new RoomId("resume-race");

  /** Records what a client receives, and how its socket was closed; runs tasks at once. */
  static final class Client implements Outbound {
    final List<Event> events = new ArrayList<>();
    final List<CloseReason> closes = new ArrayList<>();

    @Override public synchronized void send(Event event) {
      events.add(event);
    }

    @Override public synchronized void close(CloseReason reason) {
      closes.add(reason);
    }

    @Override public void execute(Runnable task) {
      task.run();
    }

    synchronized <T extends Event> List<T> all(Class<T> type) {
      return events.stream().filter(type::isInstance).map(type::cast).toList();
    }

    synchronized List<Long> numbers() {
      return all(NumberedEvent.class).stream().map(NumberedEvent::seq).toList();
    }

    synchronized List<String> relayedData() {
      return all(NumberedEvent.class).stream().filter(n -> n.event() instanceof Relayed)
          .map(n -> ((Relayed) n.event()).data().toString()).toList();
    }

    String token() {
      Resumed resumed = all(Resumed.class).isEmpty() ? null : all(Resumed.class).get(all(Resumed.class).size() - 1);
      return resumed != null ? resumed.token() : all(Welcome.class).get(0).resumeToken();
    }
  }

  private static Hub node(ScriptedBackplane backplane, String id) {
    Hub hub = new Hub(backplane, LIMITS, SignalingMetrics.NOOP, id);
    backplane.start(hub);
    return hub;
  }

  private static Session resumable(Hub hub, Client client) {
    return hub.open(client, System.nanoTime(), Identity.ANONYMOUS, true);
  }

  private static Session joined(Hub hub, Client client) {
    Session s = resumable(hub, client);
    hub.handle(s, new Join(ROOM, null, new ClientRequestId("j")));
    return s;
  }

  private static Relay signal(Session to, String data) {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    return new Relay(RelayKind.SIGNAL, ROOM, to.peer(), new RawJson(bytes, 0, bytes.length), null);
  }

  private static List<Long> consecutiveFrom(long first, int count) {
    List<Long> expected = new ArrayList<>();
    for (long i = first; i < first + count; i++) {
      expected.add(i);
    }
    return expected;
  }

  /** Alice's session on node a and Bob's on node b, both in {@link #ROOM}, each told of the other. */
  private record TwoNodes(ScriptedBackplane atA, ScriptedBackplane atB, Hub a, Hub b, Client alice, Client bob,
      Session onA, Session onB) {
    static TwoNodes joined() {
      ScriptedBackplane atA = ScriptedBackplane.first("a");
      ScriptedBackplane atB = ScriptedBackplane.sharing(atA, "b");
      Hub a = node(atA, "a");
      Hub b = node(atB, "b");
      Client alice = new Client();
      Client bob = new Client();
      Session onA = ResumeRaceTest.joined(a, alice);
      Session onB = ResumeRaceTest.joined(b, bob);
      atA.deliver();
      atB.deliver();
      return new TwoNodes(atA, atB, a, b, alice, bob, onA, onB);
    }
  }

  /**
   * Alice's and Bob's sessions on one node a, both in {@link #ROOM}, each told of the other, on a
   * backplane that holds every publish until the test answers it.
   */
  private record OneNode(ScriptedBackplane backplane, Hub hub, Client alice, Client bob, Session onA, Session onB) {
    static OneNode joinedWithPublishesHeld() {
      ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.PUBLISH);
      Hub hub = node(backplane, "a");
      Client alice = new Client();
      Client bob = new Client();
      Session a = resumable(hub, alice);
      hub.handle(a, new Join(ROOM, null, new ClientRequestId("j")));
      backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer(); // nobody to tell
      Session b = resumable(hub, bob);
      hub.handle(b, new Join(ROOM, null, new ClientRequestId("j")));
      backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer(); // b's peer-joined
      backplane.deliver();
      return new OneNode(backplane, hub, alice, bob, a, b);
    }
  }

  @Test
  void eventsLostWhileTheSubscriptionWasCutComeFromTheBufferWhenItIsBack() {
    TwoNodes nodes = TwoNodes.joined();
    ScriptedBackplane atA = nodes.atA();
    Hub b = nodes.b();
    Client alice = nodes.alice();
    Session onA = nodes.onA();
    Session onB = nodes.onB();
    b.handle(onB, signal(onA, "1"));
    atA.deliver();
    b.handle(onB, signal(onA, "2"));
    b.handle(onB, signal(onA, "3"));
    assertEquals(2, atA.lose(), "the pushes that a cut subscription never hands over");
    assertEquals(List.of("1"), alice.relayedData());

    atA.missed(ROOM);
    assertEquals(List.of("1", "2", "3"), alice.relayedData(), "the two from the buffer, in order, once the "
        + "subscription is back, with no later event needed to show the gap");
    b.handle(onB, signal(onA, "4"));
    atA.deliver();
    assertEquals(List.of("1", "2", "3", "4"), alice.relayedData());
  }

  @Test
  void eventsThatArriveWhileTheReplayIsInFlightFollowItInOrderEachOnce() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.REPLAY);
    Hub hub = node(backplane, "a");
    Client alice = new Client();
    Client bob = new Client();
    Session a = joined(hub, alice);
    Session b = joined(hub, bob);
    backplane.deliver();
    hub.handle(b, signal(a, "1"));
    backplane.deliver();
    hub.close(a, true);
    hub.handle(b, signal(a, "2"));
    hub.handle(b, signal(a, "3"));
    backplane.deliver();

    Client back = new Client();
    Session a2 = resumable(hub, back);
    hub.handle(a2, new Resume(alice.token(), 2, new ClientRequestId("r")));
    Step replay = backplane.next(Op.REPLAY, Duration.ofSeconds(1));
    hub.handle(b, signal(a2, "4")); // live, while the replay is in flight
    backplane.deliver();
    assertEquals(List.of(), back.numbers(), "nothing numbered before the replay");
    replay.answer();

    assertEquals(1, back.all(Resumed.class).size());
    assertTrue(back.events.indexOf(back.all(Resumed.class).get(0)) < back.events.indexOf(back.all(NumberedEvent.class).get(0)),
        "resumed comes first");
    assertEquals(List.of("2", "3", "4"), back.relayedData());
    List<Long> numbers = back.numbers();
    assertEquals(consecutiveFrom(numbers.get(0), numbers.size()), numbers, "consecutive, each once");
    assertEquals(a.peer(), a2.peer());
    assertTrue(bob.all(NumberedEvent.class).stream().noneMatch(n -> n.event() instanceof PeerLeft));
  }

  @Test
  void eventsAReplayFailedToBringAreFetchedAgainOnTheNextTick() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.REPLAY);
    Hub hub = node(backplane, "a");
    Client alice = new Client();
    Client bob = new Client();
    Session a = joined(hub, alice);
    Session b = joined(hub, bob);
    backplane.deliver();
    hub.close(a, true);
    hub.handle(b, signal(a, "1"));
    hub.handle(b, signal(a, "2"));
    backplane.deliver();

    Client back = new Client();
    Session a2 = resumable(hub, back);
    hub.handle(a2, new Resume(alice.token(), 0, new ClientRequestId("r")));
    backplane.next(Op.REPLAY, Duration.ofSeconds(1)).fail(new IllegalStateException("redis timed out"));
    assertEquals(1, back.all(Resumed.class).size());
    assertEquals(List.of(), back.relayedData(), "nothing yet: the replay failed");

    // No later event comes to show the gap: the next tick must fetch them by itself.
    hub.tick();
    backplane.next(Op.REPLAY, Duration.ofSeconds(1)).answer();
    assertEquals(List.of("1", "2"), back.relayedData());
    List<Long> numbers = back.numbers();
    assertEquals(consecutiveFrom(numbers.get(0), numbers.size()), numbers, "consecutive, each once");

    hub.tick();
    assertEquals(List.of(), backplane.pending(), "caught up: no further fetch");
  }

  @Test
  void aResumeWhileTheOldSocketIsStillOpenClosesItAndKeepsTheRooms() {
    TwoNodes nodes = TwoNodes.joined();
    ScriptedBackplane backplaneA = nodes.atA();
    ScriptedBackplane backplaneB = nodes.atB();
    Hub a = nodes.a();
    Hub b = nodes.b();
    Client alice = nodes.alice();
    Client bob = nodes.bob();
    Session oldSocket = nodes.onA();
    Session bobSession = nodes.onB();

    Client back = new Client();
    Session resumed = resumable(b, back);
    b.handle(resumed, new Resume(alice.token(), 1, new ClientRequestId("r")));
    backplaneA.deliver(); // node a hears peer-resumed
    assertEquals(List.of(CloseReason.RESUMED_ELSEWHERE), alice.closes);
    a.close(oldSocket, true); // the old socket's close arrives after

    b.handle(bobSession, signal(resumed, "after"));
    backplaneB.deliver();
    backplaneA.deliver();
    assertEquals(List.of("after"), back.relayedData());
    assertTrue(bob.all(NumberedEvent.class).stream().noneMatch(n -> n.event() instanceof PeerLeft),
        "the old socket's close is no departure");
    assertEquals(0, a.roomSlots(), "node a keeps nothing of the room");
  }

  @Test
  void ofTwoResumesOfOneSessionExactlyOneWins() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.CLAIM);
    Hub hub = node(backplane, "a");
    Client alice = new Client();
    Session a = joined(hub, alice);
    hub.close(a, true);
    String token = alice.token();

    Client first = new Client();
    Client second = new Client();
    Session s1 = resumable(hub, first);
    Session s2 = resumable(hub, second);
    hub.handle(s1, new Resume(token, 0, new ClientRequestId("1")));
    hub.handle(s2, new Resume(token, 0, new ClientRequestId("2")));
    Step claim1 = backplane.next(Op.CLAIM, Duration.ofSeconds(1));
    Step claim2 = backplane.next(Op.CLAIM, Duration.ofSeconds(1));
    claim2.answer();
    claim1.answer();

    assertEquals(1, first.all(Resumed.class).size() + second.all(Resumed.class).size());
    List<ErrorReply> errors = new ArrayList<>(first.all(ErrorReply.class));
    errors.addAll(second.all(ErrorReply.class));
    assertEquals(List.of(ErrorCode.RESUME_EXPIRED), errors.stream().map(ErrorReply::code).toList());
  }

  @Test
  void aSocketThatClosesWhileItClaimsLeavesTheSessionInItsGap() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.CLAIM);
    Hub hub = node(backplane, "a");
    Client alice = new Client();
    Client bob = new Client();
    Session a = joined(hub, alice);
    joined(hub, bob);
    backplane.deliver();
    hub.close(a, true);
    backplane.deliver();

    Client back = new Client();
    Session a2 = resumable(hub, back);
    hub.handle(a2, new Resume(alice.token(), 0, new ClientRequestId("r")));
    Step claim = backplane.next(Op.CLAIM, Duration.ofSeconds(1));
    claim.run();
    hub.close(a2, true);
    claim.answer();
    backplane.deliver();

    assertEquals(List.of(), back.all(Resumed.class));
    assertTrue(bob.all(NumberedEvent.class).stream().noneMatch(n -> n.event() instanceof PeerLeft),
        "still in its gap: no departure yet");
    assertEquals(0, hub.roomSlots() - 1, "only bob's room is held");
  }

  @Test
  void aStoppingNodeClosesItsBackplaneOnlyOnceItsSessionsAreInTheirGap() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.SUSPEND);
    Hub hub = node(backplane, "a");
    Session a = joined(hub, new Client());
    hub.close(a, true);
    Future<Void> quiet = hub.quiesce();
    assertFalse(quiet.isComplete(), "the suspension is not stored yet");
    backplane.next(Op.SUSPEND, Duration.ofSeconds(1)).answer();
    assertTrue(quiet.isComplete());
  }

  @Test
  void aSessionWhoseWindowPassesIsAnnouncedGoneOnce() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a");
    Hub hub = new Hub(backplane, new Limits(4, 8, 1000, 1000, 100, 1), SignalingMetrics.NOOP, "a");
    backplane.start(hub);
    Client alice = new Client();
    Client bob = new Client();
    Session a = joined(hub, alice);
    joined(hub, bob);
    backplane.deliver();
    hub.close(a, true);
    backplane.deliver();
    long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < until && bob.all(NumberedEvent.class).stream().noneMatch(n -> n.event() instanceof PeerLeft)) {
      hub.tick();
      hub.tick();
      backplane.deliver();
    }
    List<PeerLeft> gone = bob.all(NumberedEvent.class).stream().filter(n -> n.event() instanceof PeerLeft)
        .map(n -> (PeerLeft) n.event()).toList();
    assertEquals(List.of(new PeerLeft(ROOM, a.peer(), LeaveReason.EXPIRED)), gone);
  }

  @Test
  void aRelayWhosePredecessorNeverArrivedIsRefusedUntilItComes() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a");
    Hub hub = node(backplane, "a");
    Client alice = new Client();
    Client bob = new Client();
    Session a = joined(hub, alice);
    Session b = joined(hub, bob);
    backplane.deliver();
    hub.handle(b, numberedSignal(a, "1", 1));
    hub.handle(b, numberedSignal(a, "3", 3)); // 2 was dropped on the way (rate-limited, say)
    hub.handle(b, numberedSignal(a, "2", 2));
    hub.handle(b, numberedSignal(a, "3", 3));
    hub.handle(b, numberedSignal(a, "2", 2)); // a retransmission
    backplane.deliver();
    assertEquals(List.of("1", "2", "3"), alice.relayedData());
    assertEquals(List.of(ErrorCode.UNAVAILABLE), bob.all(ErrorReply.class).stream().map(ErrorReply::code).toList());
  }

  @Test
  void aRelayThatCouldNotBeStoredIsTakenAgainBeforeAnyLaterOne() {
    OneNode node = OneNode.joinedWithPublishesHeld();
    ScriptedBackplane backplane = node.backplane();
    Hub hub = node.hub();
    Client alice = node.alice();
    Client bob = node.bob();
    Session a = node.onA();
    Session b = node.onB();
    hub.handle(b, numberedSignal(a, "1", 1));
    hub.handle(b, numberedSignal(a, "2", 2)); // waits behind 1's store
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).fail(new IllegalStateException("redis down"));
    // 2 is refused without a store: 1 must come first
    hub.handle(b, numberedSignal(a, "1", 1));
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    hub.handle(b, numberedSignal(a, "2", 2));
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    backplane.deliver();
    assertEquals(List.of("1", "2"), alice.relayedData());
    assertEquals(List.of(ErrorCode.UNAVAILABLE, ErrorCode.UNAVAILABLE),
        bob.all(ErrorReply.class).stream().map(ErrorReply::code).toList());
  }

  /**
   * Another node's resume fences this one off (Backplane listener's release): the socket here is
   * superseded before the answer goes, and nothing it had queued behind a store in flight, nor
   * anything it reads later, is published after the answer.
   */
  @Test
  void aSessionReleasedToAnotherNodePublishesNothingAfterTheAnswer() {
    OneNode node = OneNode.joinedWithPublishesHeld();
    ScriptedBackplane backplane = node.backplane();
    Hub hub = node.hub();
    Client alice = node.alice();
    Client bob = node.bob();
    Session a = node.onA();
    Session b = node.onB();
    hub.handle(b, numberedSignal(a, "1", 1));
    hub.handle(b, numberedSignal(a, "2", 2)); // queued behind 1's store

    List<String> answered = new ArrayList<>();
    hub.release(b.peer(), () -> answered.add("answered after " + backplane.pending().size() + " store"));
    assertEquals(List.of("answered after 1 store"), answered, "the store already sent is ahead of the answer");
    assertEquals(List.of(CloseReason.RESUMED_ELSEWHERE), bob.closes);
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    hub.handle(b, numberedSignal(a, "3", 3)); // read from the old socket after the answer
    assertEquals(List.of(), backplane.pending(), "2 and 3 are never published");
    backplane.deliver();
    assertEquals(List.of("1"), alice.relayedData());
  }

  @Test
  void anAckIsTakenEvenWhenTheQueueBehindACommandInFlightIsFull() {
    ScriptedBackplane backplane = ScriptedBackplane.first("a", Op.PUBLISH);
    Limits twoMayWait = new Limits(4, 8, 1000, 2, 100, 30_000);
    Hub hub = new Hub(backplane, twoMayWait, SignalingMetrics.NOOP, "a");
    backplane.start(hub);
    Client alice = new Client();
    Client bob = new Client();
    Session a = resumable(hub, alice);
    Session b = resumable(hub, bob);
    hub.handle(a, new Join(ROOM, null, new ClientRequestId("j")));
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    hub.handle(b, new Join(ROOM, null, new ClientRequestId("j")));
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    hub.handle(b, numberedSignal(a, "1", 1));
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    backplane.deliver();
    long last = alice.numbers().get(alice.numbers().size() - 1);

    hub.handle(a, numberedSignal(b, "x", 1));
    Step inFlight = backplane.next(Op.PUBLISH, Duration.ofSeconds(1));
    hub.handle(a, numberedSignal(b, "y", 2));
    hub.handle(a, numberedSignal(b, "z", 3));
    hub.handle(a, new Ack(last));

    assertEquals(List.of(), alice.all(ErrorReply.class), "an ack is cumulative: it never waits, so it is never refused");
    assertEquals(List.of(), backplane.replay(a.peer(), 0).result(), "everything acknowledged left the buffer");
    inFlight.answer();
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    backplane.next(Op.PUBLISH, Duration.ofSeconds(1)).answer();
    backplane.deliver();
    assertEquals(List.of("x", "y", "z"), bob.relayedData(), "the commands it overtook run in order");
  }

  private static Relay numberedSignal(Session to, String data, long n) {
    byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
    return new Relay(RelayKind.SIGNAL, ROOM, to.peer(), new RawJson(bytes, 0, bytes.length), null, n);
  }
}
