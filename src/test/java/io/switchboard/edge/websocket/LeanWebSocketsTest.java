package io.switchboard.edge.websocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Vert.x on the class path passes LeanWebSockets' check, so a Vert.x upgrade that moves the
 * private fields it relies on fails here instead of quietly costing 6 KiB per connection; and
 * sockets it made lean still carry traffic both ways after the first write, close and all.
 */
class LeanWebSocketsTest {

  @Test
  void thisVertxPassesTheCheckAndLeanSocketsCarryTrafficToTheEnd() throws Exception {
    try (ServerFixture fixture = ServerFixture.start()) {
      List<TestClient> clients = fixture.connect(2);
      assertTrue(LeanWebSockets.available(), "the reflective check failed against this Vert.x, or a socket could not be made lean");
      TestClient a = fixture.track(clients.get(0));
      TestClient b = fixture.track(clients.get(1));
      a.send("{\"type\":\"join\",\"room\":\"lean\"}");
      a.next("joined");
      b.send("{\"type\":\"join\",\"room\":\"lean\"}");
      b.next("joined");
      a.next("peer-joined");
      for (int i = 0; i < 50; i++) {
        a.send("{\"type\":\"candidate\",\"room\":\"lean\",\"to\":\"" + b.peerId() + "\",\"data\":{\"i\":" + i + "}}");
        b.send("{\"type\":\"candidate\",\"room\":\"lean\",\"to\":\"" + a.peerId() + "\",\"data\":{\"i\":" + i + "}}");
      }
      for (int i = 0; i < 50; i++) {
        assertEquals(i, a.next("candidate").getJsonObject("data").getInteger("i"));
        assertEquals(i, b.next("candidate").getJsonObject("data").getInteger("i"));
      }
      b.close();
      assertEquals(b.peerId(), a.next("peer-left").getString("peer"));
      assertTrue(LeanWebSockets.available(), "no socket failed to be made lean");
    }
  }
}
