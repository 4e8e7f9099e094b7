package io.switchboard.support;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Rooms of two {@link ResumingClient}s sending each other numbered signals ({@code data} is
 * {@code {"s": sender, "c": counter}}) at a steady rate, and the judgement afterwards of what
 * docs/protocol.md promises a resuming client: every message once, in order, from the same peer
 * id; no {@code peer-left}; no numbered event repeated; no error.
 */
public final class PairLoad {
  /** One room and its two peers. */
  public record Pair(String room, ResumingClient a, ResumingClient b) {
  }

  private final List<Pair> pairs = new ArrayList<>();
  private Vertx vertx;
  private long timer = -1;

  public void add(String room, ResumingClient a, ResumingClient b) {
    pairs.add(new Pair(room, a, b));
  }

  public List<Pair> pairs() {
    return List.copyOf(pairs);
  }

  /** Every {@code a} has heard its {@code b} join (its first numbered event), so both know each other. */
  public boolean allIntroduced() {
    return pairs.stream().allMatch(p -> p.a().events().size() >= 1);
  }

  /** Each peer sends one signal to the other every {@code 1000 / ratePerSecond} ms, from a Vert.x timer. */
  public void start(Vertx on, int ratePerSecond) {
    this.vertx = on;
    timer = on.setPeriodic(Math.max(1, 1000L / ratePerSecond), id -> {
      for (Pair p : pairs) {
        send(p.a(), p.b(), p.room());
        send(p.b(), p.a(), p.room());
      }
    });
  }

  private static void send(ResumingClient from, ResumingClient to, String room) {
    // The counter is the relay's n: these are the only relays a client of the load sends.
    long c = from.relaysSent() + 1;
    from.relay("signal", room, to.peer(), new JsonObject().put("s", from.name()).put("c", c));
  }

  public void stop() {
    if (timer != -1) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private static long signalsFrom(ResumingClient receiver, ResumingClient sender) {
    return receiver.events().stream()
        .filter(r -> "signal".equals(r.type()) && sender.peer().equals(r.json().getString("from")))
        .count();
  }

  /** Waits, bounded, until every signal sent has reached the other peer of its pair; false if not. */
  public boolean awaitDelivery(Duration timeout) {
    Wait.requireTestThread();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (pairs.stream().allMatch(p -> signalsFrom(p.b(), p.a()) >= p.a().relaysSent()
          && signalsFrom(p.a(), p.b()) >= p.b().relaysSent())) {
        return true;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    return false;
  }

  /** What the judgement counted. */
  public record Verdict(long sent, long received, long repeated, List<String> broken) {
    public String summary() {
      return String.format("sent %d, received %d, numbered events repeated by the server %d, broken promises %d",
          sent, received, repeated, broken.size());
    }

    public String firstBroken(int max) {
      return broken.size() + " broken, first ones:\n  " + String.join("\n  ", broken.subList(0, Math.min(max, broken.size())));
    }
  }

  /**
   * Judges {@code clients} (the pairs' peers and any others) against the promises; a
   * {@code peer-left} is allowed only where {@code leaveExpected} says so. A peer id that changed
   * shows twice: as the client's anomaly ({@code resumed} with another peer) and as signals from
   * an unexpected sender.
   */
  public Verdict judge(List<ResumingClient> clients, Predicate<JsonObject> leaveExpected) {
    List<String> broken = new ArrayList<>();
    long sent = 0;
    long received = 0;
    long repeated = 0;
    for (Pair p : pairs) {
      for (ResumingClient[] dir : new ResumingClient[][] {{p.a(), p.b()}, {p.b(), p.a()}}) {
        ResumingClient from = dir[0];
        ResumingClient to = dir[1];
        sent += from.relaysSent();
        List<Long> counters = new ArrayList<>();
        for (ResumingClient.Received r : to.events()) {
          if ("signal".equals(r.type())) {
            if (!from.peer().equals(r.json().getString("from"))) {
              broken.add(to.name() + ": signal from " + r.json().getString("from") + ", expected " + from.peer());
            }
            counters.add(r.json().getJsonObject("data").getLong("c"));
          }
        }
        received += counters.size();
        for (int i = 0; i < counters.size(); i++) {
          if (counters.get(i) != i + 1) {
            broken.add(to.name() + ": message " + (i + 1) + " from " + from.name() + " was " + counters.get(i)
                + " (around it: " + counters.subList(Math.max(0, i - 3), Math.min(counters.size(), i + 4)) + ")");
            break;
          }
        }
        if (counters.size() != from.relaysSent()) {
          broken.add(to.name() + ": received " + counters.size() + " of " + from.relaysSent() + " from " + from.name());
        }
      }
    }
    for (ResumingClient c : clients) {
      repeated += c.repeatedSeqs();
      if (c.repeatedSeqs() > 0) {
        broken.add(c.name() + ": " + c.repeatedSeqs() + " numbered events received again with a seq already processed");
      }
      for (String anomaly : c.anomalies()) {
        broken.add(c.name() + ": " + anomaly);
      }
      for (ResumingClient.Received r : c.events()) {
        if ("peer-left".equals(r.type()) && !leaveExpected.test(r.json())) {
          broken.add(c.name() + " heard " + r.json().encode());
        }
      }
      if (c.state() != ResumingClient.State.LIVE) {
        broken.add(c + " is not live at the end");
      }
    }
    return new Verdict(sent, received, repeated, broken);
  }
}
