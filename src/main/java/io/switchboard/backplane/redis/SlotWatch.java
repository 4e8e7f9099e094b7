package io.switchboard.backplane.redis;

import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a Redis Cluster: reads {@code CLUSTER SLOTS} every {@link #INTERVAL_MS} and reports the slots
 * whose master has changed since the last reading, so that the subscriber moves its channels in
 * them to where they now live. Redis also ends a moved slot's subscriptions with a push, and a
 * lost master's connection closes; this catches what those miss (a push lost with its
 * connection, a master that changed while the link looked alive). After every reading it also
 * runs {@code afterReading}, for what must follow the connections the cluster client opens to new
 * masters by itself.
 *
 * <p>Confined to the backplane's context.
 */
final class SlotWatch {
  private static final Logger log = LoggerFactory.getLogger(SlotWatch.class);
  static final long INTERVAL_MS = 1000;

  private final Vertx vertx;
  private final Commands commands;
  private final Changed changed;
  private final Runnable afterReading;
  // Slot -> its master's address, from the last reading; null before the first.
  private String[] last;
  private long timer = -1;
  private boolean reading;

  /** Told of a reading in which some slots have a new master. */
  interface Changed {
    /**
     * @param moved the slots whose master changed
     * @param masters each slot's master now, as host:port (null where none serves it)
     * @param description the new map, for a log line
     */
    void accept(BitSet moved, String[] masters, String description);
  }

  SlotWatch(Vertx vertx, Commands commands, Changed changed, Runnable afterReading) {
    this.vertx = vertx;
    this.commands = commands;
    this.changed = changed;
    this.afterReading = afterReading;
  }

  void start() {
    // The first reading is the map the connections were just made with: a move after it counts.
    read();
    timer = vertx.setPeriodic(INTERVAL_MS, id -> read());
  }

  void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void read() {
    if (reading) {
      return;
    }
    reading = true;
    commands.send(Request.cmd(Command.CLUSTER).arg("SLOTS"))
        .onSuccess(slots -> {
          String[] now = masters(slots);
          if (last != null) {
            BitSet moved = new BitSet(HashSlot.SLOTS);
            for (int slot = 0; slot < HashSlot.SLOTS; slot++) {
              if (!Objects.equals(last[slot], now[slot])) {
                moved.set(slot);
              }
            }
            if (!moved.isEmpty()) {
              changed.accept(moved, now, describe(slots));
            }
          }
          last = now;
          afterReading.run();
        })
        .onFailure(e -> log.debug("CLUSTER SLOTS failed", e))
        .onComplete(ar -> reading = false);
  }

  // Each slot's master, as host:port; null for a slot no master serves.
  static String[] masters(Response slots) {
    String[] masters = new String[HashSlot.SLOTS];
    for (Response range : slots) {
      String master = range.get(2).get(0) + ":" + range.get(2).get(1).toInteger();
      Arrays.fill(masters, range.get(0).toInteger(), range.get(1).toInteger() + 1, master);
    }
    return masters;
  }

  // "start-end host:port" per range, in slot order: each range's master, and nothing else.
  private static String describe(Response slots) {
    List<String> ranges = new ArrayList<>();
    for (Response range : slots) {
      Response master = range.get(2);
      ranges.add(range.get(0).toInteger() + "-" + range.get(1).toInteger() + " " + master.get(0) + ":"
          + master.get(1).toInteger());
    }
    ranges.sort((a, b) -> Integer.compare(Integer.parseInt(a.substring(0, a.indexOf('-'))),
        Integer.parseInt(b.substring(0, b.indexOf('-')))));
    return String.join(", ", ranges);
  }
}
