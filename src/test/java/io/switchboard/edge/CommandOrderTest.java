package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.switchboard.support.TestClient;
import io.switchboard.support.Topology;
import io.switchboard.support.TopologyCases;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What a new user does first, without waiting for replies: a socket's commands take effect in
 * the order sent, and a {@code /relay/{room}} socket is in its room everywhere once it is open.
 * Each case repeats many times, on one node and across two nodes of one Redis.
 */
class CommandOrderTest {
  private static final Map<String, String> ENV = Map.of(
      "RATE_LIMIT_PER_SECOND", "100000", "RATE_LIMIT_BURST", "100000", "MAX_ROOMS_PER_CONNECTION", "2");
  private static final int ROUNDS = 100;
  private static final int RELAY_ROUNDS = 50;
  private static final AtomicInteger names = new AtomicInteger();

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class OnOneNode extends Cases {
    OnOneNode() {
      super(() -> Topology.oneNode(ENV));
    }
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class AcrossTwoNodes extends Cases {
    AcrossTwoNodes() {
      super(() -> Topology.twoNodesOnRedis(ENV));
    }
  }

  abstract static class Cases extends TopologyCases {
    Cases(Supplier<Topology> start) {
      super(start);
    }

    @Test
    void joinSignalAndLeaveSentBackToBackTakeEffectInOrder() {
      String room = "order-" + names.incrementAndGet();
      TestClient present = nodes.a().connect();
      present.join(room);
      TestClient eager = nodes.b().connect();
      for (int i = 0; i < ROUNDS; i++) {
        eager.sendNoWait("{\"type\":\"join\",\"room\":\"" + room + "\",\"id\":\"j" + i + "\"}");
        eager.sendNoWait("{\"type\":\"signal\",\"room\":\"" + room + "\",\"to\":\"" + present.peerId()
            + "\",\"data\":{\"n\":" + i + "},\"id\":\"s" + i + "\"}");
        eager.sendNoWait("{\"type\":\"leave\",\"room\":\"" + room + "\",\"id\":\"l" + i + "\"}");
        JsonObject joined = eager.next();
        assertEquals("joined", joined.getString("type"), "round " + i + ": " + joined);
        assertEquals("j" + i, joined.getString("id"));
        JsonObject left = eager.next();
        assertEquals("left", left.getString("type"), "round " + i + ": " + left);
        assertEquals("l" + i, left.getString("id"));

        assertEquals("peer-joined", present.next().getString("type"), "round " + i);
        JsonObject signal = present.next();
        assertEquals("signal", signal.getString("type"), "round " + i + ": " + signal);
        assertEquals(i, signal.getJsonObject("data").getInteger("n"));
        assertEquals("peer-left", present.next().getString("type"), "round " + i);
      }
      // In no room: a room limit of two still lets it join two others.
      eager.join(room + "-x");
      eager.join(room + "-y");
      eager.expectNothing();
      present.expectNothing();
    }

    @Test
    void aRelayFrameSentTheInstantAllSocketsAreOpenReachesEveryone() throws Exception {
      ExecutorService connecting = Executors.newFixedThreadPool(3);
      try {
        for (int round = 0; round < RELAY_ROUNDS; round++) {
          String path = "/relay/open-" + names.incrementAndGet();
          int r = round;
          // A and C on the first node, B on the other; all three connect at once.
          Future<TestClient> a = connecting.submit(() -> nodes.a().open(path, "a" + r));
          Future<TestClient> b = connecting.submit(() -> nodes.b().open(path, "b" + r));
          Future<TestClient> c = connecting.submit(() -> nodes.a().open(path, "c" + r));
          TestClient sender = a.get(10, TimeUnit.SECONDS);
          List<TestClient> others = List.of(b.get(10, TimeUnit.SECONDS), c.get(10, TimeUnit.SECONDS));
          sender.send("round " + r);
          for (TestClient other : others) {
            assertEquals("round " + r, other.nextFrame(TestClient.WAIT).text(), other + " in round " + r);
          }
          List<TestClient> all = new ArrayList<>(others);
          all.add(sender);
          all.forEach(TestClient::close);
        }
      } finally {
        connecting.shutdownNow();
      }
    }
  }
}
