package io.switchboard.backplane.local;

import io.switchboard.wire.RoomMeta;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.ServerMessage;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The resumable sessions of an in-memory cluster and their buffers of numbered events: what the
 * session hashes and lists are on Redis (docs/protocol.md, "Resume"). Each session is changed
 * under its own lock, so relays to different peers do not contend.
 */
final class LocalSessions {
  /** A session's state; guarded by its own monitor. */
  private static final class Stored {
    String tokenHash;
    String previousTokenHash;
    final String subject;
    long epoch = 1;
    // The owning node, or null while the session is in its gap.
    String node;
    long seq;
    long in;
    long bytes;
    long gapDeadline;
    long gapSince;
    boolean overflowed;
    final Map<RoomId, String> rooms = new LinkedHashMap<>();
    final ArrayDeque<Numbered> buffer = new ArrayDeque<>();
    final ArrayDeque<Long> sizes = new ArrayDeque<>();

    Stored(String tokenHash, String subject, String node) {
      this.tokenHash = tokenHash;
      this.subject = subject;
      this.node = node;
    }
  }

  private final ConcurrentHashMap<PeerId, Stored> sessions = new ConcurrentHashMap<>();
  private final int maxEvents;
  private final long maxBytes;

  LocalSessions(int maxEvents, long maxBytes) {
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
  }

  void register(PeerId peer, String tokenHash, String subject, String node) {
    sessions.putIfAbsent(peer, new Stored(tokenHash, subject, node));
  }

  /** Records the room and meta of a member that is a session. */
  void joined(PeerId peer, RoomId room, String meta) {
    Stored s = sessions.get(peer);
    if (s != null) {
      synchronized (s) {
        s.rooms.put(room, meta);
      }
    }
  }

  void left(PeerId peer, RoomId room) {
    Stored s = sessions.get(peer);
    if (s != null) {
      synchronized (s) {
        s.rooms.remove(room);
      }
    }
  }

  /**
   * Whether a relay numbered {@code senderSeq} from {@code sender} is new, recording it if so;
   * always true for an unnumbered relay or a sender that is no session.
   */
  boolean acceptFrom(PeerId sender, long senderSeq) {
    if (senderSeq <= 0 || sender == null) {
      return true;
    }
    Stored s = sessions.get(sender);
    if (s == null) {
      return true;
    }
    synchronized (s) {
      if (senderSeq <= s.in) {
        return false;
      }
      s.in = senderSeq;
      return true;
    }
  }

  /** Numbers and stores {@code message} for each recipient that is a session; their numbers. */
  Map<PeerId, Long> store(BackplaneMessage message, Collection<PeerId> recipients) {
    Map<PeerId, Long> numbers = null;
    long size = sizeOf(message.event());
    for (PeerId recipient : recipients) {
      Stored s = sessions.get(recipient);
      if (s == null) {
        continue;
      }
      long seq;
      synchronized (s) {
        seq = ++s.seq;
        s.buffer.add(new Numbered(seq, message));
        s.sizes.add(size);
        s.bytes += size;
        boolean dropped = false;
        while (s.buffer.size() > maxEvents || s.bytes > maxBytes) {
          s.buffer.poll();
          s.bytes -= s.sizes.poll();
          dropped = true;
        }
        if (dropped && s.node == null) {
          s.overflowed = true; // ended at the next expire
        }
      }
      if (numbers == null) {
        numbers = new HashMap<>();
      }
      numbers.put(recipient, seq);
    }
    return numbers == null ? Map.of() : numbers;
  }

  /** Roughly what the event costs to keep: its payload and an envelope's worth. */
  private static long sizeOf(Event event) {
    if (event instanceof Relayed r) {
      return r.data().length() + 64L;
    }
    if (event instanceof ServerMessage m) {
      return m.data().length() + 64L;
    }
    return 96;
  }

