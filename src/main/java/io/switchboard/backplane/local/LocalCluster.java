package io.switchboard.backplane.local;

import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Disconnect;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The shared in-memory state behind {@link LocalBackplane}s: what Redis is to the Redis
 * backplane. One per process normally (one node); tests put several nodes on one to exercise
 * cross-node paths without Redis.
 *
 * <p>Thread-safe. Each room's membership is changed only inside {@link ConcurrentHashMap#compute},
 * which makes join's capacity check and insert one atomic step.
 */
final class LocalCluster {
  private record Entry(Member member, String node) {}

  // Room -> members in join order. Values are never mutated after publication: each change
  // replaces the map inside compute().
  private final ConcurrentHashMap<RoomId, Map<PeerId, Entry>> rooms = new ConcurrentHashMap<>();
  // Node -> its backplane, for delivery of published messages.
  private final ConcurrentHashMap<String, LocalBackplane> nodes = new ConcurrentHashMap<>();

  // Set before a second node joins the cluster, so a node that shares it never sees it unset.
  private volatile boolean shared;

  // A member in its gap is held by no node; leave() and leaveAll() of its old node pass it by.
  static final String NO_NODE = "-";

  final LocalSessions sessions;

  LocalCluster(int maxBufferedEvents, long maxBufferedBytes) {
    this.sessions = new LocalSessions(maxBufferedEvents, maxBufferedBytes);
  }

  void markShared() {
    shared = true;
  }

  boolean shared() {
    return shared;
  }

  void register(String node, LocalBackplane backplane) {
    if (nodes.putIfAbsent(node, backplane) != null) {
      throw new IllegalStateException("node id already in use: " + node);
    }
  }

  void unregister(String node) {
    nodes.remove(node);
  }

  /** Atomic capacity check + add; null when the room is full. */
  JoinResult join(RoomId room, Member member, String node, int maxPeers) {
    List<JoinResult.Placed> before = new ArrayList<>();
    boolean[] admitted = {false};
    rooms.compute(room, (key, members) -> {
      Map<PeerId, Entry> current = members == null ? Map.of() : members;
      boolean rejoin = current.containsKey(member.peer());
      if (!rejoin && current.size() >= maxPeers) {
        return members;
      }
      Map<PeerId, Entry> next = new LinkedHashMap<>(current);
      next.put(member.peer(), new Entry(member, node));
      for (Entry e : current.values()) {
        if (!e.member().peer().equals(member.peer())) {
          before.add(new JoinResult.Placed(e.member(), e.node()));
        }
      }
      admitted[0] = true;
      return next;
    });
    if (admitted[0]) {
      sessions.joined(member.peer(), room, member.metaJson());
    }
    return admitted[0] ? new JoinResult(before) : null;
  }

  /**
   * Removes {@code peer} if {@code node} holds it: a member that joined again on another node is
   * that node's now, and the old socket's leave must not remove it.
   */
  void leave(RoomId room, PeerId peer, String node) {
    boolean[] removed = {false};
    rooms.computeIfPresent(room, (key, members) -> {
      Entry entry = members.get(peer);
      if (entry == null || !entry.node().equals(node)) {
        return members;
      }
      removed[0] = true;
      Map<PeerId, Entry> next = new LinkedHashMap<>(members);
      next.remove(peer);
      return next.isEmpty() ? null : next;
    });
    if (removed[0]) {
      sessions.left(peer, room);
    }
  }

  /** Gives {@code peer}'s entry in {@code room} to {@code node} ({@link #NO_NODE} for none). */
  void move(RoomId room, PeerId peer, String node) {
    rooms.computeIfPresent(room, (key, members) -> {
      Entry entry = members.get(peer);
      if (entry == null) {
        return members;
      }
      Map<PeerId, Entry> next = new LinkedHashMap<>(members);
      next.put(peer, new Entry(entry.member(), node));
      return next;
    });
  }

  /** Removes {@code peer} from {@code room} whoever holds it: its session ended in its gap. */
  void remove(RoomId room, PeerId peer) {
    rooms.computeIfPresent(room, (key, members) -> {
      if (!members.containsKey(peer)) {
        return members;
      }
      Map<PeerId, Entry> next = new LinkedHashMap<>(members);
      next.remove(peer);
      return next.isEmpty() ? null : next;
    });
  }

  /** Removes every member {@code node} holds, in every room. */
  void leaveAll(String node) {
    for (RoomId room : rooms.keySet()) {
      rooms.computeIfPresent(room, (key, members) -> {
        Map<PeerId, Entry> next = new LinkedHashMap<>(members);
        next.values().removeIf(e -> e.node().equals(node));
        return next.isEmpty() ? null : next.size() == members.size() ? members : next;
      });
    }
  }

  List<JoinResult.Placed> members(RoomId room) {
    Map<PeerId, Entry> members = rooms.getOrDefault(room, Map.of());
    return members.values().stream().map(e -> new JoinResult.Placed(e.member(), e.node())).toList();
  }

  /**
   * Up to {@code limit} rooms with members, in name order, after the room named {@code after}
   * (from the start when null), and one more if there is one, which tells the caller a next page
   * exists.
   */
  List<RoomPage.RoomCount> roomsAfter(String after, int limit) {
    return rooms.entrySet().stream()
        .filter(e -> after == null || e.getKey().value().compareTo(after) > 0)
        .map(e -> new RoomPage.RoomCount(e.getKey(), e.getValue().size()))
        .sorted(Comparator.comparing(c -> c.room().value()))
        .limit(limit + 1L)
        .toList();
  }

  /** Asks every node to close the peer's connection; true when one did. */
  boolean disconnect(Disconnect request) {
    boolean done = false;
    for (LocalBackplane node : nodes.values()) {
      done |= node.onDisconnect(request);
    }
    return done;
  }

  /**
   * Numbers and stores the event for each recipient that is a session, then hands the message to
   * every node but its origin that is subscribed to its room, and to the origin too when it was
   * numbered; false (nothing delivered) for a relay already accepted.
   */
  boolean publish(BackplaneMessage message) {
    PeerId subject = message.subject();
    if (!sessions.acceptFrom(subject, message.senderSeq())) {
      return false;
    }
    List<PeerId> recipients;
    if (message.to() != null) {
      recipients = List.of(message.to());
    } else {
      Map<PeerId, Entry> members = rooms.getOrDefault(message.room(), Map.of());
      recipients = new ArrayList<>(members.size());
      for (PeerId member : members.keySet()) {
        if (!member.equals(subject)) {
          recipients.add(member);
        }
      }
    }
    Map<PeerId, Long> numbers = sessions.store(message, recipients);
    BackplaneMessage delivered = numbers.isEmpty() ? message : message.numbered(numbers);
    for (LocalBackplane node : nodes.values()) {
      if (!numbers.isEmpty() || !node.nodeId().equals(message.originNode())) {
        node.deliver(delivered);
      }
    }
    return true;
  }
}
