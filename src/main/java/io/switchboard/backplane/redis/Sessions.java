package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.Claim;
import io.switchboard.signaling.port.Expired;
import io.switchboard.signaling.port.Numbered;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.RoomMeta;
import io.switchboard.wire.SignalingException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resumable sessions (docs/protocol.md, "Resume"; the keys in docs/clustering.md): the numbered
 * publish and the scripts that register, acknowledge, suspend, claim, replay, expire and forget a
 * session. Each is one script, so each is one atomic step on Redis, except the store of a relay
 * to one resumable peer, which on a single server without {@code REDIS_WAIT_REPLICAS} is a
 * transaction of plain commands whose reply gives the event its number
 * ({@link #storeThenPublish}), and everything in the spread layout of a Redis Cluster, where a
 * session's keys, its rooms' and the node keys live in different slots: there each is a few
 * steps, each one script or command in one slot, ordered so that a node that dies between two
 * of them leaves nothing nobody would end (docs/clustering.md, "Resume, spread").
 *
 * <p>{@link #publish} runs on the caller's thread, like the plain publish it replaces; what it
 * keeps (the relay numbers it stored per sender) is in a concurrent map.
 */
final class Sessions {
  private static final Logger log = LoggerFactory.getLogger(Sessions.class);
  /** The most sessions one {@link #expire} call ends, so that one script never runs long. */
  static final int EXPIRE_BATCH = 100;

  private final ContextInternal context;
  private final Commands commands;
  private final RedisKeys keys;
  private final String nodeId;
  private final RedisBackplane.Resume resume;
  private final ReplicaAcks replicaAcks;
  /** One event in a session's load, whose count sits above its bytes (buffer.lua). */
  static final long LOAD_EVENT = 1L << 32;

  private final LuaScripts.Script publishScript;
  private final boolean plainStores;
  // The spread layout of a Redis Cluster: each step about a session, a room or the node keys is a
  // script or command of its own, in its own slot (docs/clustering.md, "Resume, spread").
  private final boolean spread;
  // With plain stores, or spread: the highest relay n stored for each numbering sender this node
  // holds, which tells a retransmission apart, as publish.lua does from the session's "in"; or
  // UNSURE once a store went unanswered (it may have happened all the same), until the sender's
  // next relay settles it (through publish.lua, or spread by reading "in"). Absent means none
  // stored: a new session, or one whose claim here put in what it had accepted before.
  private final ConcurrentHashMap<PeerId, Long> accepted = new ConcurrentHashMap<>();
  private static final long UNSURE = -1;
  private static final long STREAM_NODE_BYTES_ADVISED = 512;
  private final AtomicBoolean streamNodeChecked = new AtomicBoolean();

  /**
   * @param plainStores whether a relay to one resumable peer is stored with plain commands
   *     ({@link #storeThenPublish}); every node of a deployment must agree, since a resume then
   *     fences the session's previous node ({@link Fence})
   */
  Sessions(ContextInternal context, Commands commands, RedisKeys keys, String nodeId, RedisBackplane.Resume resume,
      ReplicaAcks replicaAcks, boolean plainStores) {
    this.context = context;
    this.commands = commands;
    this.keys = keys;
    this.nodeId = nodeId;
    this.resume = resume;
    this.replicaAcks = replicaAcks;
    this.publishScript = keys.pubSub() == PubSub.SHARDED ? LuaScripts.SHARDED_PUBLISH : LuaScripts.PUBLISH;
    this.plainStores = plainStores && enabled();
    this.spread = keys.spread() && enabled();
  }

  /**
   * Warns, once, when Redis gives each stream node a first allocation far above one buffered
   * event: every session with an event waiting then costs that much Redis memory (4 KiB with
   * Redis's default). Managed servers often refuse CONFIG: then nothing is said.
   */
  private void checkStreamNodeSize(RedisConnection publisher) {
    if (!streamNodeChecked.compareAndSet(false, true)) {
      return;
    }
    publisher.send(Request.cmd(Command.CONFIG).arg("GET").arg("stream-node-max-bytes")).onSuccess(reply -> {
      Response value = reply.isMap() ? reply.get("stream-node-max-bytes") : reply.size() == 2 ? reply.get(1) : null;
      if (value != null && value.toLong() > STREAM_NODE_BYTES_ADVISED * 2) {
        log.warn("Redis's stream-node-max-bytes is {}: each resumable session with an event buffered costs Redis at "
            + "least that much memory; {} does for an event of a few hundred bytes (docs/operations.md, \"Redis memory "
            + "of resumable sessions\")", value, STREAM_NODE_BYTES_ADVISED);
      }
    });
  }

  boolean enabled() {
    return resume.windowMillis() > 0;
  }

  /** Whether a Redis of {@code version} gives an entry added with id {@code 0-*} the next number. */
  static boolean numbersStreamEntries(String version) {
    int dot = version.indexOf('.');
    try {
      return Integer.parseInt(dot < 0 ? version : version.substring(0, dot)) >= 7;
    } catch (NumberFormatException e) {
      return true; // not a version this can read: the first store will tell
    }
  }

  private static String infoField(String info, String name) {
    for (String line : info.split("\r?\n")) {
      if (line.startsWith(name + ":")) {
        return line.substring(name.length() + 1).trim();
      }
    }
    return "";
  }

  boolean plainStores() {
    return plainStores;
  }

  /**
   * Whether this node tells a retransmitted relay apart by what it stored for the sender (plain
   * stores, or the spread layout of a Redis Cluster), so that a resume must fence off the
   * session's previous node before it reads what the session accepted ({@link Fence}).
   */
  boolean fencesResumes() {
    return plainStores || spread;
  }

  /** Loads the scripts a publish may run on a new publisher connection, before anything uses them. */
  Future<Void> prepare(RedisConnection publisher) {
    if (!enabled()) {
      return context.succeededFuture();
    }
    checkStreamNodeSize(publisher);
    Future<?> loaded = publisher.send(Request.cmd(Command.INFO).arg("server"))
        .compose(info -> {
          String version = infoField(info.toString(), "redis_version");
          return numbersStreamEntries(version) ? context.succeededFuture()
              : context.failedFuture("resume (RESUME_WINDOW_SECONDS above 0) needs Redis 7.0 or later, which numbers a "
                  + "stream's entries (XADD 0-*); this server is " + version + ": upgrade it, or set RESUME_WINDOW_SECONDS=0");
        })
        .compose(v -> LuaScripts.load(publisher, publishScript))
        .compose(v -> LuaScripts.load(publisher, LuaScripts.ACK));
    return (plainStores || spread ? loaded.compose(v -> LuaScripts.load(publisher, LuaScripts.BOUND)) : loaded).mapEmpty();
  }

  /**
   * Numbers, stores and publishes {@code message} on {@code publisher}, the connection every
   * publish of this node uses, so that one thread's publishes keep their order. With
   * {@code REDIS_WAIT_REPLICAS}, completes once that many replicas have it; a relay its sender
   * numbered is also published only then, so that nobody hears one that a failover may still
   * lose: refused, its sender sends it again. A retransmission found stored (its first copy's
   * wait may have failed, so it may never have been published) makes the room's nodes read their
   * buffers again instead. Everything else (membership events, server messages, relays that are
   * not numbered) nobody sends again, so it is published as it is stored, and heard even when
   * the wait fails: a replica that is down must not silence the rooms. Any thread.
   */
  Future<Void> publish(RedisConnection publisher, BackplaneMessage message) {
    if (spread) {
      return spreadPublish(publisher, message);
    }
    PeerId to = message.to();
    if (!plainStores || to == null || !to.resumable()) {
      return scriptPublish(publisher, message);
    }
    if (message.senderSeq() == 0) {
      return storeThenPublish(publisher, message);
    }
    return switch (stored(message)) {
      case BEFORE -> Future.succeededFuture(); // a retransmission: stored, and published, before
      case UNSURE -> recorded(message, scriptPublish(publisher, message));
      case NOT_YET -> recorded(message, storeThenPublish(publisher, message));
    };
  }

  /** Whether this node stored a numbered relay before, as far as it knows ({@link #accepted}). */
  private enum Stored { BEFORE, NOT_YET, UNSURE }

  private Stored stored(BackplaneMessage message) {
    Long known = accepted.get(message.subject());
    if (known == null) {
      return Stored.NOT_YET;
    }
    return known == UNSURE ? Stored.UNSURE : message.senderSeq() <= known ? Stored.BEFORE : Stored.NOT_YET;
  }

  // What became of a numbered relay's store, for the sender's next one.
  private Future<Void> recorded(BackplaneMessage message, Future<Void> stored) {
    PeerId sender = message.subject();
    return stored.andThen(ar -> {
      if (ar.succeeded()) {
        accepted.merge(sender, message.senderSeq(), Math::max);
      } else {
        accepted.put(sender, UNSURE);
      }
    });
  }

  /** {@code peer}'s session is no longer this node's to publish for: forgets what it stored. */
  void letGo(PeerId peer) {
    accepted.remove(peer);
  }

  /** This node claimed {@code peer}'s session, which had accepted relays up to {@code n}. */
  void claimedHere(PeerId peer, long n) {
    if (fencesResumes()) {
      accepted.put(peer, n);
    }
  }

  /** {@link #publish} through publish.lua. */
  private Future<Void> scriptPublish(RedisConnection publisher, BackplaneMessage message) {
    long sentMicros = WireFormat.nowMicros();
    WireFormat.Parts parts = WireFormat.parts(message, sentMicros);
    boolean publishWhenReplicated = replicaAcks.enabled() && message.senderSeq() > 0;
    PeerId subject = message.subject();
    List<Buffer> args = new ArrayList<>(List.of(
        Buffer.buffer(keys.prefix()),
        Buffer.buffer(subject == null ? "" : subject.value()),
        Buffer.buffer(Long.toString(message.senderSeq())),
        Buffer.buffer(message.to() == null ? "" : message.to().value()),
        Buffer.buffer(parts.header()),
        // Only the body: a relay's data is a slice of the whole frame it came in.
        Buffer.buffer(parts.bodyLength()).appendBytes(parts.body(), parts.bodyStart(), parts.bodyLength()),
        Buffer.buffer(message.room().value()),
        Buffer.buffer(Integer.toString(resume.maxEvents())),
        Buffer.buffer(Integer.toString(resume.maxBytes()))));
    List<String> scriptKeys = List.of(keys.members(message.room()), keys.events(message.room()), keys.gaps());
    if (!replicaAcks.enabled()) {
      // Without the last argument the script publishes: Lua pays for every argument.
      Future<Response> published = LuaScripts.run(publisher, publishScript, scriptKeys, args)
          .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS);
      if (!plainStores || message.senderSeq() == 0) {
        return published.mapEmpty();
      }
      return published.map(reply -> {
        if ("dup".equals(reply.toString())) {
          // Its first copy was stored by plain commands, and may never have been published.
          publishRefetch(publisher, message.room(), sentMicros);
        }
        return null;
      });
    }
    args.add(Buffer.buffer(publishWhenReplicated ? "0" : "1"));
    Future<String> replicated = replicaAcks.namesServers()
        ? LuaScripts.runThen(publisher, publishScript, scriptKeys, args, ReplicaAcks.serverRequest())
            .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
            .compose(replies -> replicaAcks.after(publisher, replies.get(1).toString()).map(replies.get(0).toString()))
        : LuaScripts.run(publisher, publishScript, scriptKeys, args)
            .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
            .compose(stored -> replicaAcks.after(publisher, null).map(stored.toString()));
    if (!publishWhenReplicated) {
      return replicated.mapEmpty();
    }
    return replicated.map(seqList -> {
      // Sent before this publish completes, so before the sender's next one (SenderOrder).
      Buffer payload = "dup".equals(seqList) ? WireFormat.refetch(nodeId, sentMicros)
          : WireFormat.numbered(parts, seqList);
      publisher.send(Request.cmd(keys.pubSub().publish).arg(keys.events(message.room())).arg(payload))
          .onFailure(e -> log.debug("publishing a replicated event failed; its recipients' nodes read it from "
              + "their buffers at their next event or resume", e));
      return null;
    });
  }

  /**
   * Stores a relay for its one resumable recipient with plain commands, in one transaction on
   * {@code publisher}: the entry appended to the recipient's buffer, whose stream id is the
   * event's number (no script, so Redis never copies the body into Lua strings), the recipient's
   * load, and for a numbering sender the highest {@code n} accepted. Then publishes the relay
   * with the number the reply gave it.
   *
   * <p>Without a script nothing in Redis tells a retransmission apart, so this node does
   * ({@link #publish}), from what it stored for the sender; after a resume the session's previous
   * node has been fenced before what the session accepted is read ({@link Fence}). A store that
   * went unanswered may have happened: the sender's next relay goes through publish.lua instead.
   *
   * <p>A recipient that is no session (any more) has no buffer; the store then changes nothing
   * but the load field it created, which is taken away again, and the script decides as for any
   * other message.
   */
  private Future<Void> storeThenPublish(RedisConnection publisher, BackplaneMessage message) {
    long sentMicros = WireFormat.nowMicros();
    WireFormat.Parts parts = WireFormat.parts(message, sentMicros);
    PeerId to = message.to();
    PeerId sender = message.subject();
    Buffer entry = WireFormat.stored(message.room(), parts);
    boolean numbering = message.senderSeq() > 0 && sender != null && sender.resumable();
    List<Request> transaction = new ArrayList<>(5);
    transaction.add(Request.cmd(Command.MULTI));
    transaction.add(Request.cmd(Command.XADD).arg(keys.sessionBuffer(to)).arg("NOMKSTREAM").arg("0-*").arg("e")
        .arg(entry));
    transaction.add(Request.cmd(Command.HINCRBY).arg(keys.session(to)).arg("load").arg(LOAD_EVENT + entry.length()));
    if (numbering) {
      transaction.add(Request.cmd(Command.HSET).arg(keys.session(sender)).arg("in").arg(message.senderSeq()));
    }
    transaction.add(Request.cmd(Command.EXEC));
    return publisher.batch(transaction)
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
        .compose(replies -> {
          Response done = replies.get(replies.size() - 1);
          Response id = done.get(0);
          if (id == null) {
            return publisher.send(Request.cmd(Command.HDEL).arg(keys.session(to)).arg("load"))
                .transform(tidied -> scriptPublish(publisher, message));
          }
          long seq = Long.parseLong(id.toString().substring(2));
          if (overBounds(done.get(1).toLong())) {
            bound(publisher, to);
          }
          return publisher.send(Request.cmd(keys.pubSub().publish).arg(keys.events(message.room()))
                  .arg(WireFormat.numbered(parts, to.value() + ':' + seq)))
              .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
              .mapEmpty();
        });
  }

  /**
   * {@link #publish} in the spread layout of a Redis Cluster, where the room's channel, the
   * sender's session and each recipient's may be on three masters: a retransmission is told
   * apart as with plain stores, from what this node stored for the sender (reading the session's
   * {@code in} after a store that went unanswered); each resumable recipient's copy is stored in
   * the recipient's slot ({@link #store}), then the event is published with the numbers the
   * stores gave, and the sender's {@code in} set in its own slot.
   */
  private Future<Void> spreadPublish(RedisConnection publisher, BackplaneMessage message) {
    PeerId sender = message.subject();
    long n = message.senderSeq();
    if (n == 0 || sender == null || !sender.resumable()) {
      return storeEachThenPublish(publisher, message);
    }
    return switch (stored(message)) {
      case BEFORE -> Future.succeededFuture(); // a retransmission: stored, and published, before
      case NOT_YET -> recorded(message, storeEachThenPublish(publisher, message));
      case UNSURE -> recorded(message, accepted(publisher, sender).compose(in -> {
        if (n > in) {
          return storeEachThenPublish(publisher, message);
        }
        // Stored before, and perhaps never published.
        publishRefetch(publisher, message.room(), WireFormat.nowMicros());
        return Future.succeededFuture();
      }));
    };
  }

  private Future<Void> storeEachThenPublish(RedisConnection publisher, BackplaneMessage message) {
    long sentMicros = WireFormat.nowMicros();
    WireFormat.Parts parts = WireFormat.parts(message, sentMicros);
    PeerId subject = message.subject();
    Future<List<PeerId>> recipients = message.to() != null ? Future.succeededFuture(List.of(message.to()))
        : publisher.send(Request.cmd(Command.HKEYS).arg(keys.members(message.room()))).map(Sessions::peers);
    return recipients.compose(peers -> {
          Buffer entry = null;
          List<Future<String>> stores = new ArrayList<>();
          for (PeerId peer : peers) {
            if (peer.resumable() && !peer.equals(subject)) {
              entry = entry != null ? entry : WireFormat.stored(message.room(), parts);
              stores.add(store(publisher, peer, entry));
            }
          }
          return Future.all(stores);
        })
        .compose(stored -> {
          StringBuilder seqs = new StringBuilder();
          for (int i = 0; i < stored.size(); i++) {
            String seq = stored.resultAt(i);
            if (seq != null) {
              seqs.append(seqs.isEmpty() ? "" : ",").append(seq);
            }
          }
          Future<Response> published = publisher.send(Request.cmd(keys.pubSub().publish)
              .arg(keys.events(message.room()))
              .arg(WireFormat.numbered(parts, seqs.isEmpty() ? "-" : seqs.toString())));
          if (message.senderSeq() == 0 || subject == null || !subject.resumable()) {
            return published.<Void>mapEmpty();
          }
          Future<Response> marked = publisher.send(Request.cmd(Command.HSET).arg(keys.session(subject)).arg("in")
              .arg(message.senderSeq()));
          return Future.all(published, marked).<Void>mapEmpty();
        })
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS);
  }

  /**
   * Stores {@code entry} for {@code peer} with plain commands, pipelined to the master of the
   * peer's slot, as {@link #storeThenPublish} does in a transaction; answers "peer:number", or
   * null when the peer is no session. Without a transaction a load may miss an event whose
   * {@code HINCRBY} was lost with its connection: bound.lua counts the buffer again exactly.
   */
  private Future<String> store(RedisConnection publisher, PeerId peer, Buffer entry) {
    return publisher.batch(List.of(
            Request.cmd(Command.XADD).arg(keys.sessionBuffer(peer)).arg("NOMKSTREAM").arg("0-*").arg("e").arg(entry),
            Request.cmd(Command.HINCRBY).arg(keys.session(peer)).arg("load").arg(LOAD_EVENT + entry.length())))
        .map(replies -> {
          if (replies.get(0) == null) {
            publisher.send(Request.cmd(Command.HDEL).arg(keys.session(peer)).arg("load"));
            return null;
          }
          if (overBounds(replies.get(1).toLong())) {
            bound(publisher, peer);
          }
          return peer.value() + ':' + replies.get(0).toString().substring(2);
        });
  }

  // Brings peer's buffer back within its bounds; spread, bound.lua cannot reach the sorted set of
  // gaps, so it says when a session in its gap overflowed, and it is added here.
  private void bound(RedisConnection publisher, PeerId peer) {
    List<String> boundKeys = spread ? List.of(keys.session(peer), keys.sessionBuffer(peer))
        : List.of(keys.session(peer), keys.sessionBuffer(peer), keys.gaps());
    LuaScripts.run(publisher, LuaScripts.BOUND, boundKeys,
            List.of(Buffer.buffer(peer.value()), Buffer.buffer(Integer.toString(resume.maxEvents())),
                Buffer.buffer(Integer.toString(resume.maxBytes()))))
        .compose(bounded -> bounded.toInteger() == 2
            ? publisher.send(Request.cmd(Command.ZADD).arg(keys.gaps()).arg(0).arg(peer.value()))
            : Future.succeededFuture())
        .onFailure(e -> log.debug("bounding {}'s buffer failed; the next store over a bound tries again", peer, e));
  }

  private static List<PeerId> peers(Response keys) {
    List<PeerId> out = new ArrayList<>(keys == null ? 0 : keys.size());
    for (int i = 0; keys != null && i < keys.size(); i++) {
      out.add(new PeerId(keys.get(i).toString()));
    }
    return out;
  }

  private boolean overBounds(long load) {
    return load >= (resume.maxEvents() + 1L) * LOAD_EVENT || load % LOAD_EVENT > resume.maxBytes();
  }

  private void publishRefetch(RedisConnection publisher, RoomId room, long sentMicros) {
    publisher.send(Request.cmd(keys.pubSub().publish).arg(keys.events(room)).arg(WireFormat.refetch(nodeId, sentMicros)))
        .onFailure(e -> log.debug("publishing a refetch failed; the recipients' nodes read their buffers at their "
            + "next event or resume", e));
  }

  /**
   * The highest relay {@code n} {@code peer}'s session accepted, read on {@code publisher}, behind
   * every store this node sent on it.
   */
  Future<Long> accepted(RedisConnection publisher, PeerId peer) {
    return publisher.send(Request.cmd(Command.HGET).arg(keys.session(peer)).arg("in"))
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
        .map(in -> in == null ? 0L : in.toLong());
  }

  Future<Void> register(PeerId peer, String tokenHash, String subject) {
    if (spread) {
      // The node's set first: should this node die before the script, the reaper finds nothing.
      return commands.send(Request.cmd(Command.SADD).arg(keys.nodeSessions(nodeId)).arg(peer.value()))
          .compose(v -> commands.script(LuaScripts.REGISTER, List.of(keys.session(peer), keys.sessionBuffer(peer)),
              List.of(tokenHash, subjectArg(subject), nodeId, peer.value())))
          .mapEmpty();
    }
    return replicated(LuaScripts.REGISTER, List.of(keys.session(peer), keys.sessionBuffer(peer), keys.nodeSessions(nodeId)),
        List.of(tokenHash, subjectArg(subject), nodeId, peer.value()), "register").mapEmpty();
  }

  /**
   * Runs a session script; with {@code REDIS_WAIT_REPLICAS}, followed on the same connection by
   * the WAIT that must count enough replicas for it to succeed.
   */
  private Future<Response> replicated(LuaScripts.Script script, List<String> keys, List<String> args,
      String operation) {
    if (!replicaAcks.enabled()) {
      return commands.script(script, keys, args);
    }
    return commands.pipeline(List.of(LuaScripts.eval(script, keys, args), replicaAcks.request()), operation)
        .compose(replies -> replicaAcks.check(replies.get(1)).map(v -> replies.get(0)));
  }

  /** Drops {@code peer}'s buffered events up to {@code seq}, on {@code publisher}. Any thread. */
  Future<Void> ack(RedisConnection publisher, PeerId peer, long seq) {
    return LuaScripts.run(publisher, LuaScripts.ACK, List.of(keys.session(peer), keys.sessionBuffer(peer)),
            List.of(Buffer.buffer(Long.toString(seq))))
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS).mapEmpty();
  }

  Future<List<RoomId>> suspend(PeerId peer, long epoch, long deadlineMillis) {
    letGo(peer);
    if (spread) {
      return spreadSuspend(peer, epoch, deadlineMillis);
    }
    return replicated(LuaScripts.SUSPEND,
            List.of(keys.session(peer), keys.gaps(), keys.nodeSessions(nodeId)),
            List.of(keys.prefix(), peer.value(), Long.toString(epoch), nodeId, Long.toString(deadlineMillis)),
            "suspend")
        .map(rooms -> {
          List<RoomId> out = new ArrayList<>(rooms.size());
          for (Response room : rooms) {
            out.add(new RoomId(room.toString()));
          }
          return out;
        });
  }

  /**
   * {@link #suspend} in the spread layout: the session goes in the sorted set of those in their
   * gap before its own script gives it the gap (so that nothing in its gap is missing there), and
   * its member entries go to "-" after, each only if this node still holds it (a claim elsewhere
   * may have come in between).
   */
  private Future<List<RoomId>> spreadSuspend(PeerId peer, long epoch, long deadlineMillis) {
    return commands.send(Request.cmd(Command.ZADD).arg(keys.gaps()).arg(deadlineMillis).arg(peer.value()))
        .compose(indexed -> commands.script(LuaScripts.SUSPEND, List.of(keys.session(peer)),
            List.of(keys.prefix(), peer.value(), Long.toString(epoch), nodeId, Long.toString(deadlineMillis))))
        .compose(reply -> {
          if (reply.size() == 0) {
            return context.succeededFuture(List.of());
          }
          List<RoomId> recorded = new ArrayList<>();
          for (int i = 1; i < reply.size(); i++) {
            recorded.add(new RoomId(reply.get(i).toString()));
          }
          commands.send(Request.cmd(Command.SREM).arg(keys.nodeSessions(nodeId)).arg(peer.value()))
              .onFailure(e -> log.debug("could not take peer {} out of this node's sessions", peer, e));
          return rebind(peer, recorded, nodeId + " -", "-");
        });
  }

  /**
   * Gives {@code peer}'s entry in each of {@code rooms} to {@code to}, where one of {@code from}
   * (space separated) holds it; answers the rooms where it did. A room where the peer is no
   * member any more is dropped from its session.
   */
  private Future<List<RoomId>> rebind(PeerId peer, List<RoomId> rooms, String from, String to) {
    List<Future<Response>> given = new ArrayList<>(rooms.size());
    for (RoomId room : rooms) {
      given.add(commands.script(LuaScripts.REBIND, List.of(keys.members(room)), List.of(peer.value(), from, to)));
    }
    return Future.all(given).map(all -> {
      List<RoomId> out = new ArrayList<>();
      for (int i = 0; i < rooms.size(); i++) {
        int outcome = all.<Response>resultAt(i).toInteger();
        if (outcome == 1) {
          out.add(rooms.get(i));
        } else if (outcome == 0) {
          commands.send(Request.cmd(Command.HDEL).arg(keys.session(peer)).arg("r:" + rooms.get(i).value()));
        }
      }
      return out;
    });
  }

  /** A claim, and the node that owned the session before it. */
  record Claimed(Claim claim, String previousOwner) {}

  Future<Claimed> claim(PeerId peer, String tokenHash, String subject, long lastSeq, String newTokenHash) {
    if (spread) {
      return spreadClaim(peer, tokenHash, subject, lastSeq, newTokenHash);
    }
    return replicated(LuaScripts.CLAIM,
            List.of(keys.session(peer), keys.sessionBuffer(peer), keys.gaps(), keys.nodeRooms(nodeId),
                keys.nodeSessions(nodeId)),
            List.of(keys.prefix(), peer.value(), tokenHash, subjectArg(subject), Long.toString(lastSeq), newTokenHash,
                nodeId), "claim")
        .compose(reply -> {
          Future<Void> refused = refused(reply);
          if (refused != null) {
            return refused.map(v -> null);
          }
          return context.succeededFuture(claimed(reply, roomsOf(reply)));
        });
  }

  // The claim's refusal as a failed future, or null when it succeeded.
  private Future<Void> refused(Response reply) {
    String outcome = reply.get(0).toString();
    if ("ok".equals(outcome)) {
      return null;
    }
    ErrorCode code = refusal(outcome);
    return context.failedFuture(new SignalingException(code, code.defaultMessage(), null));
  }

  private static List<RoomMeta> roomsOf(Response claimed) {
    List<RoomMeta> rooms = new ArrayList<>();
    for (int i = 5; i + 1 < claimed.size(); i += 2) {
      rooms.add(new RoomMeta(new RoomId(claimed.get(i).toString()), claimed.get(i + 1).toString()));
    }
    return rooms;
  }

  private Claimed claimed(Response reply, List<RoomMeta> rooms) {
    long gapDeadline = reply.get(3).toLong();
    return new Claimed(new Claim(reply.get(1).toLong(), reply.get(2).toLong(), rooms,
        gapDeadline > 0 ? gapDeadline - resume.windowMillis() : 0), reply.get(4).toString());
  }

  /**
   * {@link #claim} in the spread layout: the session goes in this node's set before its script
   * takes it over, and its rooms in this node's room set before their entries are given to this
   * node; after the script, the session leaves its previous owner's set, and the sorted set of
   * those in their gap unless a suspension put it back there meanwhile.
   */
  private Future<Claimed> spreadClaim(PeerId peer, String tokenHash, String subject, long lastSeq,
      String newTokenHash) {
    return commands.send(Request.cmd(Command.SADD).arg(keys.nodeSessions(nodeId)).arg(peer.value()))
        .compose(listed -> commands.script(LuaScripts.CLAIM, List.of(keys.session(peer), keys.sessionBuffer(peer)),
            List.of(keys.prefix(), peer.value(), tokenHash, subjectArg(subject), Long.toString(lastSeq), newTokenHash,
                nodeId)))
        .compose(reply -> {
          Future<Void> refused = refused(reply);
          if (refused != null) {
            if (reply.size() > 1 && "over".equals(reply.get(1).toString())) {
              return commands.send(Request.cmd(Command.ZADD).arg(keys.gaps()).arg(0).arg(peer.value()))
                  .transform(indexed -> refused.map(v -> null));
            }
            return refused.map(v -> null);
          }
          String previous = reply.get(4).toString();
          long gapDeadline = reply.get(3).toLong();
          List<Future<?>> unlisted = new ArrayList<>();
          if (!previous.equals(nodeId)) {
            unlisted.add(commands.send(Request.cmd(Command.SREM).arg(keys.nodeSessions(previous)).arg(peer.value())));
          }
          if (gapDeadline > 0) {
            unlisted.add(unindex(peer, Long.toString(gapDeadline)));
          }
          Map<RoomId, String> metas = new LinkedHashMap<>();
          roomsOf(reply).forEach(room -> metas.put(room.room(), room.metaJson()));
          Future<?> roomsListed = metas.isEmpty() ? context.succeededFuture() : commands.send(
              metas.keySet().stream().map(RoomId::value).reduce(Request.cmd(Command.SADD).arg(keys.nodeRooms(nodeId)),
                  Request::arg, (a, b) -> a));
          return roomsListed
              .compose(v -> rebind(peer, List.copyOf(metas.keySet()), previous + " -", nodeId))
              .compose(given -> Future.all(unlisted).map(v -> claimed(reply,
                  given.stream().map(room -> new RoomMeta(room, metas.get(room))).toList())));
        });
  }

  /** The events stored for {@code peer} after {@code after}, read on {@code publisher}. Any thread. */
  Future<List<Numbered>> replay(RedisConnection publisher, PeerId peer, long after) {
    return publisher.send(Request.cmd(Command.XRANGE).arg(keys.sessionBuffer(peer)).arg("0-" + (after + 1)).arg("+"))
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
        .map(entries -> {
          List<Numbered> out = new ArrayList<>(entries.size());
          for (Response entry : entries) {
            long seq = Long.parseLong(entry.get(0).toString().substring(2));
            out.add(WireFormat.decodeStored(peer, seq, entry.get(1).get(1).toBuffer().getBytes()));
          }
          return out;
        });
  }

  Future<List<Expired>> expire(long nowMillis) {
    if (spread) {
      return spreadExpire(nowMillis);
    }
    return commands.script(LuaScripts.EXPIRE, List.of(keys.gaps()),
            List.of(keys.prefix(), Long.toString(nowMillis), Integer.toString(EXPIRE_BATCH)))
        .map(ended -> {
          List<Expired> out = new ArrayList<>();
          for (int i = 0; i + 2 < ended.size(); i += 3) {
            out.add(new Expired(new RoomId(ended.get(i).toString()), new PeerId(ended.get(i + 1).toString()),
                LeaveReason.fromWire(ended.get(i + 2).toString())));
          }
          return out;
        });
  }

  /**
   * {@link #expire} in the spread layout: ended.lua decides, in each session's slot, which of the
   * sessions the sorted set lists as due have ended (marking them, so that no claim takes them
   * any more); their members then leave their rooms, and only then is the session deleted and
   * taken out of the sets, so that a node that dies half way leaves the rest to the next expire.
   */
  private Future<List<Expired>> spreadExpire(long nowMillis) {
    return commands.send(Request.cmd(Command.ZRANGEBYSCORE).arg(keys.gaps()).arg("-inf").arg(nowMillis)
            .arg("WITHSCORES").arg("LIMIT").arg(0).arg(EXPIRE_BATCH))
        .compose(due -> {
          List<Future<List<Expired>>> ended = new ArrayList<>();
          for (int i = 0; due != null && i < due.size(); i++) {
            // A pair under RESP2's flat list, or a [member, score] entry under RESP3.
            Response item = due.get(i);
            boolean paired = item.type() == ResponseType.MULTI;
            String peer = paired ? item.get(0).toString() : item.toString();
            String score = paired ? item.get(1).toString() : due.get(++i).toString();
            ended.add(end(new PeerId(peer), score, nowMillis));
          }
          return Future.all(ended);
        })
        .map(all -> {
          List<Expired> out = new ArrayList<>();
          for (int i = 0; i < all.size(); i++) {
            out.addAll(all.<List<Expired>>resultAt(i));
          }
          return out;
        });
  }

  private Future<List<Expired>> end(PeerId peer, String score, long nowMillis) {
    return commands.script(LuaScripts.ENDED, List.of(keys.session(peer)), List.of(Long.toString(nowMillis)))
        .compose(reply -> {
          if (reply.size() == 0) {
            return unindex(peer, score).map(v -> List.<Expired>of());
          }
          if ("later".equals(reply.get(0).toString())) {
            return commands.send(Request.cmd(Command.ZADD).arg(keys.gaps()).arg(reply.get(1).toString())
                .arg(peer.value())).map(v -> List.<Expired>of());
          }
          LeaveReason reason = LeaveReason.fromWire(reply.get(0).toString());
          String owner = reply.get(1).toString();
          List<RoomId> rooms = new ArrayList<>();
          List<Future<Response>> left = new ArrayList<>();
          for (int i = 2; i < reply.size(); i++) {
            RoomId room = new RoomId(reply.get(i).toString());
            rooms.add(room);
            left.add(commands.script(LuaScripts.LEAVE, List.of(keys.members(room), keys.seq(room)),
                List.of(peer.value(), "", room.value())));
          }
          return Future.all(left)
              .compose(all -> commands.send(Request.cmd(Command.DEL).arg(keys.session(peer))
                      .arg(keys.sessionBuffer(peer)))
                  .compose(deleted -> Future.all(unindex(peer, score), commands.send(Request.cmd(Command.SREM)
                      .arg(keys.nodeSessions(owner)).arg(peer.value()))))
                  .map(v -> {
                    List<Expired> out = new ArrayList<>();
                    for (int i = 0; i < rooms.size(); i++) {
                      if (all.<Response>resultAt(i).toInteger() == 1) {
                        out.add(new Expired(rooms.get(i), peer, reason));
                      }
                    }
                    return out;
                  }));
        });
  }

  // Takes 'peer' out of the sorted set of sessions in their gap, unless its score changed since it was read.
  private Future<Response> unindex(PeerId peer, String score) {
    return commands.script(LuaScripts.UNINDEX, List.of(keys.gaps()), List.of(peer.value(), score));
  }

  Future<Void> forget(PeerId peer, long epoch) {
    letGo(peer);
    if (spread) {
      return commands.script(LuaScripts.FORGET, List.of(keys.session(peer), keys.sessionBuffer(peer)),
              List.of(Long.toString(epoch), peer.value(), keys.prefix()))
          .compose(owner -> owner == null ? context.succeededFuture()
              : Future.all(commands.send(Request.cmd(Command.SREM).arg(keys.nodeSessions(owner.toString()))
                      .arg(peer.value())),
                  commands.send(Request.cmd(Command.ZREM).arg(keys.gaps()).arg(peer.value()))))
          .mapEmpty();
    }
    return commands.script(LuaScripts.FORGET, List.of(keys.session(peer), keys.sessionBuffer(peer), keys.gaps()),
        List.of(Long.toString(epoch), peer.value(), keys.prefix())).mapEmpty();
  }

  // A subject may be any string, the empty one included, so "none" needs a form of its own.
  private static String subjectArg(String subject) {
    return subject == null ? "" : "s" + subject;
  }

  private static ErrorCode refusal(String wire) {
    for (ErrorCode code : List.of(ErrorCode.RESUME_REFUSED, ErrorCode.RESUME_EXPIRED, ErrorCode.RESUME_LOST,
        ErrorCode.BAD_SEQUENCE)) {
      if (code.wire().equals(wire)) {
        return code;
      }
    }
    throw new IllegalStateException("claim.lua answered " + wire);
  }
}
