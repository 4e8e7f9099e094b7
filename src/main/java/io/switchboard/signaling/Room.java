package io.switchboard.signaling;

import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RequestTag;
import io.switchboard.wire.RoomId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One room as this node sees it: its membership, the local joins in flight, and the rules that
 * keep the two consistent with what other nodes announce. The {@link Hub} keeps rooms in a
 * concurrent map and calls every method here inside {@code compute} on the room's key, which
 * serialises them; relays read {@link #view()} without locking.
 *
 * <p>States:
 * <ul>
 *   <li>{@link State#JOINING}: local joins are in flight and no local member is in yet. What
 *       other nodes announce is kept (the remote part of the view, and who left), because a join
 *       reads the room's roster before those announcements arrive and must not undo them.</li>
 *   <li>{@link State#OPEN}: at least one local member. The view is the room's whole membership
 *       as this node knows it; more joins may be in flight.</li>
 *   <li>{@link State#CLOSED}: neither. The hub drops the room; the node is unsubscribed and
 *       its picture of remote members would go stale, so a later join starts afresh.</li>
 * </ul>
 *
 * <p>Every change stores the new view before it sends the events that describe it, so a client
 * reacting to an event (an offer to a peer it just heard of) is served from a view that already
 * shows what the event said.
 *
 * <p>A resumable session's room events are numbered by the backplane and reach it only through
 * the hub's numbered path, never from here; only the repairs of {@link #resync} and {@link
 * #reconcile}, which no node published, go to every local member.
 */
final class Room {
  /** Where a room stands on this node; see the class comment. */
  enum State { JOINING, OPEN, CLOSED }

  private final RoomId id;
  private final String nodeId;
  private volatile RoomView view = RoomView.EMPTY;
  private int pendingJoins;
  // Members other nodes announced gone while a local join was in flight.
  private final Set<PeerId> departedDuringJoin = new HashSet<>(0);
  // Differences the last reconciliation saw; repaired if the next one sees them again.
  private Set<PeerId> suspectMissing = Set.of();
  private Set<PeerId> suspectGone = Set.of();

  Room(RoomId id, String nodeId) {
    this.id = id;
    this.nodeId = nodeId;
  }

  State state() {
    if (view.hasLocals()) {
      return State.OPEN;
    }
    return pendingJoins > 0 ? State.JOINING : State.CLOSED;
  }

  RoomView view() {
    return view;
  }

  /** This room, or null when it is {@link State#CLOSED} and the hub should drop it. */
  private Room keptOrNull() {
    if (pendingJoins == 0) {
      departedDuringJoin.clear();
    }
    if (state() == State.CLOSED) {
      return null;
    }
    return this;
  }

  // ---- local joins and departures ----

  Room startJoin() {
    pendingJoins++;
    return this;
  }

  /** A local join in flight will not complete (refused, failed, or its socket closed). */
  Room abandonJoin() {
    pendingJoins--;
    return keptOrNull();
  }

  /**
   * A local join completed: {@code session} is in, with the members the backplane had before
   * it. Members of that roster this node did not know are added and announced to the local
   * members (their own announcements will now be taken as repeats), except those announced gone
   * since; local members hear {@code peer-joined}; the joiner gets {@code joined} with the room
   * as this node now sees it.
   */
  Room admit(Session session, Member me, List<JoinResult.Placed> rosterBefore, RequestTag tag) {
    pendingJoins--;
    List<Entry> entries = view.asList();
    List<PeerJoined> learned = new ArrayList<>();
    for (JoinResult.Placed other : rosterBefore) {
      PeerId peer = other.member().peer();
      if (!other.node().equals(nodeId) && RoomView.find(entries, peer) == null
          && !departedDuringJoin.contains(peer)) {
        entries.add(new Entry(other.member(), null));
        learned.add(new PeerJoined(id, other.member()));
      }
    }
    List<Member> roster = new ArrayList<>(entries.size());
    for (Entry entry : entries) {
      roster.add(entry.member());
    }
    List<Entry> before = entries;
    List<Entry> after = new ArrayList<>(before);
    after.add(new Entry(me, session));
    view = new RoomView(after);
    PeerJoined announcement = new PeerJoined(id, me);
    for (Entry entry : before) {
      if (entry.local() != null && !entry.local().numbered()) {
        learned.forEach(entry.local().outbound()::send);
        entry.local().outbound().send(announcement);
      }
    }
    session.outbound().send(new Joined(id, me.peer(), roster, tag));
    return keptOrNull();
  }

  /**
   * A resumed session is back on this node: its entry, remote or absent here until now, becomes
   * local, and members of {@code roster} this node did not know are added. Nobody hears anything
   * from here: the session's {@code peer-resumed} goes through the backplane, and what it missed
   * comes from its buffer.
   */
  Room admitResumed(Session session, Member me, List<JoinResult.Placed> roster) {
    pendingJoins--;
    List<Entry> entries = new ArrayList<>();
    boolean placed = false;
    for (Entry entry : view.entries) {
      if (entry.member().peer().equals(me.peer())) {
        entries.add(new Entry(me, session));
        placed = true;
      } else {
        entries.add(entry);
      }
    }
    if (!placed) {
      entries.add(new Entry(me, session));
    }
    for (JoinResult.Placed other : roster) {
      PeerId peer = other.member().peer();
      if (!peer.equals(me.peer()) && RoomView.find(entries, peer) == null && !departedDuringJoin.contains(peer)) {
        entries.add(new Entry(other.member(), null));
      }
    }
    view = new RoomView(entries);
    return keptOrNull();
  }

  /**
   * A local member's socket is gone but its session lives on elsewhere (in its gap, or resumed
   * on another socket): it stays a member, now a remote one, and nobody here hears of it.
   */
  Room suspend(Session session) {
    List<Entry> entries = new ArrayList<>(view.entries.length);
    for (Entry entry : view.entries) {
      entries.add(entry.local() == session ? new Entry(entry.member(), null) : entry);
    }
    RoomView next = new RoomView(entries);
    view = next.hasLocals() || pendingJoins > 0 ? next : RoomView.EMPTY;
    return keptOrNull();
  }

  /** A local member left or closed: the other local members hear {@code announcement}. */
  Room depart(Session session, PeerLeft announcement) {
    List<Entry> entries = new ArrayList<>(view.entries.length);
    for (Entry entry : view.entries) {
      if (entry.local() != session) {
        entries.add(entry);
      }
    }
    RoomView next = new RoomView(entries);
    // With no local member left and no join in flight the node unsubscribes, so its picture of
    // remote members would go stale: forget it.
    view = next.hasLocals() || pendingJoins > 0 ? next : RoomView.EMPTY;
    next.sendToLocals(announcement);
    return keptOrNull();
  }

  // ---- what other nodes announce ----

  Room remoteJoined(PeerJoined joined) {
    PeerId peer = joined.member().peer();
    departedDuringJoin.remove(peer);
    if (view.find(peer) != null) {
      return this;
    }
    List<Entry> entries = view.asList();
    entries.add(new Entry(joined.member(), null));
    view = new RoomView(entries);
    view.sendToLocals(joined);
    return this;
  }

  Room remoteLeft(PeerLeft left) {
    if (pendingJoins > 0) {
      // A join in flight may have read this member in its roster before the departure; known
      // here or not, it must not come back from that roster.
      departedDuringJoin.add(left.peer());
    }
    Entry gone = view.find(left.peer());
    if (gone == null || gone.local() != null) {
      return this;
    }
    List<Entry> entries = view.asList();
    entries.remove(gone);
    view = new RoomView(entries);
    view.sendToLocals(left);
    return this;
  }

  /**
   * After the backplane was cut off: {@code members} is the room's whole membership, and every
   * difference from the view is a missed event, applied at once.
   */
  Room resync(List<JoinResult.Placed> members) {
    if (!view.hasLocals()) {
      return this; // a join in flight will read the roster itself
    }
    apply(differences(members), null, null);
    return this;
  }

  /**
   * The periodic check: a difference is repaired only when the previous check saw it too, since
   * one seen once may be an announcement still in flight. Skipped while a join is in flight.
   *
   * @return how many members were added or removed
   */
  int reconcile(List<JoinResult.Placed> members) {
    if (!view.hasLocals() || pendingJoins > 0) {
      suspectMissing = Set.of();
      suspectGone = Set.of();
      return 0;
    }
    Differences seen = differences(members);
    int repaired = apply(seen, suspectMissing, suspectGone);
    suspectMissing = unrepaired(seen.missing.keySet(), suspectMissing);
    suspectGone = unrepaired(seen.gone, suspectGone);
    return repaired;
  }

  private static Set<PeerId> unrepaired(Set<PeerId> seen, Set<PeerId> before) {
    Set<PeerId> next = new HashSet<>(seen);
    next.removeAll(before);
    return next.isEmpty() ? Set.of() : next;
  }

  private record Differences(java.util.Map<PeerId, Member> missing, Set<PeerId> gone) {}

  private Differences differences(List<JoinResult.Placed> members) {
    java.util.Map<PeerId, Member> missing = new java.util.LinkedHashMap<>();
    Set<PeerId> remoteThere = new HashSet<>();
    for (JoinResult.Placed placed : members) {
      if (!placed.node().equals(nodeId)) {
        remoteThere.add(placed.member().peer());
        if (view.find(placed.member().peer()) == null) {
          missing.put(placed.member().peer(), placed.member());
        }
      }
    }
    Set<PeerId> gone = new HashSet<>();
    for (Entry entry : view.entries) {
      if (entry.local() == null && !remoteThere.contains(entry.member().peer())) {
        gone.add(entry.member().peer());
      }
    }
    return new Differences(missing, gone);
  }

  /** Applies the differences confirmed by {@code confirm…} (all of them when those are null). */
  private int apply(Differences seen, Set<PeerId> confirmMissing, Set<PeerId> confirmGone) {
    List<Entry> entries = new ArrayList<>();
    List<Event> news = new ArrayList<>();
    for (Entry entry : view.entries) {
      PeerId peer = entry.member().peer();
      if (seen.gone.contains(peer) && (confirmGone == null || confirmGone.contains(peer))) {
        news.add(new PeerLeft(id, peer, LeaveReason.DISCONNECT));
      } else {
        entries.add(entry);
      }
    }
    for (Member member : seen.missing.values()) {
      if (confirmMissing == null || confirmMissing.contains(member.peer())) {
        entries.add(new Entry(member, null));
        news.add(new PeerJoined(id, member));
      }
    }
    if (!news.isEmpty()) {
      view = new RoomView(entries);
      news.forEach(view::sendToAllLocals);
    }
    return news.size();
  }

  /** A room member as this node sees it; {@code local} is null for a member on another node. */
  record Entry(Member member, Session local) {}

  /** An immutable snapshot of one room on this node, replaced on every membership change. */
  static final class RoomView {
    static final RoomView EMPTY = new RoomView(List.of());

    final Entry[] entries;
    final int remoteCount;

    RoomView(List<Entry> entries) {
      this.entries = entries.toArray(new Entry[0]);
      int remote = 0;
      for (Entry entry : this.entries) {
        remote += entry.local() == null ? 1 : 0;
      }
      this.remoteCount = remote;
    }

    boolean hasLocals() {
      return remoteCount < entries.length;
    }

    List<Entry> asList() {
      return new ArrayList<>(List.of(entries));
    }

    Entry find(PeerId peer) {
      for (Entry entry : entries) {
        if (entry.member().peer().equals(peer)) {
          return entry;
        }
      }
      return null;
    }

    static Entry find(List<Entry> entries, PeerId peer) {
      for (Entry entry : entries) {
        if (entry.member().peer().equals(peer)) {
          return entry;
        }
      }
      return null;
    }

    List<Member> membersExcept(PeerId peer) {
      List<Member> members = new ArrayList<>(entries.length);
      for (Entry entry : entries) {
        if (!entry.member().peer().equals(peer)) {
          members.add(entry.member());
        }
      }
      return members;
    }

    /** To the local members whose room events are not numbered (the others get theirs numbered). */
    void sendToLocals(Event event) {
      for (Entry entry : entries) {
        if (entry.local() != null && !entry.local().numbered()) {
          entry.local().outbound().send(event);
        }
      }
    }

    void sendToAllLocals(Event event) {
      for (Entry entry : entries) {
        if (entry.local() != null) {
          entry.local().outbound().send(event);
        }
      }
    }
  }
}
