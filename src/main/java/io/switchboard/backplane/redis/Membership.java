package io.switchboard.backplane.redis;

import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.vertx.core.Future;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The membership scripts and what this node holds: join, leave, the re-assertion of held members
 * after an outage, and the retry of leaves that failed while Redis was unreachable.
 *
 * <p>A leave asked for while the same member's join is still in flight runs after that join has
 * been answered, so Redis never executes them in the opposite order (they may travel on
 * different pooled connections).
 *
 * <p>This node's room set (the reaper's list of the rooms to clear should the node die) is kept
 * here rather than by the room scripts, so that each script touches only its room's slot: a room
 * is added and answered before the node's first member there joins, and taken out after the
 * node's last member there has left, each room's additions and removals one after the other, in
 * order. The set may therefore hold a room the node no longer holds members in (the reaper finds
 * nothing there), never the other way round.
 *
 * <p>Confined to the backplane's context, except {@link #members}, which touches no state.
 */
final class Membership {
  // A member this node asserted; 'joined' completes with the join script's answer.
  private static final class Held {
    final String meta;
    Future<JoinResult> joined;
    boolean confirmed;

    Held(String meta) {
      this.meta = meta;
    }
  }

  private final ContextInternal context;
  private final Commands commands;
  private final RedisKeys keys;
  private final String nodeId;
  private final boolean resume;
  private final Map<RoomId, Map<PeerId, Held>> held = new HashMap<>();
  // Leaves not yet answered, which close() waits for.
  private final Set<Future<Void>> leavesInFlight = new HashSet<>();
  // Leaves that failed (Redis unreachable): retried, and announced, on the next connection.
  private final Set<BackplaneMessage> failedLeaves = new LinkedHashSet<>();
  // Per room, the last change to this node's room set: an addition or a removal, and its answer.
  private final Map<RoomId, Listing> listings = new HashMap<>();

  private record Listing(boolean listed, Future<Void> done) {}

  /**
   * @param resume whether sessions may resume: only then do the join and leave scripts record
   *     the member's rooms in its session hash (another slot, on a Redis Cluster)
   */
  Membership(ContextInternal context, Commands commands, RedisKeys keys, String nodeId, boolean resume) {
    this.context = context;
    this.commands = commands;
    this.keys = keys;
    this.nodeId = nodeId;
    this.resume = resume;
  }

  Future<JoinResult> join(RoomId room, Member member, int maxPeers) {
    Held entry = new Held(member.metaJson());
    held.computeIfAbsent(room, r -> new HashMap<>()).put(member.peer(), entry);
    Future<JoinResult> joined = list(room)
        .compose(listed -> recordInSession(room, member))
        .compose(recorded -> commands.script(LuaScripts.JOIN,
            roomKeys(room, member.peer()),
            List.of(member.peer().value(), nodeId, member.metaJson(), Integer.toString(maxPeers), room.value())))
        .compose(before -> {
          if (before == null) {
            if (spreadSessions(member.peer())) {
              commands.send(Request.cmd(Command.HDEL).arg(keys.session(member.peer())).arg("r:" + room.value()));
            }
            return context.failedFuture(new SignalingException(ErrorCode.ROOM_FULL, null));
          }
          List<JoinResult.Placed> others = new ArrayList<>();
          for (JoinResult.Placed m : placed(before)) {
            if (!m.member().peer().equals(member.peer())) {
              others.add(m);
            }
          }
          return context.succeededFuture(new JoinResult(others));
        });
    entry.joined = joined;
    // Registered before the caller's callbacks, so the entry is settled before they run.
    joined.onComplete(ar -> {
      Map<PeerId, Held> peers = held.get(room);
      if (peers == null || peers.get(member.peer()) != entry) {
        return; // left, or joined again, meanwhile
      }
      if (ar.succeeded()) {
        entry.confirmed = true;
      } else {
        forget(room, member.peer());
        unlistIfEmpty(room);
      }
    });
    return joined;
  }

  Future<Void> leave(RoomId room, PeerId peer) {
    Held entry = forget(room, peer);
    Future<?> after = entry == null ? context.succeededFuture() : entry.joined;
    Future<Void> done = after
        .transform(joined -> runLeave(room, peer))
        .onFailure(e -> failedLeaves.add(new BackplaneMessage(nodeId, room, null,
            new PeerLeft(room, peer, LeaveReason.DISCONNECT))));
    leavesInFlight.add(done);
    return done.onComplete(ar -> leavesInFlight.remove(done));
  }

