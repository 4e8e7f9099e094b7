package io.switchboard.backplane.redis;

import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counted room subscriptions on the subscriber connection, and what arrives on it.
 *
 * <p>A SUBSCRIBE is sent when a room's count goes 0 to 1 and an UNSUBSCRIBE when it goes 1 to 0;
 * each completes its caller's future on Redis's confirmation push. Redis answers the commands of
 * one connection in order, so each channel keeps a FIFO of the confirmations it awaits (a room
 * can be subscribed, unsubscribed and subscribed again before the first answer arrives).
 *
 * <p>A {@code message} push is handed to the listener only while the room's count is above zero:
 * one that Redis sent before it executed an UNSUBSCRIBE, and that arrives after the count reached
 * zero, is dropped, so none reaches the listener once {@link #unsubscribe} is called.
 *
 * <p>The control channel ({@link RedisKeys#control}) is not counted: every subscriber connection
 * subscribes to it before it is installed, and what arrives on it goes to the control handler.
 *
 * <p>On a Redis Cluster the subscriptions are sharded: the subscriber is a {@link ShardedSubscriber},
 * which sends each SSUBSCRIBE to the master of the channel's slot and moves a channel by itself
 * when its slot moves, so the counts here never see a move.
 *
 * <p>Confined to the backplane's context, except {@link #subscribedRooms()}.
 */
final class Subscriptions {
  private static final Logger log = LoggerFactory.getLogger(Subscriptions.class);

  private record Ack(boolean subscribe, Promise<Void> promise) {}

  private final ContextInternal context;
  private final RedisKeys keys;
  private final String nodeId;
  private final long timeoutMs;
  private final SignalingMetrics metrics;
  private final Map<RoomId, Integer> counts = new HashMap<>();
  // Channel -> confirmations awaited on the current subscriber, oldest first.
  private final Map<String, ArrayDeque<Ack>> awaited = new HashMap<>();
  private final ForwardedPublishes forwarded;
  private BackplaneListener listener;
  private Consumer<Buffer> control;
  private RedisConnection subscriber;
  // For the gauge, read from the metrics thread.
  private volatile int subscribedRooms;

  /** {@code forwarded} hears this node's own publishes (null: nobody waits for them). */
  Subscriptions(ContextInternal context, RedisKeys keys, String nodeId, long timeoutMs, SignalingMetrics metrics,
      ForwardedPublishes forwarded) {
    this.context = context;
    this.forwarded = forwarded;
    this.keys = keys;
    this.nodeId = nodeId;
    this.timeoutMs = timeoutMs;
    this.metrics = metrics;
  }

  void listener(BackplaneListener listener, Consumer<Buffer> control) {
    this.listener = listener;
    this.control = control;
  }

  /** Rooms with a count above zero. Any thread. */
  int subscribedRooms() {
    return subscribedRooms;
  }

  boolean isSubscribed(RoomId room) {
    return counts.containsKey(room);
  }

  /** A snapshot of the rooms with a count above zero. */
  List<RoomId> rooms() {
    return new ArrayList<>(counts.keySet());
  }

  Future<Void> subscribe(RoomId room) {
    int count = counts.merge(room, 1, Integer::sum);
    subscribedRooms = counts.size();
    if (count > 1) {
      Ack last = lastAwaited(keys.events(room));
      if (last != null && last.subscribe()) {
        // The first subscriber's confirmation is still on its way.
        return last.promise().future().timeout(timeoutMs, TimeUnit.MILLISECONDS);
      }
      return subscriber != null ? context.succeededFuture() : notConnected();
    }
    if (subscriber == null) {
      // Counted all the same: the next connection subscribes it, and the caller unsubscribes.
      return notConnected();
    }
    return send(keys.events(room), true).onFailure(e -> metrics.backplaneError("subscribe"));
  }

  Future<Void> unsubscribe(RoomId room) {
    Integer count = counts.get(room);
    if (count == null) {
      return context.succeededFuture();
    }
    if (count > 1) {
      counts.put(room, count - 1);
      return context.succeededFuture();
    }
    counts.remove(room);
    subscribedRooms = counts.size();
    if (subscriber == null) {
      return context.succeededFuture(); // no connection, so nothing is received
    }
    return send(keys.events(room), false).onFailure(e -> metrics.backplaneError("unsubscribe"));
  }

  /** A new subscriber connection: subscribes the control channel and every counted room on it. */
  Future<Void> attach(RedisConnection connection) {
    subscriber = connection;
    List<Future<Void>> confirmations = new ArrayList<>();
    confirmations.add(send(keys.control(), true));
    for (RoomId room : counts.keySet()) {
      confirmations.add(send(keys.events(room), true));
    }
    return Future.all(confirmations).mapEmpty();
  }

  /**
   * The subscriber connection is gone. Awaited subscriptions fail; awaited unsubscriptions
   * succeed, since a closed connection receives nothing more.
   */
  void detach(RedisConnection connection) {
    if (subscriber != connection) {
      return;
    }
    subscriber = null;
    List<Ack> all = new ArrayList<>();
    awaited.values().forEach(all::addAll);
    awaited.clear();
    for (Ack ack : all) {
      if (ack.subscribe()) {
        ack.promise().tryFail("redis connection lost");
      } else {
        ack.promise().tryComplete();
      }
    }
  }

  void onPush(Response push) {
    if (push != null && push.type() == ResponseType.ERROR) {
      // A (un)subscription is answered by pushes only, so its refusal comes as one too.
      log.warn("the subscriber connection answered {}", push);
      return;
    }
    if (push == null || push.size() < 3) {
      return;
    }
    PubSub pubSub = keys.pubSub();
    String kind = push.get(0).toString();
    if (kind.equals(pubSub.message)) {
      onMessage(push.get(1).toString(), push.get(2));
    } else if (kind.equals(pubSub.subscribed)) {
      confirmed(push.get(1).toString(), true);
    } else if (kind.equals(pubSub.unsubscribed)) {
      confirmed(push.get(1).toString(), false);
    } else {
      log.debug("ignored push {}", kind);
    }
  }

  private void onMessage(String channel, Response payload) {
    if (channel.equals(keys.control())) {
      control.accept(payload.toBuffer());
      return;
    }
    RoomId room = keys.roomOfChannel(channel);
    if (room == null || !counts.containsKey(room)) {
      return; // unsubscribed (or unsubscribing): nothing more for the listener
    }
    WireFormat.Decoded decoded;
    try {
      decoded = WireFormat.decode(room, payload.toBuffer());
    } catch (RuntimeException e) {
      metrics.backplaneError("decode");
      log.atDebug().addKeyValue("room", room).setCause(e).log("undecodable message on {}", room);
      return;
    }
    BackplaneMessage message = decoded.message();
    if (message == null) {
      listener.missedEvents(room);
      return;
    }
    boolean own = message.originNode().equals(nodeId);
    if (own && message.seqs().isEmpty()) {
      if (forwarded != null && message.subject() != null) {
        forwarded.heard(room, message.subject(), decoded.sentMicros());
      }
      return; // our own publish, already delivered locally
    }
    // A numbered event reaches its sessions only this way, on the publishing node too: their
    // numbers exist only once publish.lua has run.
    metrics.backplaneReceived();
    if (!own && message.event() instanceof Relayed) {
      metrics.crossNodeLatencyMicros(WireFormat.nowMicros() - decoded.sentMicros());
    }
    listener.onMessage(message);
  }

  /** Whether {@code channel} is the control channel or a counted room's: one a subscriber must hold. */
  boolean wants(String channel) {
    if (channel.equals(keys.control())) {
      return true;
    }
    RoomId room = keys.roomOfChannel(channel);
    return room != null && counts.containsKey(room);
  }

  /** An unsubscription of {@code channel} that will get no answer, and needs none (a {@link ShardedSubscriber}'s). */
  void unsubscribeEnded(String channel) {
    confirmed(channel, false);
  }

  // Whether the confirmation was awaited.
  private boolean confirmed(String channel, boolean subscribe) {
    ArrayDeque<Ack> queue = awaited.get(channel);
    Ack head = queue == null ? null : queue.peek();
    if (head == null || head.subscribe() != subscribe) {
      log.debug("unexpected {} confirmation for {}", subscribe ? "subscribe" : "unsubscribe", channel);
      return false;
    }
    queue.poll();
    if (queue.isEmpty()) {
      awaited.remove(channel);
    }
    head.promise().tryComplete();
    return true;
  }

  private Future<Void> send(String channel, boolean subscribe) {
    Ack ack = new Ack(subscribe, context.promise());
    awaited.computeIfAbsent(channel, c -> new ArrayDeque<>()).add(ack);
    if (subscriber instanceof ShardedSubscriber sharded) {
      try {
        if (!sharded.send(channel, subscribe)) {
          unsubscribeEnded(channel);
        }
      } catch (IllegalStateException e) {
        // No master serves its slot (a failover under way): refused, as during an outage.
        awaited.get(channel).remove(ack);
        if (awaited.get(channel).isEmpty()) {
          awaited.remove(channel);
        }
        ack.promise().tryFail(e);
      }
    } else {
      // A failed write breaks the connection, whose loss then settles every awaited confirmation.
      subscriber.send(Request.cmd(subscribe ? keys.pubSub().subscribe : keys.pubSub().unsubscribe).arg(channel))
          .onFailure(ack.promise()::tryFail);
    }
    return ack.promise().future().timeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

  private Ack lastAwaited(String channel) {
    ArrayDeque<Ack> queue = awaited.get(channel);
    return queue == null ? null : queue.peekLast();
  }

  private Future<Void> notConnected() {
    return context.failedFuture("redis backplane not connected");
  }
}
