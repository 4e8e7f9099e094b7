package io.switchboard;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code --train}: a short, self-contained run of a node on loopback that does what a node does
 * at start-up under a reconnect storm: WebSocket upgrades, welcomes, joins, relays (to the room
 * and to one peer), resumable sessions, leaves and closes. It exists to be run once with
 * {@code -XX:AOTCacheOutput} when the image is built, so that a node started from the image finds
 * those classes loaded and linked, and their profiles recorded, in the AOT cache
 * (docs/operations.md, "Docker"). Never listens beyond 127.0.0.1; bounded in count and time.
 */
final class Training {
  private static final int CONNECTIONS = 2000;
  private static final int RELAYS_PER_PEER = 20;
  private static final long TIMEOUT_SECONDS = 120;

  private Training() {}

  /** Runs the training against an embedded node; returns the process's exit code. */
  static int run(Map<String, String> env, PrintStream out, PrintStream err) {
    Map<String, String> trainingEnv = new HashMap<>(env);
    // Always the embedded default on a free loopback port, whatever the environment points at.
    trainingEnv.put("HOST", "127.0.0.1");
    trainingEnv.put("PORT", "0");
    trainingEnv.put("ADMIN_PORT", "");
    trainingEnv.put("REDIS_URL", "");
    trainingEnv.put("DRAIN_DELAY_SECONDS", "0");
    trainingEnv.put("MAX_CONNECTIONS", String.valueOf(CONNECTIONS * 2));
    trainingEnv.put("MAX_PENDING_HANDSHAKES_PER_IP", String.valueOf(CONNECTIONS));
    // The workload is a burst on a cold JVM, often on a busy build machine: a loop that falls
    // behind must not shed the very clients whose run the cache records.
    trainingEnv.put("SHED_LAG_MS", "0");
    trainingEnv.put("LOG_LEVEL", "WARN");
    SwitchboardConfig config;
    try {
      config = SwitchboardConfig.fromEnv(trainingEnv);
    } catch (RuntimeException e) {
      err.println(e.getMessage());
      return Cli.BAD_CONFIG;
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = Switchboard.createVertx(registry, config.eventLoops(), config.transport());
    long started = System.nanoTime();
    try {
      Switchboard node = Switchboard.start(vertx, config, registry).toCompletionStage().toCompletableFuture()
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(CONNECTIONS));
      List<Future<Void>> pairs = new ArrayList<>();
      for (int pair = 0; pair < CONNECTIONS / 2; pair++) {
        pairs.add(pair(client, node.port(), "training-" + pair, pair % 2 == 0));
      }
      Future.all(pairs).toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      node.drain(java.time.Duration.ZERO).toCompletionStage().toCompletableFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      out.printf("trained: %d connections, %d relays each, in %d ms%n", CONNECTIONS, RELAYS_PER_PEER,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      return Cli.OK;
    } catch (Exception e) {
      err.println("training failed: " + e);
      return 1;
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().orTimeout(TIMEOUT_SECONDS, TimeUnit.SECONDS).join();
    }
  }

  /** Two peers meet in {@code room}, relay to the room and to each other, and leave. */
  private static Future<Void> pair(WebSocketClient client, int port, String room, boolean resumable) {
    Promise<String> firstPeer = Promise.promise();
    Future<Void> first = peer(client, port, room, resumable, null, firstPeer);
    Future<Void> second = firstPeer.future().compose(id -> peer(client, port, room, !resumable, id, Promise.promise()));
    return Future.all(first, second).mapEmpty();
  }

  /**
   * One peer: joins and relays {@link #RELAYS_PER_PEER} messages once both are in: the first to
   * join to the newcomer, the second to the room. Completes once it has heard as many from its
   * partner and has closed.
   */
  private static Future<Void> peer(WebSocketClient client, int port, String room, boolean resumable,
      String partner, Promise<String> joinedAs) {
    Promise<Void> done = Promise.promise();
    String path = resumable ? "/ws?resume=1" : "/ws";
    client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI(path))
        .onFailure(done::tryFail)
        .onSuccess(ws -> {
          int[] heard = {0};
          ws.textMessageHandler(text -> {
            JsonObject message;
            try {
              message = new JsonObject(text);
            } catch (RuntimeException e) {
              done.tryFail(e);
              return;
            }
            switch (message.getString("type", "")) {
              case "welcome" -> ws.writeTextMessage("{\"type\":\"join\",\"room\":\"" + room
                  + "\",\"meta\":{\"name\":\"training\"},\"id\":\"j\"}");
              case "joined" -> {
                joinedAs.tryComplete(message.getString("peer"));
                if (partner != null) {
                  relay(ws, room, null, resumable); // the second to join: to the room
                }
              }
              case "peer-joined" -> relay(ws, room, message.getString("peer"), resumable);
              case "offer", "candidate" -> {
                if (resumable && message.containsKey("seq")) {
                  ws.writeTextMessage("{\"type\":\"ack\",\"seq\":" + message.getLong("seq") + "}");
                }
                if (++heard[0] == RELAYS_PER_PEER) {
                  ws.writeTextMessage("{\"type\":\"ping\"}");
                  ws.writeTextMessage("{\"type\":\"leave\",\"room\":\"" + room + "\"}");
                  ws.close().onComplete(v -> done.tryComplete());
                }
              }
              case "error" -> done.tryFail(new IllegalStateException("the node refused: " + text));
              default -> { }
            }
          });
          ws.closeHandler(v -> done.tryComplete());
        });
    return done.future();
  }

  private static void relay(WebSocket ws, String room, String to, boolean numbered) {
    String address = to == null ? "" : ",\"to\":\"" + to + "\"";
    for (int i = 0; i < RELAYS_PER_PEER; i++) {
      String n = numbered ? ",\"n\":" + (i + 1) : "";
      ws.writeTextMessage(i % 2 == 0
          ? "{\"type\":\"offer\",\"room\":\"" + room + "\"" + address + n + ",\"data\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}"
          : "{\"type\":\"candidate\",\"room\":\"" + room + "\"" + address + n
              + ",\"data\":{\"candidate\":\"candidate:1 1 udp 2122260223 10.0.0.5 50000 typ host\",\"sdpMid\":\"0\"}}");
    }
  }
}
