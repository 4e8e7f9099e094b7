package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertThrows;
import io.switchboard.support.IgnoringListener;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Disconnect;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.signaling.event.ServerMessage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.wire.LeaveReason;
import io.vertx.core.Future;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every behaviour a {@link Backplane} promises. Subclasses only say how to make a node; all
 * nodes made in one test share one cluster.
 */
public abstract class BackplaneContractTest {
  protected static final Duration WAIT = Duration.ofSeconds(5);
  protected static final SecureRandom RANDOM = new SecureRandom();

  protected final List<Backplane> nodes = new ArrayList<>();

  /** A new node on this test's cluster. */
  protected abstract Backplane newNode(String nodeId);

  /** A room name no other test uses. */
  protected RoomId freshRoom() {
    return new RoomId("room-" + Long.toHexString(RANDOM.nextLong()));
  }

  /** A started node whose received messages land in {@code inbox}. */
  protected Backplane started(String nodeId, LinkedBlockingQueue<BackplaneMessage> inbox) throws Exception {
    return started(nodeId, inbox, Set.of(), new LinkedBlockingQueue<>());
  }

  /**
   * A started node that holds the sockets of {@code holds}: disconnect requests for them land in
   * {@code disconnects}, and the node answers that it closed them.
   */
  protected Backplane started(String nodeId, LinkedBlockingQueue<BackplaneMessage> inbox, Set<PeerId> holds,
      LinkedBlockingQueue<Disconnect> disconnects) throws Exception {
    Backplane node = newNode(nodeId);
    nodes.add(node);
    await(node.start(new IgnoringListener() {
      @Override
      public void onMessage(BackplaneMessage message) {
        inbox.add(message);
      }

      @Override
      public boolean onDisconnect(Disconnect request) {
        if (!holds.contains(request.peer())) {
          return false;
        }
        disconnects.add(request);
        return true;
      }
    }));
    return node;
  }

  @AfterEach
  void closeNodes() throws Exception {
    for (Backplane node : nodes) {
      await(node.close());
    }
  }

