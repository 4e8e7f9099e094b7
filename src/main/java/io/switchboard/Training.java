package io.switchboard;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.config.ConfigException;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.metrics.MetricNames;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientWebSocket;
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
 * (docs/operations.md, "Docker"); and, with {@code WARMUP_CONNECTIONS}, before a node starts, so
 * that its JIT has compiled what the node's first clients run ({@link #workload}). Never listens
 * beyond 127.0.0.1; bounded in count and time.
 */
final class Training {
  private static final int CONNECTIONS = 2000;
  private static final int RELAYS_PER_PEER = 20;
  private static final long TIMEOUT_SECONDS = 120;
  /** Connections open at once. */
  private static final int WAVE = 40;

  private Training() {}

  /** Runs the training against an embedded node; returns the process's exit code. */
  static int run(Map<String, String> env, PrintStream out, PrintStream err) {
    long started = System.nanoTime();
    try {
      long resumes = workload(env, CONNECTIONS, TIMEOUT_SECONDS);
      out.printf("trained: %d connections, %d relays each, %d resumes, in %d ms%n", CONNECTIONS, RELAYS_PER_PEER,
          resumes, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      return Cli.OK;
    } catch (ConfigException e) {
      err.println(e.getMessage());
      return Cli.BAD_CONFIG;
    } catch (Exception e) {
      err.println("training failed: " + e);
      return 1;
    }
  }

  /**
   * The same workload with {@code connections} sockets, on a node of its own that is gone when it
   * returns: run before a node starts ({@code WARMUP_CONNECTIONS}), it leaves the JVM's compiled
   * code behind, so that the node's first clients are set up at the cost of later ones. Blocks;
   * never on an event loop. Throws when it does not finish within {@code timeoutSeconds}. Returns
   * how many sessions resumed (none with resume off).
   */
  static long workload(Map<String, String> env, int connections, long timeoutSeconds) throws Exception {
    // Of the node's own settings only those that choose code paths a reconnect storm runs: the
    // rest (Redis, TLS, authentication, per-client limits) would refuse the workload's clients
    // or reach outside. Always the embedded default on a free loopback port.
    Map<String, String> trainingEnv = new HashMap<>();
    for (String setting : List.of("TRANSPORT", "EVENT_LOOPS", "WS_PERMESSAGE_DEFLATE", "RESUME_WINDOW_SECONDS")) {
      if (env.containsKey(setting)) {
        trainingEnv.put(setting, env.get(setting));
      }
    }
    trainingEnv.put("HOST", "127.0.0.1");
    trainingEnv.put("PORT", "0");
    trainingEnv.put("DRAIN_DELAY_SECONDS", "0");
    trainingEnv.put("MAX_CONNECTIONS", String.valueOf(connections * 2));
    trainingEnv.put("MAX_PENDING_HANDSHAKES_PER_IP", String.valueOf(connections));
    // The workload is a burst on a cold JVM, often on a busy build machine: a loop that falls
    // behind must not shed the very clients whose run the cache records.
    trainingEnv.put("SHED_LAG_MS", "0");
    trainingEnv.put("LOG_LEVEL", "WARN");
    SwitchboardConfig config = SwitchboardConfig.fromEnv(trainingEnv);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Vertx vertx = Switchboard.createVertx(registry, config.eventLoops(), config.transport());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    try {
      Switchboard node = Switchboard.start(vertx, config, registry).toCompletionStage().toCompletableFuture()
          .get(nanosLeft(deadline), TimeUnit.NANOSECONDS);
      WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(WAVE));
      // In small waves, so that a wave's sockets die young: with all 4,000 open at once they were
      // promoted, and the node then started with 160 MiB more resident (60 MiB in waves of 200);
      // in waves of 40 a full node ends within a few MiB of one that did not warm up.
      for (int first = 0; first < connections; first += WAVE) {
        List<Future<Void>> pairs = new ArrayList<>();
        for (int pair = first / 2; pair < Math.min(connections, first + WAVE) / 2; pair++) {
          pairs.add(pair(client, node.port(), "training-" + pair, pair % 2 == 0));
        }
        Future.all(pairs).toCompletionStage().toCompletableFuture().get(nanosLeft(deadline), TimeUnit.NANOSECONDS);
      }
      node.drain(java.time.Duration.ZERO).toCompletionStage().toCompletableFuture()
          .get(nanosLeft(deadline), TimeUnit.NANOSECONDS);
      return (long) registry.find(MetricNames.RESUMES).tag("outcome", "ok").counter().count();
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().orTimeout(TIMEOUT_SECONDS, TimeUnit.SECONDS).join();
    }
  }