  void ack(PeerId peer, long seq) {
    Stored s = sessions.get(peer);
    if (s == null) {
      return;
    }
    synchronized (s) {
      while (!s.buffer.isEmpty() && s.buffer.peek().seq() <= seq) {
        s.buffer.poll();
        s.bytes -= s.sizes.poll();
      }
    }
  }

  /** Puts the session in its gap if {@code node} owns it at {@code epoch}; its rooms, or none. */
  List<RoomId> suspend(PeerId peer, long epoch, long deadline, String node, long now) {
    Stored s = sessions.get(peer);
    if (s == null) {
      return List.of();
    }
    synchronized (s) {
      if (s.epoch != epoch || !node.equals(s.node)) {
        return List.of();
      }
      s.node = null;
      s.gapDeadline = deadline;
      s.gapSince = now;
      return List.copyOf(s.rooms.keySet());
    }
  }

  Claim claim(PeerId peer, String tokenHash, String subject, long lastSeq, String newTokenHash, String node) {
    Stored s = sessions.get(peer);
    if (s == null) {
      throw refused(ErrorCode.RESUME_EXPIRED);
    }
    synchronized (s) {
      if (!s.tokenHash.equals(tokenHash)) {
        throw refused(tokenHash.equals(s.previousTokenHash) ? ErrorCode.RESUME_EXPIRED : ErrorCode.RESUME_REFUSED);
      }
      if (!Objects.equals(s.subject, subject)) {
        throw refused(ErrorCode.RESUME_REFUSED);
      }
      if (s.overflowed) {
        throw refused(ErrorCode.RESUME_LOST);
      }
      if (lastSeq > s.seq) {
        throw refused(ErrorCode.BAD_SEQUENCE);
      }
      long first = s.buffer.isEmpty() ? s.seq + 1 : s.buffer.peek().seq();
      if (first > lastSeq + 1) {
        s.overflowed = true;
        s.node = null;
        s.gapDeadline = 0;
        throw refused(ErrorCode.RESUME_LOST);
      }
      s.epoch++;
      s.node = node;
      s.previousTokenHash = s.tokenHash;
      s.tokenHash = newTokenHash;
      long gapSince = s.gapDeadline > 0 ? s.gapSince : 0;
      s.gapDeadline = 0;
      s.gapSince = 0;
      List<RoomMeta> rooms = new ArrayList<>();
      s.rooms.forEach((room, meta) -> rooms.add(new RoomMeta(room, meta)));
      return new Claim(s.epoch, s.in, rooms, gapSince);
    }
  }

  private static SignalingException refused(ErrorCode code) {
    return new SignalingException(code, code.defaultMessage(), null);
  }

  List<Numbered> replay(PeerId peer, long after) {
    Stored s = sessions.get(peer);
    if (s == null) {
      return List.of();
    }
    synchronized (s) {
      List<Numbered> out = new ArrayList<>();
      for (Numbered stored : s.buffer) {
        if (stored.seq() > after) {
          out.add(stored);
        }
      }
      return out;
    }
  }

  /** A session ended in its gap: its rooms, and whether it overflowed. */
  record Ended(PeerId peer, List<RoomId> rooms, boolean overflowed) {}

  /** Removes the sessions whose gap passed, or that overflowed in it; each is returned once. */
  List<Ended> expire(long now) {
    List<Ended> ended = new ArrayList<>();
    for (Map.Entry<PeerId, Stored> entry : sessions.entrySet()) {
      Stored s = entry.getValue();
      synchronized (s) {
        boolean due = s.node == null && (s.overflowed || s.gapDeadline <= now);
        if (due && sessions.remove(entry.getKey(), s)) {
          ended.add(new Ended(entry.getKey(), List.copyOf(s.rooms.keySet()), s.overflowed));
        }
      }
    }
    return ended;
  }

  void forget(PeerId peer, long epoch) {
    Stored s = sessions.get(peer);
    if (s != null) {
      synchronized (s) {
        if (s.epoch == epoch) {
          sessions.remove(peer, s);
        }
      }
    }
  }
}
