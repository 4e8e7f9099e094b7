package io.switchboard.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.LogCapture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.WireSocket;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * A fuzz suite over every way in, run in CI in bounded time: mutated and generated messages and
 * frames for {@code /ws}, {@code /direct}, {@code /relay/{room}}, Engine.IO over WebSocket and
 * polling, and mutated HTTP requests. Everything derives from one fixed seed, so a failure
 * reproduces: {@code -Dswitchboard.fuzz.seed=N} picks another, and each batch's name says which
 * it used. After every batch the node must be ready, relay between a fresh pair, be back to zero
 * connections and rooms, and have logged nothing at ERROR.
 */
class FuzzTest {
  static final long SEED = Long.getLong("switchboard.fuzz.seed", 0x5B12_2026L);
  private static final int BATCHES = 4;
  private static final int CONNECTIONS = 6;
  private static final int MESSAGES = 12;
  private static final int MAX_MESSAGE = 8192;
  private static final Duration WAIT = TestClient.WAIT;

  private static ServerFixture fixture;
  private static LogCapture log;
  private static HttpClient http;
  private static final Map<String, Integer> outcomes = new TreeMap<>();
  private static long started;

  enum Target { NATIVE, DIRECT, RELAY, ENGINE_IO_WEBSOCKET, ENGINE_IO_POLLING, HTTP }

  @BeforeAll
  static void start() {
    started = System.nanoTime();
    fixture = ServerFixture.start(Map.of(
        "MAX_MESSAGE_BYTES", String.valueOf(MAX_MESSAGE),
        "MAX_FRAME_BYTES_HARD", "65536",
        "RATE_LIMIT_PER_SECOND", "1000",
        "RATE_LIMIT_BURST", "1000",
        "PING_INTERVAL_SECONDS", "1",
        "IDLE_TIMEOUT_SECONDS", "3",
        "HANDSHAKE_TIMEOUT_MS", "1000"));
    log = LogCapture.attach(Level.ERROR);
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(WAIT).build();
  }

  @AfterAll
  static void stop() {
    try {
      log.close();
      fixture.close();
    } finally {
      System.out.printf("FuzzTest: seed %d, %.1f s, outcomes %s%n", SEED, (System.nanoTime() - started) / 1e9, outcomes);
    }
  }

  @TestFactory
  Stream<DynamicTest> fuzz() {
    return Stream.of(Target.values()).flatMap(target -> IntStream.range(0, BATCHES).mapToObj(batch -> {
      long seed = SEED ^ (target.ordinal() * 1_000_003L) ^ (batch * 7_919L);
      return DynamicTest.dynamicTest(target + " batch " + batch + " (seed " + seed + ")", () -> {
        runBatch(target, new Random(seed));
        assertNodeUnharmed();
      });
    }));
  }

  private static synchronized void count(String outcome) {
    outcomes.merge(outcome, 1, Integer::sum);
  }

  // ---- what each target is sent ----

