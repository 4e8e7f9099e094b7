package io.switchboard.support;

import io.switchboard.backplane.local.LocalBackplane;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.BackplaneListener;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A backplane the test drives step by step, for races: every operation of the kinds it holds
 * waits as a {@link Step} until the test lets it take effect on the shared in-memory cluster
 * ({@link Step#run}) and then answers the hub ({@link Step#answer}), and every message from
 * another node waits in an inbox until the test {@link #deliver delivers} it. Kinds not held
 * go straight through, as on {@link LocalBackplane}.
 *
 * <p>Nodes made with {@link #sharing} form one cluster, each with its own steps and inbox.
 * Thread-safe: the hub may call from an event loop while the test thread steps.
 */
public final class ScriptedBackplane implements Backplane {
  /** The operations a test may hold. */
  public enum Op { SUBSCRIBE, JOIN, LEAVE, MEMBERS, PUBLISH, UNSUBSCRIBE, CLAIM, SUSPEND, REPLAY, EXPIRE }

  private final LocalBackplane inner;
  private final Set<Op> held;
  private final List<Step> steps = new ArrayList<>();
  private final List<BackplaneMessage> inbox = new ArrayList<>();
  private volatile BackplaneListener listener;

  private ScriptedBackplane(LocalBackplane inner, Set<Op> held) {
    this.inner = inner;
    this.held = held;
  }

  /** The first node of a new cluster, holding operations of the kinds {@code held}. */
  public static ScriptedBackplane first(String nodeId, Op... held) {
    return new ScriptedBackplane(LocalBackplane.standalone(nodeId), asSet(held));
  }

  /** Another node of {@code other}'s cluster. */
  public static ScriptedBackplane sharing(ScriptedBackplane other, String nodeId, Op... held) {
    return new ScriptedBackplane(LocalBackplane.sharing(other.inner, nodeId), asSet(held));
  }

  private static Set<Op> asSet(Op[] ops) {
    return ops.length == 0 ? EnumSet.noneOf(Op.class) : EnumSet.of(ops[0], ops);
  }

  /** One held operation. */
  public final class Step {
    private final Op op;
    private final RoomId room;
    private final java.util.function.Supplier<Future<?>> effect;
    private final Promise<Object> answer = Promise.promise();
    private Future<?> result;

    private Step(Op op, RoomId room, java.util.function.Supplier<Future<?>> effect) {
      this.op = op;
      this.room = room;
      this.effect = effect;
    }

    public Op op() {
      return op;
    }

    public RoomId room() {
      return room;
    }

    /** Lets the operation take effect on the cluster; the hub hears nothing yet. */
    public Step run() {
      if (result == null) {
        result = effect.get();
      }
      return this;
    }

    /** Hands the operation's outcome to the hub (running it first if the test did not). */
    public void answer() {
      run();
      result.onComplete(ar -> {
        if (ar.succeeded()) {
          answer.complete(ar.result());
        } else {
          answer.fail(ar.cause());
        }
      });
    }

    /** Fails the operation without letting it take effect. */
    public void fail(Throwable cause) {
      answer.fail(cause);
    }

    @Override
    public String toString() {
      return op + " " + room;
    }
  }

  @SuppressWarnings("unchecked")
  private <T> Future<T> maybeHold(Op op, RoomId room, java.util.function.Supplier<Future<T>> effect) {
    if (!held.contains(op)) {
      return effect.get();
    }
    Step step = new Step(op, room, (java.util.function.Supplier<Future<?>>) (Object) effect);
    synchronized (this) {
      steps.add(step);
      notifyAll();
    }
    return (Future<T>) step.answer.future();
  }

  /** The oldest held step of kind {@code op}, waiting up to {@code timeout} for one to come. */
  public Step next(Op op, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (true) {
        for (Iterator<Step> it = steps.iterator(); it.hasNext(); ) {
          Step step = it.next();
          if (step.op == op) {
            it.remove();
            return step;
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("no " + op + " step within " + timeout + "; held: " + steps);
        }
        try {
          wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  /** The oldest held step of kind {@code op}, which must be there already. */
  public Step next(Op op) {
    return next(op, Duration.ZERO);
  }

  /** Steps held and not yet taken by the test. */
  public synchronized List<Step> pending() {
    return List.copyOf(steps);
  }

  /** Hands every message other nodes sent so far to the hub, in order; returns how many. */
  public int deliver() {
    List<BackplaneMessage> now;
    synchronized (this) {
      now = List.copyOf(inbox);
      inbox.clear();
    }
    now.forEach(listener::onMessage);
    return now.size();
  }

  /** Drops every message other nodes sent that was not delivered yet, as a cut subscription does; returns how many. */
  public synchronized int lose() {
    int lost = inbox.size();
    inbox.clear();
    return lost;
  }

  /** Tells the hub its subscription to {@code room} is back after a cut, as the Redis backplane does. */
  public void missed(RoomId room) {
    listener.missedEvents(room);
  }

  /** Messages from other nodes not yet delivered. */
  public synchronized List<BackplaneMessage> inbox() {
    return List.copyOf(inbox);
  }

  @Override
  public Future<Void> start(BackplaneListener listener) {
    this.listener = listener;
    return inner.start(new BackplaneListener() {
      @Override
      public void onMessage(BackplaneMessage message) {
        synchronized (ScriptedBackplane.this) {
          inbox.add(message);
        }
      }

      @Override
      public void onResync(RoomId room, List<JoinResult.Placed> members) {
        listener.onResync(room, members);
      }

      @Override
      public void reconcile(RoomId room, List<JoinResult.Placed> members) {
        listener.reconcile(room, members);
      }

      @Override
      public boolean onDisconnect(io.switchboard.signaling.port.Disconnect request) {
        return listener.onDisconnect(request);
      }
    });
  }

  // The server API's operations are not scripted: they pass straight through.

  @Override
  public Future<io.switchboard.signaling.port.RoomPage> rooms(String cursor, int limit) {
    return inner.rooms(cursor, limit);
  }

  @Override
  public Future<Boolean> disconnect(io.switchboard.signaling.port.Disconnect request) {
    return inner.disconnect(request);
  }

  @Override
  public Future<JoinResult> join(RoomId room, Member member, int maxPeers) {
    return maybeHold(Op.JOIN, room, () -> inner.join(room, member, maxPeers));
  }

  @Override
  public Future<Void> leave(RoomId room, PeerId peer) {
    return maybeHold(Op.LEAVE, room, () -> inner.leave(room, peer));
  }

  @Override
  public Future<List<JoinResult.Placed>> members(RoomId room) {
    return maybeHold(Op.MEMBERS, room, () -> inner.members(room));
  }

  @Override
  public Future<Void> subscribe(RoomId room) {
    return maybeHold(Op.SUBSCRIBE, room, () -> inner.subscribe(room));
  }

  @Override
  public Future<Void> unsubscribe(RoomId room) {
    return maybeHold(Op.UNSUBSCRIBE, room, () -> inner.unsubscribe(room));
  }

  @Override
  public Future<Void> publish(BackplaneMessage message) {
    return maybeHold(Op.PUBLISH, message.room(), () -> inner.publish(message));
  }

  @Override
  public boolean distributed() {
    return inner.distributed();
  }

  @Override
  public boolean ready() {
    return true;
  }

  @Override
  public Future<Void> close() {
    return inner.close();
  }

  // Resume: claims, suspensions, replays and expiries may be held; the rest goes straight through.

  @Override
  public Future<Void> register(PeerId peer, String tokenHash, String subject) {
    return inner.register(peer, tokenHash, subject);
  }

  @Override
  public Future<Void> ack(PeerId peer, long seq) {
    return inner.ack(peer, seq);
  }

  @Override
  public Future<List<RoomId>> suspend(PeerId peer, long epoch, long deadlineMillis) {
    return maybeHold(Op.SUSPEND, null, () -> inner.suspend(peer, epoch, deadlineMillis));
  }

  @Override
  public Future<io.switchboard.signaling.port.Claim> claim(PeerId peer, String tokenHash, String subject,
      long lastSeq, String newTokenHash) {
    return maybeHold(Op.CLAIM, null, () -> inner.claim(peer, tokenHash, subject, lastSeq, newTokenHash));
  }

  @Override
  public Future<List<io.switchboard.signaling.port.Numbered>> replay(PeerId peer, long after) {
    return maybeHold(Op.REPLAY, null, () -> inner.replay(peer, after));
  }

  @Override
  public Future<List<io.switchboard.signaling.port.Expired>> expire(long nowMillis) {
    return maybeHold(Op.EXPIRE, null, () -> inner.expire(nowMillis));
  }

  @Override
  public Future<Void> forget(PeerId peer, long epoch) {
    return inner.forget(peer, epoch);
  }
}