  /** The members of {@code room} in join order. Any thread. */
  Future<List<JoinResult.Placed>> members(RoomId room) {
    return commands.send(Request.cmd(Command.HGETALL).arg(keys.members(room))).map(Membership::placed);
  }

  /**
   * A resumable member of this node went into its gap: its entry in Redis is no longer this
   * node's, so this node neither leaves nor re-asserts it any more.
   */
  Future<Void> release(RoomId room, PeerId peer) {
    forget(room, peer);
    return unlistIfEmpty(room);
  }

  /**
   * A resumable member this node claimed: held from now on, as if it had joined here. The claim
   * added the room to this node's set, in the same step (spread: just before it took the entry).
   */
  void adopt(RoomId room, PeerId peer, String meta) {
    Held entry = new Held(meta);
    entry.joined = context.succeededFuture(new JoinResult(List.of()));
    entry.confirmed = true;
    held.computeIfAbsent(room, r -> new HashMap<>()).put(peer, entry);
    Listing last = listings.get(room);
    if (last == null || !last.listed()) {
      listings.put(room, new Listing(true, settled(last)));
    }
  }

  /**
   * On a new connection: puts back every held room in this node's set, and every held member
   * Redis lost (a restarted Redis may have lost everything), announcing those with {@code publish}.
   */
  Future<Void> reassert(Function<BackplaneMessage, Future<Void>> publish) {
    return reassert(List.copyOf(held.keySet()), publish);
  }

  /** As {@link #reassert(Function)}, for {@code rooms} only. */
  Future<Void> reassert(Collection<RoomId> rooms, Function<BackplaneMessage, Future<Void>> publish) {
    List<Future<Void>> done = new ArrayList<>();
    for (RoomId room : rooms) {
      if (held.containsKey(room)) {
        listings.remove(room);
        done.add(list(room));
      }
    }
    for (RoomId room : rooms) {
      held.getOrDefault(room, Map.of()).forEach((peer, entry) -> {
        if (!entry.confirmed) {
          return; // its join is still in flight and will store it
        }
        Member member = new Member(peer, entry.meta);
        done.add(list(room).compose(listed -> commands.script(LuaScripts.REASSERT,
                List.of(keys.members(room), keys.seq(room)), List.of(peer.value(), nodeId, entry.meta)))
            .compose(readded -> readded != null && readded.toInteger() == 1
                // Other nodes may have announced it lost; tell them it is back.
                ? publish.apply(new BackplaneMessage(nodeId, room, null, new PeerJoined(room, member)))
                : context.succeededFuture()));
      });
    }
    return Future.all(done).mapEmpty();
  }

  /** On a new connection: the leaves that failed, and the peer-left the hub could not send then. */
  Future<Void> retryFailedLeaves(Function<BackplaneMessage, Future<Void>> publish) {
    List<Future<Void>> done = new ArrayList<>();
    for (BackplaneMessage announcement : List.copyOf(failedLeaves)) {
      PeerLeft left = (PeerLeft) announcement.event();
      done.add(runLeave(left.room(), left.peer())
          .compose(v -> publish.apply(announcement))
          .onSuccess(v -> failedLeaves.remove(announcement)));
    }
    return Future.all(done).mapEmpty();
  }

  /** For close: every held member leaves; completes when those and the leaves in flight are answered. */
  Future<Void> leaveAll() {
    List<Future<Void>> leaves = new ArrayList<>(leavesInFlight);
    List<Map.Entry<RoomId, PeerId>> all = new ArrayList<>();
    held.forEach((room, peers) -> peers.keySet().forEach(peer -> all.add(Map.entry(room, peer))));
    for (Map.Entry<RoomId, PeerId> member : all) {
      leaves.add(leave(member.getKey(), member.getValue()));
    }
    return Future.join(leaves).mapEmpty();
  }

  private Held forget(RoomId room, PeerId peer) {
    Map<PeerId, Held> peers = held.get(room);
    if (peers == null) {
      return null;
    }
    Held entry = peers.remove(peer);
    if (peers.isEmpty()) {
      held.remove(room);
    }
    return entry;
  }

