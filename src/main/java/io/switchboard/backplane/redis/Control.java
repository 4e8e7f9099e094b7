package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.Disconnect;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.wire.PeerId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Requests that concern a peer wherever it is connected, over the control channel every node
 * subscribes to: the server API's disconnect, and the fence a resume puts up before it reads what
 * its session accepted ({@link #fence}).
 *
 * <p>A request is published once; PUBLISH answers how many subscribers received it, which is
 * every connected node, this one included. Each of them asks its listener and publishes a reply
 * saying whether it held the peer. The request succeeds with true at the first "done here", with
 * false once as many "not here" replies as receivers have arrived, and fails when the command
 * timeout passes first. The count and the replies travel on different connections, so either may
 * arrive first.
 *
 * <p>Confined to the backplane's context.
 */
final class Control {
  private static final Logger log = LoggerFactory.getLogger(Control.class);

  private static final class Pending {
    final Promise<Boolean> promise;
    long timer = -1;
    int receivers = -1;
    int declined;

    Pending(Promise<Boolean> promise) {
      this.promise = promise;
    }
  }

  private final Vertx vertx;
  private final ContextInternal context;
  private final Connections connections;
  private final RedisKeys keys;
  private final String nodeId;
  private final long timeoutMs;
  private final SignalingMetrics metrics;
  private final Function<PeerId, Future<Void>> lettingGo;
  private final Map<String, Pending> pending = new HashMap<>();
  private long sequence;
  private BackplaneListener listener;

  /**
   * @param lettingGo told of each session this node lets go of when another node's resume fences
   *     it off; completes once what the node sent about the session can be overtaken by nothing
   */
  Control(Vertx vertx, ContextInternal context, Connections connections, RedisKeys keys, String nodeId,
      long timeoutMs, SignalingMetrics metrics, Function<PeerId, Future<Void>> lettingGo) {
    this.vertx = vertx;
    this.context = context;
    this.connections = connections;
    this.keys = keys;
    this.nodeId = nodeId;
    this.timeoutMs = timeoutMs;
    this.metrics = metrics;
    this.lettingGo = lettingGo;
  }

  void listener(BackplaneListener listener) {
    this.listener = listener;
  }

  Future<Boolean> disconnect(Disconnect request) {
    return request(WireFormat.Control.DISCONNECT, request.peer(), Integer.toString(request.code()), request.reason(),
        true);
  }

  /**
   * Asks {@code owner}, the node that held {@code peer}'s session before this node claimed it, to
   * let go of it: its socket there, if any, is superseded, and the owner answers on its publisher
   * connection, behind everything it sent for the session before, so that once the answer is here
   * every store it made for the session is in Redis and no later one can come. Only the owner
   * answers; fails when it has not within the timeout.
   */
  Future<Boolean> fence(PeerId peer, String owner) {
    return request(WireFormat.Control.FENCE, peer, owner, "", false);
  }

  // 'countReceivers': settle with false once every node that received the request declined.
  private Future<Boolean> request(String kind, PeerId peer, String arg2, String body, boolean countReceivers) {
    RedisConnection publisher = connections.readyPublisher();
    if (publisher == null) {
      metrics.backplaneError("control");
      return context.failedFuture("redis backplane not connected");
    }
    String id = nodeId + "." + ++sequence;
    Pending waiting = new Pending(context.promise());
    pending.put(id, waiting);
    waiting.timer = vertx.setTimer(timeoutMs, t -> {
      waiting.timer = -1;
      metrics.backplaneError("control");
      finish(id, null);
    });
    publisher.send(Request.cmd(keys.pubSub().publish).arg(keys.control())
            .arg(WireFormat.encode(new WireFormat.Control(nodeId, kind, id, peer.value(), arg2, body))))
        .onComplete(ar -> {
          if (ar.failed()) {
            metrics.backplaneError("control");
            finish(id, null);
          } else if (countReceivers) {
            waiting.receivers = ar.result().toInteger();
            settleIfAllDeclined(id, waiting);
          }
        });
    return waiting.promise.future();
  }

  /** What arrived on the control channel. */
  void onMessage(Buffer payload) {
    WireFormat.Control message;
    try {
      message = WireFormat.decodeControl(payload);
    } catch (RuntimeException e) {
      metrics.backplaneError("decode");
      log.debug("undecodable control message", e);
      return;
    }
    switch (message.kind()) {
      case WireFormat.Control.DISCONNECT -> answer(message);
      case WireFormat.Control.FENCE -> {
        if (message.arg2().equals(nodeId)) {
          letGo(message);
        }
      }
      case WireFormat.Control.REPLY -> {
        if (message.arg1().equals(nodeId)) {
          replied(message.id(), "1".equals(message.arg2()));
        }
      }
      default -> log.debug("ignored control message {}", message.kind());
    }
  }

  /** Fails every request still waiting: the backplane is closing. */
  void stop() {
    for (String id : new ArrayList<>(pending.keySet())) {
      finish(id, null);
    }
  }

  private void answer(WireFormat.Control request) {
    boolean held;
    try {
      int code = Integer.parseInt(request.arg2());
      held = listener.onDisconnect(new Disconnect(new PeerId(request.arg1()), code, request.body()));
    } catch (IllegalArgumentException e) {
      metrics.backplaneError("decode");
      log.debug("bad disconnect request", e);
      return;
    }
    reply(request, held);
  }

  private void letGo(WireFormat.Control request) {
    PeerId peer;
    try {
      peer = new PeerId(request.arg1());
    } catch (IllegalArgumentException e) {
      metrics.backplaneError("decode");
      log.debug("bad fence request", e);
      return;
    }
    // The answer goes from the thread the session published from, after what it published.
    listener.release(peer, () -> lettingGo.apply(peer).onComplete(ar -> reply(request, true)));
  }

  // Any thread.
  private void reply(WireFormat.Control request, boolean held) {
    RedisConnection publisher = connections.readyPublisher();
    if (publisher == null) {
      return; // the requester times out, which is what it would see of a node cut off
    }
    publisher.send(Request.cmd(keys.pubSub().publish).arg(keys.control()).arg(WireFormat.encode(new WireFormat.Control(
            nodeId, WireFormat.Control.REPLY, request.id(), request.origin(), held ? "1" : "0", ""))))
        .onFailure(e -> metrics.backplaneError("control"));
  }

  private void replied(String id, boolean done) {
    Pending waiting = pending.get(id);
    if (waiting == null) {
      return; // already answered, or timed out
    }
    if (done) {
      finish(id, true);
    } else {
      waiting.declined++;
      settleIfAllDeclined(id, waiting);
    }
  }

  private void settleIfAllDeclined(String id, Pending waiting) {
    if (waiting.receivers >= 0 && waiting.declined >= waiting.receivers) {
      finish(id, false);
    }
  }

  /** Completes the request with {@code result}, or fails it when null. */
  private void finish(String id, Boolean result) {
    Pending waiting = pending.remove(id);
    if (waiting == null) {
      return;
    }
    if (waiting.timer >= 0) {
      vertx.cancelTimer(waiting.timer);
    }
    if (result == null) {
      waiting.promise.tryFail("not every node answered within " + timeoutMs + " ms");
    } else {
      waiting.promise.tryComplete(result);
    }
  }
}