  private static List<byte[]> corpus(Target target) {
    List<String> texts = switch (target) {
      case NATIVE -> List.of(
          "{\"type\":\"join\",\"room\":\"fz\",\"meta\":{\"name\":\"a\"},\"id\":1}",
          "{\"type\":\"leave\",\"room\":\"fz\",\"id\":\"x\"}",
          "{\"type\":\"offer\",\"room\":\"fz\",\"data\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}",
          "{\"type\":\"candidate\",\"room\":\"fz\",\"to\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"data\":{\"candidate\":\"c\",\"sdpMLineIndex\":0}}",
          "{\"type\":\"signal\",\"room\":\"fz\",\"data\":[1,2.5e3,true,null,\"s\"]}",
          "{\"type\":\"ping\",\"id\":7}");
      case DIRECT -> List.of(
          "{\"type\":\"login\",\"name\":\"fuzzer\"}",
          "{\"type\":\"offer\",\"name\":\"other\",\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0\"}}",
          "{\"type\":\"answer\",\"name\":\"other\",\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0\"}}",
          "{\"type\":\"candidate\",\"name\":\"other\",\"candidate\":{\"candidate\":\"c\"}}",
          "{\"type\":\"leave\",\"name\":\"other\"}");
      case RELAY -> List.of("hello", "{\"any\":\"json\"}", "\u03ba\u1f79\u03c3\u03bc\u03b5", "");
      case ENGINE_IO_WEBSOCKET, ENGINE_IO_POLLING -> List.of(
          "40", "2", "3", "2probe", "5", "1", "6",
          "42[\"message\",{\"type\":\"CONNECT\",\"room\":{\"id\":\"fz\"}}]",
          "42[\"message\",{\"type\":\"OFFER\",\"room\":{\"id\":\"fz\"},\"callee\":{\"id\":\"x\"},\"payload\":{\"sdp\":\"v=0\"}}]",
          "42[\"message\",{\"type\":\"DISCONNECT\",\"room\":{\"id\":\"fz\"}}]");
      case HTTP -> List.of(
          "GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
          "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
          "GET /socket.io/?EIO=4&transport=polling&t=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://x\r\n\r\n",
          "POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n40",
          "GET /ice-servers?access_token=%41 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer x\r\n\r\n",
          "HEAD /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    };
    return texts.stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
  }

  private static void runBatch(Target target, Random random) throws Exception {
    Mutator mutator = new Mutator(random, MAX_MESSAGE + 256);
    List<byte[]> corpus = corpus(target);
    switch (target) {
      case NATIVE -> webSockets("/ws", corpus, mutator, random, ws -> {
        ws.nextText(WAIT);
        if (random.nextBoolean()) {
          ws.sendText("{\"type\":\"join\",\"room\":\"fz\"}");
        }
      });
      case DIRECT -> webSockets("/direct", corpus, mutator, random,
          ws -> ws.sendText("{\"type\":\"login\",\"name\":\"fz-" + random.nextInt(1000) + "\"}"));
      case RELAY -> webSockets("/relay/fz", corpus, mutator, random, ws -> { });
      case ENGINE_IO_WEBSOCKET -> webSockets("/socket.io/?EIO=4&transport=websocket", corpus, mutator, random, ws -> {
        ws.nextText(WAIT);
        ws.sendText("40");
      });
      case ENGINE_IO_POLLING -> polling(corpus, mutator, random);
      case HTTP -> requests(corpus, mutator, random);
    }
  }

  private interface Prelude {
    void run(WireSocket ws);
  }

  /** {@link #CONNECTIONS} sockets, each sent {@link #MESSAGES} hostile messages or frames, then closed. */
  private static void webSockets(String path, List<byte[]> corpus, Mutator mutator, Random random, Prelude prelude) {
    List<WireSocket> sockets = new ArrayList<>();
    try {
      for (int c = 0; c < CONNECTIONS; c++) {
        WireSocket ws = WireSocket.open(fixture.port(), path, random);
        sockets.add(ws);
        prelude.run(ws);
        boolean abandoned = false;
        for (int m = 0; m < MESSAGES && !abandoned; m++) {
          abandoned = sendOne(ws, mutator.mutate(corpus), random);
        }
        if (abandoned) {
          count("abandoned mid-frame");
          continue; // closed below without a word, like a client that vanished
        }
        ws.sendClose(1000, new byte[0]);
        int code = ws.awaitClose(WAIT);
        count(path.split("\\?")[0] + " closed " + code);
      }
    } finally {
      sockets.forEach(WireSocket::close);
    }
  }

  /** Sends one message in one of several hostile shapes; true when the socket was left mid-frame. */
  private static boolean sendOne(WireSocket ws, byte[] message, Random random) {
    int shape = random.nextInt(20);
    if (shape < 12) {
      ws.send(WireSocket.TEXT, message);
    } else if (shape < 14) {
      ws.send(WireSocket.BINARY, message);
    } else if (shape < 17) {
      // Fragmented at random points, pings sometimes between the pieces.
      int pieces = 1 + random.nextInt(Math.max(1, Math.min(8, message.length)));
      int from = 0;
      for (int p = 0; p < pieces; p++) {
        int to = p == pieces - 1 ? message.length : from + random.nextInt(message.length - from + 1);
        ws.send(p == pieces - 1, 0, p == 0 ? WireSocket.TEXT : WireSocket.CONTINUATION,
            java.util.Arrays.copyOfRange(message, from, to), true);
        from = to;
        if (random.nextInt(4) == 0) {
          ws.send(WireSocket.PING, new byte[random.nextInt(10)]);
        }
      }
    } else if (shape < 19) {
      // A generated frame: any opcode, reserved bits, final bit and masking.
      byte[] payload = java.util.Arrays.copyOf(message, Math.min(message.length, random.nextBoolean() ? 125 : 200));
      ws.send(random.nextBoolean(), random.nextInt(8), random.nextInt(16), payload, random.nextInt(10) > 0);
    } else {
      // A header promising more than ever comes.
      byte[] frame = WireSocket.frame(true, 0, WireSocket.TEXT, message, true, random);
      ws.sendRaw(java.util.Arrays.copyOf(frame, Math.max(2, frame.length - 1 - random.nextInt(Math.max(1, message.length)))));
      return true;
    }
    return false;
  }

  /** Engine.IO polling sessions sent hostile payloads; never a 5xx. */
  private static void polling(List<byte[]> corpus, Mutator mutator, Random random) throws Exception {
    for (int c = 0; c < CONNECTIONS; c++) {
      int version = random.nextBoolean() ? 3 : 4;
      try (EngineIoPollingClient client = EngineIoPollingClient.create(fixture.port(), version)) {
        client.handshake();
        String base = "http://127.0.0.1:" + fixture.port() + "/socket.io/?";
        for (int m = 0; m < MESSAGES; m++) {
          byte[] body = mutator.mutate(corpus);
          if (version == 3 && random.nextBoolean()) {
            body = Mutator.concat((body.length + ":").getBytes(StandardCharsets.US_ASCII), body);
          }
          HttpResponse<String> posted = http.send(HttpRequest.newBuilder(URI.create(base + client.sessionQuery()))
                  .timeout(WAIT).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
              HttpResponse.BodyHandlers.ofString());
          assertTrue(posted.statusCode() < 500, "POST answered " + posted.statusCode() + ": " + posted.body());
          count("polling POST " + posted.statusCode());
          String query = new String(mutator.mutate(List.of(Mutator.ascii(client.sessionQuery()))), StandardCharsets.ISO_8859_1);
          int status = rawStatus("GET /socket.io/?" + query.replaceAll("[\\s\\x00-\\x1f\\x7f-\\xff]", "%25") + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
          assertNotEquals(500, status, "GET /socket.io/?" + query);
        }
        http.send(HttpRequest.newBuilder(URI.create(base + client.sessionQuery())).timeout(WAIT)
            .POST(HttpRequest.BodyPublishers.ofString(version == 3 ? "1:1" : "1")).build(), HttpResponse.BodyHandlers.discarding());
      }
    }
  }

  /** Mutated HTTP requests, each on its own connection; never a 500. */
  private static void requests(List<byte[]> corpus, Mutator mutator, Random random) {
    for (int i = 0; i < CONNECTIONS * MESSAGES; i++) {
      int status = rawStatus(new String(mutator.mutate(corpus), StandardCharsets.ISO_8859_1));
      assertNotEquals(500, status);
      count("http " + (status < 0 ? "no answer" : status / 100 + "xx"));
    }
  }

  /** Sends {@code request}, ends the output, and returns the status of the answer (-1 for none). */
  private static int rawStatus(String request) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", fixture.port()), (int) WAIT.toMillis());
      socket.setSoTimeout((int) WAIT.toMillis());
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.shutdownOutput();
      InputStream in = socket.getInputStream();
      byte[] head = in.readNBytes(12);
      String line = new String(head, StandardCharsets.ISO_8859_1);
      return line.matches("HTTP/\\S+ \\d{3}") ? Integer.parseInt(line.substring(line.length() - 3)) : -1;
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no answer and no close within " + WAIT.toMillis() + " ms to: " + request, e);
    } catch (IOException e) {
      if (e.getMessage() != null && e.getMessage().contains("reset")) {
        return -1;
      }
      throw new UncheckedIOException(e);
    }
  }

  // ---- after every batch ----

  private static void assertNodeUnharmed() {
    fixture.awaitCondition(() -> fixture.server().openConnections() == 0 && fixture.server().roomCount() == 0,
        Duration.ofSeconds(8), "back to zero connections and rooms (connections "
            + fixture.server().openConnections() + ", rooms " + fixture.server().roomCount() + ")");
    assertEquals(200, fixture.get("/health/ready").status(), "/health/ready");
    TestClient a = fixture.connect();
    TestClient b = fixture.connect();
    a.join("fresh");
    b.join("fresh");
    a.next("peer-joined");
    a.send("{\"type\":\"offer\",\"room\":\"fresh\",\"to\":\"" + b.peerId() + "\",\"data\":{\"sdp\":\"after-fuzz\"}}");
    JsonObject offer = b.next("offer");
    assertEquals("after-fuzz", offer.getJsonObject("data").getString("sdp"));
    fixture.closeClients();
    List<String> errors = log.lines();
    log.clear();
    assertEquals(List.of(), errors, "ERROR log lines during the batch");
  }
}
