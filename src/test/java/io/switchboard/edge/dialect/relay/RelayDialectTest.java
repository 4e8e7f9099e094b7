package io.switchboard.edge.dialect.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.TestClient;
import io.switchboard.support.Topology;
import io.switchboard.support.TopologyCases;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The broadcast relay at {@code /relay/{room}}, on one node and across two nodes of one Redis. A
 * socket is in its room on every node once it is open, so no case waits for a join.
 */
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

    @Test
    void everyMessageReachesEveryOtherClientOfTheRoomUnchanged() {
      String path = room();
      TestClient a = nodes.a().open(path, "a");
      TestClient b = nodes.b().open(path, "b");
      TestClient c = nodes.a().open(path, "c");
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
      TestClient a = nodes.a().open(path, "first");
      TestClient b = nodes.b().open(path, "eager");
      b.send("right away");
      assertEquals("right away", a.nextFrame(TestClient.WAIT).text());
    }

    @Test
    void oversizeMessagesAreRefusedAndTheSocketStays() {
      String path = room();
      TestClient a = nodes.a().open(path, "a");
      TestClient b = nodes.b().open(path, "b");
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
      TestClient a = nodes.a().open(path, "a");
      TestClient b = nodes.b().open(path, "b");
      nodes.a().open(path, "c");
      TestClient late = nodes.b().open(path, "late");
      assertEquals("room-full", late.next().getString("code"));
      assertEquals(4009, late.awaitClose(TestClient.WAIT));
    }

    @Test
    void aFloodIsRateLimitedWithoutDisturbingTheOthers() {
      String path = room();
      TestClient a = nodes.a().open(path, "a");
      TestClient b = nodes.b().open(path, "b");
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