  private Future<Void> runLeave(RoomId room, PeerId peer) {
    return commands.script(LuaScripts.LEAVE,
            roomKeys(room, peer),
            List.of(peer.value(), nodeId, room.value()))
        .compose(left -> spreadSessions(peer) && left != null && left.toInteger() == 1
            ? commands.send(Request.cmd(Command.HDEL).arg(keys.session(peer)).arg("r:" + room.value())).<Void>mapEmpty()
            : context.<Void>succeededFuture())
        .compose(forgotten -> unlistIfEmpty(room));
  }

  private List<String> roomKeys(RoomId room, PeerId peer) {
    return resume && !keys.spread() ? List.of(keys.members(room), keys.seq(room), keys.session(peer))
        : List.of(keys.members(room), keys.seq(room));
  }

  // Whether 'peer' may have a session whose rooms this node records apart from the room's own
  // script (the spread layout of a Redis Cluster, where the two are in different slots).
  private boolean spreadSessions(PeerId peer) {
    return resume && keys.spread() && peer.resumable();
  }

  // Before the join, so that a resume never misses a room its session holds a member in.
  private Future<Void> recordInSession(RoomId room, Member member) {
    if (!spreadSessions(member.peer())) {
      return context.succeededFuture();
    }
    return commands.script(LuaScripts.SESSION_ROOM, List.of(keys.session(member.peer())),
        List.of(room.value(), member.metaJson())).mapEmpty();
  }

  // Adds the room to this node's set, after whatever change to it came before, unless the last
  // change already did (and succeeded).
  private Future<Void> list(RoomId room) {
    Listing last = listings.get(room);
    if (last != null && last.listed() && !last.done().failed()) {
      return last.done();
    }
    Future<Void> added = settled(last).compose(v -> commands.send(Request.cmd(Command.SADD).arg(keys.nodeRooms(nodeId))
        .arg(room.value()))).mapEmpty();
    listings.put(room, new Listing(true, added));
    return added;
  }

  // When the last change to the room's listing is over, however it ended.
  private Future<Void> settled(Listing last) {
    return last == null ? context.succeededFuture() : last.done().transform(ar -> context.succeededFuture());
  }

  // Takes the room out of this node's set when the node holds no member there (a join since
  // then keeps it), after whatever change to it came before.
  private Future<Void> unlistIfEmpty(RoomId room) {
    Listing last = listings.get(room);
    if (held.containsKey(room) || last == null || !last.listed()) {
      return context.succeededFuture();
    }
    Future<Void> removed = settled(last).compose(v -> commands.send(Request.cmd(Command.SREM)
        .arg(keys.nodeRooms(nodeId)).arg(room.value()))).mapEmpty();
    Listing removal = new Listing(false, removed);
    listings.put(room, removal);
    return removed.onComplete(ar -> {
      if (listings.get(room) == removal) {
        listings.remove(room);
      }
    });
  }

  private record Stored(JoinResult.Placed placed, long seq) {}

  /** Parses HGETALL output of a members hash, in join order. */
  static List<JoinResult.Placed> placed(Response flat) {
    List<Stored> members = new ArrayList<>();
    if (flat == null) {
      return List.of();
    }
    // HGETALL answers a map under RESP3 and a flat key, value array under RESP2.
    List<String> items = new ArrayList<>();
    if (flat.isMap()) {
      for (String key : flat.getKeys()) {
        items.add(key);
        items.add(flat.get(key).toString());
      }
    } else {
      for (int i = 0; i < flat.size(); i++) {
        items.add(flat.get(i).toString());
      }
    }
    for (int i = 0; i + 1 < items.size(); i += 2) {
      members.add(parseValue(items.get(i), items.get(i + 1)));
    }
    members.sort(Comparator.comparingLong(Stored::seq));
    return members.stream().map(Stored::placed).toList();
  }

  // The value is written by join.lua as {"node":"N","seq":S,"meta":M}.
  private static Stored parseValue(String peer, String value) {
    int nodeStart = value.indexOf("\"node\":\"") + 8;
    int nodeEnd = value.indexOf('"', nodeStart);
    int seqStart = value.indexOf("\"seq\":", nodeEnd) + 6;
    int seqEnd = value.indexOf(',', seqStart);
    int metaStart = value.indexOf("\"meta\":", seqEnd) + 7;
    String meta = value.substring(metaStart, value.length() - 1);
    return new Stored(new JoinResult.Placed(new Member(new PeerId(peer), meta), value.substring(nodeStart, nodeEnd)),
        Long.parseLong(value.substring(seqStart, seqEnd)));
  }
}
