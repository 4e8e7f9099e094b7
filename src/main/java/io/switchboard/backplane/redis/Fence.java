package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.wire.PeerId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a resume must wait for when relays are stored with plain commands
 * ({@link Sessions#storeThenPublish}), as they are for each recipient in the spread layout of a
 * Redis Cluster: no store the session's previous node made for it may reach
 * Redis after the new node reads the highest relay {@code n} the session accepted, or a
 * retransmission the client sends again would be stored twice. A script would compare {@code n}
 * in the same atomic step as the store; a transaction cannot, so the previous node is fenced off:
 * <ol>
 *   <li>this node itself: its socket of the session, if any, is superseded on its own thread,
 *       and its stores went out on the publisher connection, on which the read follows them;</li>
 *   <li>a node whose heartbeat key is gone, or whose publisher connection (its client id is the
 *       key's value) Redis no longer has: nothing more of it can arrive on that connection;</li>
 *   <li>any other: asked over the control channel ({@link Control#fence}), it supersedes its
 *       socket and answers on its publisher connection, behind every store it sent;</li>
 *   <li>one that does not answer in time: its publisher connection is closed with
 *       {@code CLIENT KILL}, which drops whatever it had not yet run.</li>
 * </ol>
 * On a Redis Cluster, where a node's stores go to every master, the previous node answers once
 * every publish it made about the peer is answered, and one that does not answer in time is not
 * waited for further: no one connection of its could be closed.
 *
 * <p>What this does not cover: a node that lost its Redis connection, reconnected, and only then
 * read a relay its client had sent before going elsewhere (docs/clustering.md, "Resumable
 * sessions").
 *
 * <p>Confined to the backplane's context.
 */
final class Fence {
  private static final Logger log = LoggerFactory.getLogger(Fence.class);

  private final ContextInternal context;
  private final Commands commands;
  private final RedisKeys keys;
  private final String nodeId;
  private final Control control;
  private final boolean cluster;
  private BackplaneListener listener;

  /**
   * @param cluster a Redis Cluster, where a node's stores go to every master and its publisher
   *     connection is no one client Redis could list or close: one that does not answer in time
   *     is not waited for further
   */
  Fence(ContextInternal context, Commands commands, RedisKeys keys, String nodeId, Control control, boolean cluster) {
    this.cluster = cluster;
    this.context = context;
    this.commands = commands;
    this.keys = keys;
    this.nodeId = nodeId;
    this.control = control;
  }

  void listener(BackplaneListener listener) {
    this.listener = listener;
  }

  /** Completes once nothing {@code owner} sent for {@code peer}'s session can still reach Redis; never fails. */
  Future<Void> previousOwner(PeerId peer, String owner) {
    if (owner.equals(nodeId)) {
      Promise<Void> released = context.promise();
      listener.release(peer, () -> released.complete());
      return released.future();
    }
    return commands.send(Request.cmd(Command.GET).arg(keys.node(owner)))
        .compose(clientId -> clientId == null ? context.succeededFuture()
            : cluster ? control.fence(peer, owner).<Void>mapEmpty().recover(silent -> {
                log.warn("node {} did not let go of peer {}'s session in time; a relay it stores late may be stored "
                    + "twice", owner, peer);
                return context.<Void>succeededFuture();
              })
            : commands.send(Request.cmd(Command.CLIENT).arg("LIST").arg("ID").arg(clientId.toString()))
                .compose(listed -> connected(listed) ? askThenKill(peer, owner, clientId.toString())
                    : context.succeededFuture()))
        .recover(e -> {
          log.warn("could not fence node {} off peer {}'s session; a relay it stored late may be stored twice",
              owner, peer, e);
          return context.succeededFuture();
        })
        .mapEmpty();
  }

  private Future<Void> askThenKill(PeerId peer, String owner, String clientId) {
    return control.fence(peer, owner).<Void>mapEmpty().recover(silent -> {
      log.info("node {} did not let go of peer {}'s session in time: closing its publisher connection", owner, peer);
      // "No such client" is an answer too: the connection is gone either way.
      return commands.send(Request.cmd(Command.CLIENT).arg("KILL").arg("ID").arg(clientId))
          .<Void>mapEmpty().recover(e -> context.succeededFuture());
    });
  }

  private static boolean connected(Response listed) {
    return listed != null && !listed.toString().isBlank();
  }
}
