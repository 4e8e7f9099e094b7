package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.switchboard.Switchboard;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.json.JsonObject;
import io.vertx.core.transport.Transport;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** TRANSPORT=io_uring carries the protocol as epoll does, and falls back to epoll where it cannot. */
class TransportTest {

  @Test
  void ioUringRelaysWhereTheKernelHasItAndFallsBackToEpollWhereItHasNot() throws Exception {
    try (ServerFixture fixture = ServerFixture.start(Map.of("TRANSPORT", "io_uring"))) {
      boolean ioUring = Transport.IO_URING != null && Transport.IO_URING.available();
      assertEquals(ioUring ? "IoUringTransport" : "EpollTransport", Switchboard.transportName(fixture.serverVertx()));
      TestClient a = fixture.track(fixture.connect());
      TestClient b = fixture.track(fixture.connect());
      a.send("{\"type\":\"join\",\"room\":\"r\"}");
      a.next("joined");
      b.send("{\"type\":\"join\",\"room\":\"r\"}");
      b.next("joined");
      a.next("peer-joined");
      b.send("{\"type\":\"offer\",\"room\":\"r\",\"to\":\"" + a.peerId() + "\",\"data\":{\"sdp\":\"v=0\"}}");
      JsonObject offer = a.next("offer");
      assertEquals(b.peerId(), offer.getString("from"));
      assertEquals("v=0", offer.getJsonObject("data").getString("sdp"));
    }
  }
}