  protected static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception cause ? cause : e;
    }
  }

  protected static List<Member> members(Backplane backplane, RoomId room) throws Exception {
    return await(backplane.members(room)).stream().map(JoinResult.Placed::member).toList();
  }

  protected static Member member() {
    return new Member(PeerId.random(RANDOM), "{\"n\":1}");
  }

  /** A member whose id says it can resume, as the hub gives to a session that asked to. */
  protected static Member session() {
    return new Member(PeerId.random(RANDOM, true), "{\"n\":1}");
  }

  protected static Relayed relayed(RoomId room, PeerId from, String data) {
    byte[] bytes = data.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return new Relayed(RelayKind.SIGNAL, room, from, new RawJson(bytes, 0, bytes.length));
  }

  @Test
  void joinReturnsTheMembersAlreadyThereInJoinOrderWithTheirNodes() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member first = member();
    Member second = member();
    Member third = member();
    assertEquals(List.of(), await(a.join(room, first, 10)).others());
    assertEquals(List.of(new JoinResult.Placed(first, "a")), await(b.join(room, second, 10)).others());
    assertEquals(List.of(new JoinResult.Placed(first, "a"), new JoinResult.Placed(second, "b")),
        await(a.join(room, third, 10)).others());
    assertEquals(List.of(first, second, third), members(b, room));
  }

  @Test
  void roomsPagesThroughEveryRoomOfEveryNodeWithItsMemberCount() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    Map<RoomId, Integer> expected = new HashMap<>();
    for (int i = 0; i < 23; i++) {
      RoomId room = i % 5 == 0 ? RoomId.scoped("relay", "r" + i) : freshRoom();
      int members = 1 + i % 3;
      for (int m = 0; m < members; m++) {
        await((m % 2 == 0 ? a : b).join(room, member(), 10));
      }
      expected.put(room, members);
    }
    Map<RoomId, Integer> listed = new HashMap<>();
    String cursor = null;
    int pages = 0;
    do {
      RoomPage page = await(b.rooms(cursor, 4));
      assertTrue(page.rooms().size() <= 4, "a page holds at most its limit: " + page);
      page.rooms().forEach(c -> listed.put(c.room(), c.members()));
      cursor = page.nextCursor();
      assertTrue(++pages <= 100, "the walk ends");
    } while (cursor != null);
    assertEquals(expected, listed);
    assertTrue(pages >= 6, "23 rooms in pages of 4 take at least 6 pages, took " + pages);
    assertInstanceOf(IllegalArgumentException.class,
        org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> await(a.rooms("not a cursor", 4))));
  }

  @Test
  void roomsOfAnEmptyClusterIsOneEmptyLastPage() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    RoomPage page = await(a.rooms(null, 100));
    assertEquals(List.of(), page.rooms());
    assertNull(page.nextCursor());
  }

  @Test
  void disconnectReachesTheNodeHoldingThePeerAndSaysWhetherOneDid() throws Exception {
    PeerId held = PeerId.random(RANDOM);
    LinkedBlockingQueue<Disconnect> atB = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<Disconnect> atA = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>(), Set.of(), atA);
    started("b", new LinkedBlockingQueue<>(), Set.of(held), atB);
    started("c", new LinkedBlockingQueue<>());
    Disconnect request = new Disconnect(held, 4321, "bye \u00e9\n");
    assertTrue(await(a.disconnect(request)));
    assertEquals(request, atB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    assertEquals(false, await(a.disconnect(new Disconnect(PeerId.random(RANDOM), 4003, "x"))));
    assertTrue(atA.isEmpty());
  }

  @Test
  void disconnectReachesAPeerOfTheAskingNodeToo() throws Exception {
    PeerId held = PeerId.random(RANDOM);
    LinkedBlockingQueue<Disconnect> atA = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>(), Set.of(held), atA);
    started("b", new LinkedBlockingQueue<>());
    assertTrue(await(a.disconnect(new Disconnect(held, 4003, "disconnected by server"))));
    assertEquals(held, atA.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).peer());
  }

  @Test
  void serverMessagesCrossNodesWithTheirDataAndTarget() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    await(b.subscribe(room));
    PeerId to = PeerId.random(RANDOM);
    byte[] data = "{\"notice\":\"maintenance at 10:00\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    await(a.publish(new BackplaneMessage("a", room, to, new ServerMessage(room, new RawJson(data, 0, data.length)))));
    BackplaneMessage got = inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertEquals(to, got.to());
    assertEquals("{\"notice\":\"maintenance at 10:00\"}", ((ServerMessage) got.event()).data().toString());
  }

  @Test
  void joinRefusesBeyondCapacityWithRoomFull() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    await(a.join(room, member(), 2));
    await(a.join(room, member(), 2));
    Exception refused = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> await(a.join(room, member(), 2)));
    assertEquals(ErrorCode.ROOM_FULL, assertInstanceOf(SignalingException.class, refused).code());
  }

  @Test
  void racingJoinsFromSeveralNodesNeverExceedCapacity() throws Exception {
    List<Backplane> racers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      racers.add(started("n" + i, new LinkedBlockingQueue<>()));
    }
    RoomId room = freshRoom();
    int capacity = 5;
    List<Thread> threads = new ArrayList<>();
    List<Future<JoinResult>> shared = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int i = 0; i < 30; i++) {
      Backplane node = racers.get(i % racers.size());
      Thread t = new Thread(() -> shared.add(node.join(room, member(), capacity)));
      threads.add(t);
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(WAIT.toMillis());
    }
    int admitted = 0;
    int full = 0;
    for (Future<JoinResult> attempt : new ArrayList<>(shared)) {
      try {
        await(attempt);
        admitted++;
      } catch (SignalingException e) {
        assertEquals(ErrorCode.ROOM_FULL, e.code());
        full++;
      }
    }
    assertEquals(capacity, admitted);
    assertEquals(30 - capacity, full);
    assertEquals(capacity, members(racers.get(0), room).size());
  }

  @Test
  void leaveFreesASeatAndIsHarmlessForNonMembers() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member m = member();
    await(a.join(room, m, 1));
    await(a.leave(room, PeerId.random(RANDOM)));
    await(a.leave(room, m.peer()));
    assertEquals(List.of(), members(a, room));
    await(a.join(room, member(), 1));
  }

  @Test
  void publishReachesEverySubscribedOtherNodeOnceAndNeverTheSender() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxA = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<BackplaneMessage> inboxC = new LinkedBlockingQueue<>();
    Backplane a = started("a", inboxA);
    Backplane b = started("b", inboxB);
    started("c", inboxC);
    RoomId room = freshRoom();
    await(a.subscribe(room));
    await(b.subscribe(room));
    BackplaneMessage sent = new BackplaneMessage("a", room, null, relayed(room, PeerId.random(RANDOM), "{\"k\":[1, 2]}"));
    await(a.publish(sent));
    BackplaneMessage got = inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertEquals("a", got.originNode());
    assertEquals("{\"k\":[1, 2]}", ((Relayed) got.event()).data().toString());
    // A later message from b proves a and c had time to (wrongly) receive the first one.
    await(b.publish(new BackplaneMessage("b", room, null, relayed(room, PeerId.random(RANDOM), "2"))));
    assertEquals("b", inboxA.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).originNode());
    assertTrue(inboxA.isEmpty());
    assertNull(inboxB.poll(100, TimeUnit.MILLISECONDS));
    assertTrue(inboxC.isEmpty(), "c never subscribed");
  }

  @Test
  void oneSendersMessagesArriveInTheOrderSent() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    await(b.subscribe(room));
    PeerId sender = PeerId.random(RANDOM);
    // Sent back to back without waiting for each other: the order is the backplane's to keep.
    List<Future<Void>> sent = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      sent.add(a.publish(new BackplaneMessage("a", room, null, relayed(room, sender, Integer.toString(i)))));
    }
    await(Future.all(sent));
    for (int i = 0; i < 200; i++) {
      BackplaneMessage got = inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
      assertEquals(Integer.toString(i), ((Relayed) got.event()).data().toString(), "message " + i);
    }
  }

  @Test
  void aRelayToOnePeerKeepsItsTarget() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    await(b.subscribe(room));
    PeerId from = PeerId.random(RANDOM);
    PeerId to = PeerId.random(RANDOM);
    await(a.publish(new BackplaneMessage("a", room, to, relayed(room, from, "{\"sdp\":\"x\"}"))));
    BackplaneMessage got = inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertEquals(to, got.to());
    Relayed relayed = (Relayed) got.event();
    assertEquals(RelayKind.SIGNAL, relayed.kind());
    assertEquals(room, relayed.room());
    assertEquals(from, relayed.from());
    assertEquals("{\"sdp\":\"x\"}", relayed.data().toString());
  }

  @Test
  void membershipEventsCrossNodesExactly() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    await(b.subscribe(room));
    Member member = new Member(PeerId.random(RANDOM), "{\"name\":\"Zoë\",\"tags\":[1,2]}");
    List<BackplaneMessage> sent = new ArrayList<>();
    sent.add(new BackplaneMessage("a", room, null, new PeerJoined(room, member)));
    for (LeaveReason reason : LeaveReason.values()) {
      sent.add(new BackplaneMessage("a", room, null, new PeerLeft(room, member.peer(), reason)));
    }
    for (BackplaneMessage message : sent) {
      await(a.publish(message));
    }
    for (BackplaneMessage message : sent) {
      assertEquals(message, inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    }
  }

  @Test
  void aRejoinWithTheSamePeerIdReplacesTheEntry() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    Member other = member();
    PeerId peer = PeerId.random(RANDOM);
    await(a.join(room, new Member(peer, "{\"v\":1}"), 10));
    await(a.join(room, other, 10));
    Member again = new Member(peer, "{\"v\":2}");
    assertEquals(List.of(new JoinResult.Placed(other, "a")), await(b.join(room, again, 10)).others());
    List<JoinResult.Placed> now = await(a.members(room));
    assertEquals(2, now.size());
    assertTrue(now.contains(new JoinResult.Placed(again, "b")), "the new entry: " + now);
    assertTrue(now.contains(new JoinResult.Placed(other, "a")), "the other member: " + now);
  }

  @Test
  void aLeaveFromTheNodeAMemberMovedAwayFromLeavesItInPlace() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    PeerId peer = PeerId.random(RANDOM);
    await(a.join(room, new Member(peer, "{}"), 10));
    await(b.join(room, new Member(peer, "{}"), 10));
    // The old socket on a closes after the peer came back on b.
    await(a.leave(room, peer));
    assertEquals(List.of(new JoinResult.Placed(new Member(peer, "{}"), "b")), await(b.members(room)));
  }

  @Test
  void closeRemovesTheMembersTheNodeHeld() throws Exception {
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", new LinkedBlockingQueue<>());
    RoomId room = freshRoom();
    RoomId other = freshRoom();
    Member onA = member();
    Member alsoOnA = member();
    Member onB = member();
    await(a.join(room, onA, 10));
    await(b.join(room, onB, 10));
    await(a.join(other, alsoOnA, 10));
    await(a.close());
    nodes.remove(a);
    assertEquals(List.of(new JoinResult.Placed(onB, "b")), await(b.members(room)));
    assertEquals(List.of(), await(b.members(other)));
  }

  @Test
  void noMessageReachesTheListenerOnceUnsubscribeCompletes() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    RoomId marker = freshRoom();
    await(b.subscribe(room));
    await(b.subscribe(marker));
    await(b.unsubscribe(room));
    PeerId sender = PeerId.random(RANDOM);
    await(a.publish(new BackplaneMessage("a", room, null, relayed(room, sender, "\"gone\""))));
    await(a.publish(new BackplaneMessage("a", marker, null, relayed(marker, sender, "\"marker\""))));
    // One sender's messages arrive in order, so the marker comes after anything for 'room'.
    BackplaneMessage first = inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertEquals(marker, first.room(), "the first message b received");
    assertTrue(inboxB.isEmpty());
  }

  @Test
  void subscriptionsAreCountedAndEndWithTheLastUnsubscribe() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    await(b.subscribe(room));
    await(b.subscribe(room));
    await(b.unsubscribe(room));
    BackplaneMessage first = new BackplaneMessage("a", room, null, relayed(room, PeerId.random(RANDOM), "1"));
    await(a.publish(first));
    assertSame(Relayed.class, inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).event().getClass());
    await(b.unsubscribe(room));
    RoomId marker = freshRoom();
    await(b.subscribe(marker));
    await(a.publish(new BackplaneMessage("a", room, null, relayed(room, PeerId.random(RANDOM), "2"))));
    await(a.publish(new BackplaneMessage("a", marker, null, relayed(marker, PeerId.random(RANDOM), "3"))));
    assertEquals(marker, inboxB.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS).room(), "nothing for the room before the marker");
  }
}
