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
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resumable sessions (docs/protocol.md, "Resume"; the keys in docs/clustering.md): the numbered
 * publish and the scripts that register, acknowledge, suspend, claim, replay, expire and forget a
 * session. Each is one script, so each is one atomic step on Redis.
 *
 * <p>Holds no mutable state; {@link #publish} runs on the caller's thread, like the plain publish
 * it replaces.
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
  private final LuaScripts.Script publishScript;

  Sessions(ContextInternal context, Commands commands, RedisKeys keys, String nodeId, RedisBackplane.Resume resume,
      ReplicaAcks replicaAcks) {
    this.context = context;
    this.commands = commands;
    this.keys = keys;
    this.nodeId = nodeId;
    this.resume = resume;
    this.replicaAcks = replicaAcks;
    this.publishScript = keys.pubSub() == PubSub.SHARDED ? LuaScripts.SHARDED_PUBLISH : LuaScripts.PUBLISH;
  }

  boolean enabled() {
    return resume.windowMillis() > 0;
  }

  /** Loads the publish and ack scripts on a new publisher connection, before anything uses them. */
  Future<Void> prepare(RedisConnection publisher) {
    return enabled()
        ? LuaScripts.load(publisher, publishScript).compose(v -> LuaScripts.load(publisher, LuaScripts.ACK)).mapEmpty()
        : context.succeededFuture();
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
      return LuaScripts.run(publisher, publishScript, scriptKeys, args)
          .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS).mapEmpty();
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

  Future<Void> register(PeerId peer, String tokenHash, String subject) {
    return replicated(LuaScripts.REGISTER, List.of(keys.session(peer), keys.nodeSessions(nodeId)),
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
    return LuaScripts.run(publisher, LuaScripts.ACK, List.of(keys.session(peer), keys.sessionEvents(peer)),
            List.of(Buffer.buffer(Long.toString(seq))))
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS).mapEmpty();
  }

  Future<List<RoomId>> suspend(PeerId peer, long epoch, long deadlineMillis) {
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

  Future<Claim> claim(PeerId peer, String tokenHash, String subject, long lastSeq, String newTokenHash) {
    return replicated(LuaScripts.CLAIM,
            List.of(keys.session(peer), keys.sessionEvents(peer), keys.gaps(), keys.nodeRooms(nodeId),
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
          for (int i = 4; i + 1 < reply.size(); i += 2) {
            rooms.add(new RoomMeta(new RoomId(reply.get(i).toString()), reply.get(i + 1).toString()));
          }
          long gapDeadline = reply.get(3).toLong();
          return context.succeededFuture(new Claim(reply.get(1).toLong(), reply.get(2).toLong(), rooms,
              gapDeadline > 0 ? gapDeadline - resume.windowMillis() : 0));
        });
  }

  /** The events stored for {@code peer} after {@code after}, read on {@code publisher}. Any thread. */
  Future<List<Numbered>> replay(RedisConnection publisher, PeerId peer, long after) {
    return publisher.send(Request.cmd(Command.LRANGE).arg(keys.sessionEvents(peer)).arg(0).arg(-1))
        .timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS)
        .map(entries -> {
          List<Numbered> out = new ArrayList<>();
          for (Response entry : entries) {
            Numbered numbered = WireFormat.decodeStored(peer, entry.toBuffer().getBytes());
            if (numbered.seq() > after) {
              out.add(numbered);
            }
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
    return commands.script(LuaScripts.FORGET, List.of(keys.session(peer), keys.sessionEvents(peer), keys.gaps()),
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
