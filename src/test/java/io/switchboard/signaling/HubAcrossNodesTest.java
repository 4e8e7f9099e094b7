package io.switchboard.signaling;

import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.ClientRequestId;
import io.switchboard.wire.RoomId;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.backplane.local.LocalBackplane;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Leave;
import io.switchboard.wire.RawJson;
import io.switchboard.signaling.command.Relay;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.wire.LeaveReason;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.Welcome;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The hub's routing rules with no sockets: two hubs on one in-process cluster, so every rule is
 * checked both for members on the same node and for members on another node.
 */
class HubAcrossNodesTest {
  private static final Limits LIMITS = new Limits(4, 3, 1000, 1000, 100);
  private static final RoomId ROOM = new RoomId("call");

  /** An Outbound that records events and runs tasks at once (single-threaded test). */
  static class Recorder implements Outbound {
    final List<Event> events = new ArrayList<>();

    @Override public void send(Event event) {
      events.add(event);
    }

    @Override public void close(CloseReason reason) {}

    @Override public void execute(Runnable task) {
      task.run();
    }

    <T extends Event> List<T> all(Class<T> type) {
      return events.stream().filter(type::isInstance).map(type::cast).toList();
    }
  }

  private Hub nodeA;
  private Hub nodeB;

  @BeforeEach
  void twoNodes() {
    LocalBackplane a = LocalBackplane.standalone("a");
    LocalBackplane b = LocalBackplane.sharing(a, "b");
    nodeA = new Hub(a, LIMITS, SignalingMetrics.NOOP, "a");
    nodeB = new Hub(b, LIMITS, SignalingMetrics.NOOP, "b");
    a.start(nodeA);
    b.start(nodeB);
  }

  private static RawJson data(String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    return new RawJson(bytes, 0, bytes.length);
  }

  private Session join(Hub hub, Recorder out, String meta) {
    Session s = hub.open(out, System.nanoTime(), Identity.ANONYMOUS);
    hub.handle(s, new Join(ROOM, meta, null));
    return s;
  }

  @Test
  void rosterAndPeerJoinedSpanNodes() {
    Recorder ra = new Recorder();
    Recorder rb = new Recorder();
    Recorder rc = new Recorder();
    Session a = join(nodeA, ra, "{\"n\":\"a\"}");
    Session b = join(nodeB, rb, null);
    Session c = join(nodeA, rc, null);

    assertInstanceOf(Welcome.class, rb.events.get(0));
    Joined joinedB = rb.all(Joined.class).get(0);
    assertEquals(List.of(new Member(a.peer(), "{\"n\":\"a\"}")), joinedB.peers());
    Joined joinedC = rc.all(Joined.class).get(0);
    assertEquals(List.of(a.peer(), b.peer()), joinedC.peers().stream().map(Member::peer).toList());
    assertEquals(List.of(b.peer(), c.peer()), ra.all(PeerJoined.class).stream().map(p -> p.member().peer()).toList());
    assertEquals(List.of(c.peer()), rb.all(PeerJoined.class).stream().map(p -> p.member().peer()).toList());
  }

  @Test
  void relaysReachRemoteAndLocalMembersExactlyOnce() {
    Recorder ra = new Recorder();
    Recorder rb = new Recorder();
    Recorder rc = new Recorder();
    Session a = join(nodeA, ra, null);
    Session b = join(nodeB, rb, null);
    join(nodeA, rc, null);

    nodeA.handle(a, new Relay(RelayKind.CANDIDATE, ROOM, null, data("{\"c\":1}"), null));
    assertEquals(1, rb.all(Relayed.class).size());
    assertEquals(1, rc.all(Relayed.class).size());
    assertEquals(0, ra.all(Relayed.class).size());

    nodeB.handle(b, new Relay(RelayKind.OFFER, ROOM, a.peer(), data("\"sdp\""), null));
    List<Relayed> toA = ra.all(Relayed.class);
    assertEquals(1, toA.size());
    assertEquals(b.peer(), toA.get(0).from());
    assertEquals("\"sdp\"", toA.get(0).data().toString());
    assertEquals(1, rc.all(Relayed.class).size(), "c was not addressed");
  }

  /** A client that offers to every newcomer the moment it hears of it. */
  static final class EagerCaller extends Recorder {
    Hub hub;
    Session self;

    @Override public void send(Event event) {
      super.send(event);
      if (event instanceof PeerJoined joined && self != null) {
        hub.handle(self, new Relay(RelayKind.OFFER, joined.room(), joined.member().peer(), data("\"hi\""), null));
      }
    }
  }

  // peer-joined is sent while the room is being changed (to keep every member's events in one
  // order); a member answering it at once must already find the newcomer.
  @Test
  void anOfferAnsweringPeerJoinedAtOnceReachesTheNewcomerOnEitherNode() {
    EagerCaller caller = new EagerCaller();
    caller.hub = nodeA;
    caller.self = join(nodeA, caller, null);
    Recorder local = new Recorder();
    Recorder remote = new Recorder();
    join(nodeA, local, null);
    join(nodeB, remote, null);
    assertEquals(List.of(), caller.all(ErrorReply.class));
    assertEquals(1, local.all(Relayed.class).size());
    assertEquals(1, remote.all(Relayed.class).size());
  }

  @Test
  void capacityHoldsAcrossNodes() {
    join(nodeA, new Recorder(), null);
    join(nodeB, new Recorder(), null);
    join(nodeA, new Recorder(), null);
    Recorder late = new Recorder();
    join(nodeB, late, null);
    assertEquals(ErrorCode.ROOM_FULL, late.all(ErrorReply.class).get(0).code());
  }

  @Test
  void leaveAndDisconnectAreAnnouncedOnEveryNode() {
    Recorder ra = new Recorder();
    Recorder rb = new Recorder();
    Recorder rc = new Recorder();
    Session a = join(nodeA, ra, null);
    Session b = join(nodeB, rb, null);
    Session c = join(nodeB, rc, null);

    nodeB.handle(b, new Leave(ROOM, new ClientRequestId("1")));
    nodeB.close(c);
    assertEquals(List.of(LeaveReason.LEAVE, LeaveReason.DISCONNECT),
        ra.all(PeerLeft.class).stream().map(PeerLeft::reason).toList());
    assertEquals(0, nodeB.roomCount());

    nodeA.handle(a, new Relay(RelayKind.SIGNAL, ROOM, b.peer(), data("1"), null));
    assertEquals(ErrorCode.PEER_NOT_FOUND, ra.all(ErrorReply.class).get(0).code());
    nodeA.close(a);
    assertEquals(0, nodeA.roomCount());
    assertEquals(0, nodeA.sessionCount());
    assertTrue(rb.all(PeerLeft.class).isEmpty(), "b had left before anyone else did");
  }
}