  private static long nanosLeft(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }

  /** Two peers meet in {@code room}, relay to the room and to each other, and leave. */
  private static Future<Void> pair(WebSocketClient client, int port, String room, boolean resumable) {
    Promise<String> firstPeer = Promise.promise();
    Future<Void> first = peer(client, port, room, resumable, null, firstPeer);
    Future<Void> second = firstPeer.future().compose(id -> peer(client, port, room, !resumable, id, Promise.promise()));
    return Future.all(first, second).mapEmpty();
  }

  private static Future<Void> peer(WebSocketClient client, int port, String room, boolean resumable,
      String partner, Promise<String> joinedAs) {
    return new Peer(client, port, room, resumable, partner, joinedAs).start();
  }

  /**
   * One peer: joins and relays {@link #RELAYS_PER_PEER} messages once both are in: the first to
   * join to the newcomer, the second to the room. Completes once it has heard as many from its
   * partner and has closed. A resumable peer drops its socket halfway (a close code other than
   * 1000 and 1001 starts its gap) and resumes on a new one, which gets it what its partner
   * relayed meanwhile: what a node does when another node's clients move to it.
   */
  private static final class Peer {
    private final WebSocketClient client;
    private final int port;
    private final String room;
    private final boolean resumable;
    private final String partner;
    private final Promise<String> joinedAs;
    private final Promise<Void> done = Promise.promise();
    // The two sockets of a resumed peer may live on different event loops; what one of them
    // wrote before the switch is handed over with the connect that opens the other.
    private volatile WebSocket current;
    private String token;
    private boolean resumed;
    private long lastSeq;
    private int heard;

    Peer(WebSocketClient client, int port, String room, boolean resumable, String partner, Promise<String> joinedAs) {
      this.client = client;
      this.port = port;
      this.room = room;
      this.resumable = resumable;
      this.partner = partner;
      this.joinedAs = joinedAs;
    }

    Future<Void> start() {
      open();
      return done.future();
    }

    private void open() {
      // Handlers before the handshake: the welcome comes in the same segment as the 101, and a
      // connect whose answer reaches this thread after the socket's loop read the welcome would
      // find no handler and lose it.
      ClientWebSocket ws = client.webSocket();
      current = ws;
      ws.textMessageHandler(text -> onText(ws, text));
      ws.closeHandler(v -> {
        if (ws == current) {
          done.tryComplete();
        }
      });
      ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
              .setURI(resumable ? "/ws?resume=1" : "/ws"))
          .onFailure(done::tryFail);
    }

    private void onText(WebSocket ws, String text) {
      if (ws != current) {
        return; // the dropped socket: what it still delivers comes again after the resume
      }
      JsonObject message;
      try {
        message = new JsonObject(text);
      } catch (RuntimeException e) {
        done.tryFail(e);
        return;
      }
      if (message.getValue("seq") instanceof Number seq) {
        lastSeq = Math.max(lastSeq, seq.longValue());
      }
      switch (message.getString("type", "")) {
        case "welcome" -> {
          if (token == null) {
            token = message.getString("resume");
            ws.writeTextMessage("{\"type\":\"join\",\"room\":\"" + room
                + "\",\"meta\":{\"name\":\"training\"},\"id\":\"j\"}");
          } else {
            ws.writeTextMessage("{\"type\":\"resume\",\"token\":\"" + token + "\",\"seq\":" + lastSeq
                + ",\"id\":\"r\"}");
          }
        }
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
          heard++;
          if (heard == RELAYS_PER_PEER) {
            ws.writeTextMessage("{\"type\":\"ping\"}");
            ws.writeTextMessage("{\"type\":\"leave\",\"room\":\"" + room + "\"}");
            ws.close().onComplete(v -> done.tryComplete());
          } else if (heard == RELAYS_PER_PEER / 2 && token != null && !resumed) {
            resumed = true;
            current = null;
            ws.close((short) 4000, "training: resume").onComplete(v -> open());
          }
        }
        case "error" -> done.tryFail(new IllegalStateException("the node refused: " + text));
        default -> { }
      }
    }
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
