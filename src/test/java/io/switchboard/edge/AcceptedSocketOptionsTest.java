package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.switchboard.Switchboard;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.impl.WebSocketImplBase;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server's transport leaves out the socket options an accepted socket already holds (one
 * system call each at every connection), and an accepted socket still ends up with every value
 * Vert.x asks for: no Nagle delay, no keep-alive, no cork, no user timeout.
 */
class AcceptedSocketOptionsTest {

  @ParameterizedTest
  @EnumSource(SwitchboardConfig.Transport.class)
  void anAcceptedSocketHoldsTheOptionsVertxSetsThoughOnlyTheOthersAreSet(SwitchboardConfig.Transport transport)
      throws Exception {
    Vertx vertx = Switchboard.createVertx(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), 1, transport);
    try {
      CompletableFuture<Map<ChannelOption<?>, Object>> accepted = new CompletableFuture<>();
      HttpServer server = vertx.createHttpServer().webSocketHandler(ws -> {
        Channel channel = ((WebSocketImplBase<?>) ws).channelHandlerContext().channel();
        accepted.complete(channel.config().getOptions());
      });
      int port = server.listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS).actualPort();
      WebSocketClient client = vertx.createWebSocketClient();
      client.connect(port, "127.0.0.1", "/").await(5, TimeUnit.SECONDS);
      Map<ChannelOption<?>, Object> options = accepted.get(5, TimeUnit.SECONDS);

      assertEquals(true, options.get(ChannelOption.TCP_NODELAY));
      assertEquals(false, options.get(ChannelOption.SO_KEEPALIVE));
      boolean nativeOptionsRead = false;
      for (Map.Entry<ChannelOption<?>, Object> option : options.entrySet()) {
        if (option.getKey().name().endsWith("TCP_CORK")) {
          assertEquals(false, option.getValue(), option.getKey().name());
          nativeOptionsRead = true;
        } else if (option.getKey().name().endsWith("TCP_USER_TIMEOUT")) {
          assertEquals(0, option.getValue(), option.getKey().name());
        }
      }
      assertFalse(!nativeOptionsRead && !Switchboard.transportName(vertx).equals("NioTransport"),
          "a native transport reports TCP_CORK");
      // Closed by hand, which keeps them reachable until here: Vert.x closes a client or server
      // that becomes unreachable, and a collection mid-handshake would fail the connect.
      client.close().await(5, TimeUnit.SECONDS);
      server.close().await(5, TimeUnit.SECONDS);
    } finally {
      vertx.close().await(5, TimeUnit.SECONDS);
    }
  }
}
