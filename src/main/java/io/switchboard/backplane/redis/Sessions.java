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
import java.util.ArrayList;
import java.util.List;
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
 * ({@link #storeThenPublish}).
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
  // With plain stores: the highest relay n stored for each numbering sender this node holds,
  // which tells a retransmission apart, as publish.lua does from the session's "in"; or UNSURE
  // once a store went unanswered (it may have happened all the same), until the sender's next
  // relay, which goes through publish.lua, settles it. Absent means none stored: a new session,
  // or one whose claim here put in what it had accepted before.
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
    return (plainStores ? loaded.compose(v -> LuaScripts.load(publisher, LuaScripts.BOUND)) : loaded).mapEmpty();
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
    PeerId to = message.to();
    if (!plainStores || to == null || !to.resumable()) {
      return scriptPublish(publisher, message);
    }
    long n = message.senderSeq();
    if (n == 0) {
      return storeThenPublish(publisher, message);
    }
    Long known = accepted.get(message.subject());
    if (known != null && known == UNSURE) {
      return recorded(message, scriptPublish(publisher, message));
    }
    if (known != null && n <= known) {
      return Future.succeededFuture(); // a retransmission: stored, and published, before
    }
    return recorded(message, storeThenPublish(publisher, message));
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
    if (plainStores) {
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
            LuaScripts.run(publisher, LuaScripts.BOUND,
                    List.of(keys.session(to), keys.sessionBuffer(to), keys.gaps()),
                    List.of(Buffer.buffer(to.value()), Buffer.buffer(Integer.toString(resume.maxEvents())),
                        Buffer.buffer(Integer.toString(resume.maxBytes()))))
                .onFailure(e -> log.debug("bounding {}'s buffer failed; the next store over a bound tries again", to, e));
          }
          return publisher.send(Request.cmd(keys.pubSub().publish).arg(keys.events(message.room()))
                  .arg(WireFormat.numbered(parts, to.value() + ':' + seq)))
              .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
              .mapEmpty();
        });
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

  /** A claim, and the node that owned the session before it. */
  record Claimed(Claim claim, String previousOwner) {}

  Future<Claimed> claim(PeerId peer, String tokenHash, String subject, long lastSeq, String newTokenHash) {
    return replicated(LuaScripts.CLAIM,
            List.of(keys.session(peer), keys.sessionBuffer(peer), keys.gaps(), keys.nodeRooms(nodeId),
                keys.nodeSessions(nodeId)),
            List.of(keys.prefix(), peer.value(), tokenHash, subjectArg(subject), Long.toString(lastSeq), newTokenHash,
                nodeId), "claim")
        .compose(reply -> {
          String outcome = reply.get(0).toString();
          if (!"ok".equals(outcome)) {
            ErrorCode code = refusal(outcome);
            return context.failedFuture(new SignalingException(code, code.defaultMessage(), null));
          }
          List<RoomMeta> rooms = new ArrayList<>();
          for (int i = 5; i + 1 < reply.size(); i += 2) {
            rooms.add(new RoomMeta(new RoomId(reply.get(i).toString()), reply.get(i + 1).toString()));
          }
          long gapDeadline = reply.get(3).toLong();
          return context.succeededFuture(new Claimed(new Claim(reply.get(1).toLong(), reply.get(2).toLong(), rooms,
              gapDeadline > 0 ? gapDeadline - resume.windowMillis() : 0), reply.get(4).toString()));
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

  Future<Void> forget(PeerId peer, long epoch) {
    letGo(peer);
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
