package io.switchboard.edge.dialect.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Topology;
import io.switchboard.support.TopologyCases;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The broadcast relay at {@code /relay/{room}}, on one node and across two nodes of one Redis. */
class RelayDialectTest {
  private static final Map<String, String> ENV = Map.of(
      "MAX_MESSAGE_BYTES", "1024", "MAX_PEERS_PER_ROOM", "3",
      "RATE_LIMIT_PER_SECOND", "5", "RATE_LIMIT_BURST", "20", "FLOOD_CLOSE_AFTER", "1000");
  private static final AtomicInteger rooms = new AtomicInteger();

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

    private static String room() {
      return "/relay/r" + rooms.incrementAndGet();
    }

    /**
     * Opens a client and returns once it is in the room: the first of a test once its node has a
     * room, a later one once a hello it repeats has reached every client already there (the
     * protocol itself says nothing when a join completes). The hellos are consumed.
     */
    private static TestClient joined(ServerFixture node, String path, String label, TestClient... present) {
      TestClient c = node.open(path, label);
      if (present.length == 0) {
        node.awaitCondition(() -> node.server().roomCount() > 0, TestClient.WAIT, label + " in its room");
        return c;
      }
      String hello = "hello from " + label;
      boolean[] heard = new boolean[present.length];
      for (int attempt = 0; attempt < 50 && !all(heard); attempt++) {
        c.send(hello);
        for (int i = 0; i < present.length; i++) {
          TestClient.Frame f;
          while ((f = present[i].nextFrameOrNull(Duration.ofMillis(heard[i] ? 1 : 100))) != null) {
            assertEquals(hello, f.text(), "only hellos while joining");
            heard[i] = true;
          }
        }
      }
      assertTrue(all(heard), label + " reached everyone in " + path);
      for (TestClient p : present) {
        TestClient.Frame f;
        while ((f = p.nextFrameOrNull(TestClient.QUIET)) != null) {
          assertEquals(hello, f.text(), "only hellos while joining");
        }
      }
      return c;
    }

    private static boolean all(boolean[] flags) {
      for (boolean f : flags) {
        if (!f) {
          return false;
        }
      }
      return true;
    }

    @Test
    void everyMessageReachesEveryOtherClientOfTheRoomUnchanged() {
      String path = room();
      TestClient a = joined(nodes.a(), path, "a");
      TestClient b = joined(nodes.b(), path, "b", a);
      TestClient c = joined(nodes.a(), path, "c", a, b);
      TestClient stranger = nodes.b().open(room(), "stranger");

      String text = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\",\"ünïcode\":\"🙂\"}";
      b.send(text);
      assertEquals(text, a.nextFrame(TestClient.WAIT).text());
      assertEquals(text, c.nextFrame(TestClient.WAIT).text());
      b.send("not even JSON");
      assertEquals("not even JSON", a.nextFrame(TestClient.WAIT).text());
      assertEquals("not even JSON", c.nextFrame(TestClient.WAIT).text());

      byte[] bytes = {0, 1, 2, (byte) 0xff, 10};
      a.sendBinary(Buffer.buffer(bytes));
      TestClient.Frame atB = b.nextFrame(TestClient.WAIT);
      TestClient.Frame atC = c.nextFrame(TestClient.WAIT);
      assertTrue(atB.binary() && atC.binary(), "binary stays binary: " + atB + " " + atC);
      assertEquals("5 bytes", atB.text());

      b.expectNothing();
      stranger.expectNothing();
    }

    @Test
    void aMessageSentRightAfterOpeningIsNotLost() {
      String path = room();
      TestClient a = joined(nodes.a(), path, "first");
      TestClient b = nodes.b().open(path, "eager");
      b.send("right away");
      assertEquals("right away", a.nextFrame(TestClient.WAIT).text());
    }

    @Test
    void oversizeMessagesAreRefusedAndTheSocketStays() {
      String path = room();
      TestClient a = joined(nodes.a(), path, "a");
      TestClient b = joined(nodes.b(), path, "b", a);
      b.send("x".repeat(2000));
      JsonObject error = b.next();
      assertEquals("error", error.getString("type"));
      assertEquals("too-large", error.getString("code"));
      a.expectNothing();
      b.send("small");
      assertEquals("small", a.nextFrame(TestClient.WAIT).text());
    }

    @Test
    void aFullRoomClosesTheNewcomerWithRoomFull() {
      String path = room();
      TestClient a = joined(nodes.a(), path, "a");
      TestClient b = joined(nodes.b(), path, "b", a);
      joined(nodes.a(), path, "c", a, b);
      TestClient late = nodes.b().open(path, "late");
      assertEquals("room-full", late.next().getString("code"));
      assertEquals(4009, late.awaitClose(TestClient.WAIT));
    }

    @Test
    void aFloodIsRateLimitedWithoutDisturbingTheOthers() {
      String path = room();
      TestClient a = joined(nodes.a(), path, "a");
      TestClient b = joined(nodes.b(), path, "b", a);
      for (int i = 0; i < 40; i++) {
        b.sendNoWait("m" + i);
      }
      int relayed = 0;
      while (a.nextFrameOrNull(TestClient.QUIET) != null) {
        relayed++;
      }
      assertTrue(relayed >= 15 && relayed < 40, "the burst passes, the rest is refused: " + relayed);
      assertEquals("rate-limited", b.nextOfType("error", TestClient.WAIT).getString("code"));
      b.assertOpen();
    }

    @Test
    void aPathThatIsNotARoomIsNotFound() {
      assertEquals(404, nodes.a().openRejected("/relay/"));
      assertEquals(404, nodes.a().openRejected("/relay/a%20b"));
      assertEquals(404, nodes.a().openRejected("/relay/a/b"));
    }
  }
}
