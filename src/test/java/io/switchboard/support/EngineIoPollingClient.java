package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.switchboard.edge.engineio.EngineIoCodec;
import io.switchboard.edge.engineio.EngineIoException;
import io.switchboard.edge.engineio.EngineIoPacket;
import io.switchboard.edge.engineio.EngineIoPacket.PacketType;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * An Engine.IO (v3 or v4) client of the HTTP long-polling transport at {@code /socket.io/}, on the
 * JDK's HTTP client, for the test thread only. Every request is bounded.
 *
 * <p>Two levels. Raw: {@link #request} and {@link #post} return whatever the server answered, for
 * tests of errors. Session: {@link #handshake}, {@link #send}, and a receive queue fed by at most
 * one GET in flight at a time ({@link #nextPacket}, {@link #nextMessage}); a GET that a wait gives
 * up on stays in flight for the next wait, so no packet is lost. {@link #nextMessage} also keeps
 * the session alive as the protocol wants (v3: the client pings; v4: it answers the server's
 * pings), which a test of a silent client simply never calls.
 *
 * <p>{@link #close()} sends a close packet (POST {@code 1}) when the session may still be open.
 */
public final class EngineIoPollingClient implements AutoCloseable {
  /** How long any single request may take before the test fails. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  private static final HttpClient SHARED = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(TestClient.WAIT)
      .build();
  private static final AtomicLong CACHE_BUSTER = new AtomicLong();

  /** One HTTP answer. */
  public record Response(int status, String body, HttpHeaders headers) {
    /** The first value of header {@code name} (case-insensitive), or null when absent. */
    public String header(String name) {
      return headers.firstValue(name).orElse(null);
    }

    /** The body as a JSON object (for engine.io's error bodies). */
    public JsonObject json() {
      return new JsonObject(body);
    }

    @Override
    public String toString() {
      return status + " " + body;
    }
  }

  /** A successful handshake: the session id, the open packet's JSON, and the whole answer. */
  public record Handshake(String sid, JsonObject open, Response response) {}

  private final HttpClient http;
  private final int port;
  private final int version;
  private final EngineIoCodec codec;
  private final String origin;
  private final ArrayDeque<EngineIoPacket> received = new ArrayDeque<>();
  private CompletableFuture<Response> inflight;
  private String sid;
  private JsonObject open;
  private long pingIntervalNanos;
  private long lastPingNanos;
  private boolean closeSeen;

  private EngineIoPollingClient(HttpClient http, int port, int version, String origin) {
    this.http = http;
    this.port = port;
    this.version = version;
    this.codec = EngineIoCodec.forVersion(version);
    this.origin = origin;
  }

  /** A client of the node on {@code 127.0.0.1:port}, without an Origin header. */
  public static EngineIoPollingClient create(int port, int version) {
    return create(port, version, null);
  }

  /** A client sending {@code origin} as its Origin header on every request (none when null). */
  public static EngineIoPollingClient create(int port, int version, String origin) {
    return new EngineIoPollingClient(SHARED, port, version, origin);
  }

  public int version() {
    return version;
  }

  public EngineIoCodec codec() {
    return codec;
  }

  /** The session id; null before {@link #handshake}. */
  public String sid() {
    return sid;
  }

  /** The open packet's JSON; null before {@link #handshake}. */
  public JsonObject openPacket() {
    return open;
  }

  /** The query of this session's polling requests, with a cache buster as real clients add. */
  public String sessionQuery() {
    assertNotNull(sid, "no handshake yet");
    return "EIO=" + version + "&transport=polling&t=" + CACHE_BUSTER.incrementAndGet() + "&sid=" + sid;
  }

  // ---- raw requests ----

  /**
   * Sends {@code method} to {@code /socket.io/?query} with {@code body} (none when null), the
   * Origin header if this client has one, and {@code headers}; returns the answer, whatever it is.
   */
  public Response request(String method, String query, String body, Map<String, String> headers) {
    Wait.requireTestThread();
    try {
      return requestAsync(method, query, body, headers).get(REQUEST_TIMEOUT.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return fail(method + " ?" + query + ": no answer within " + REQUEST_TIMEOUT.toMillis() + " ms");
    } catch (ExecutionException e) {
      throw new UncheckedIOException(method + " ?" + query,
          e.getCause() instanceof IOException io ? io : new IOException(e.getCause()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** GET {@code /socket.io/?query}. */
  public Response get(String query) {
    return request("GET", query, null, Map.of());
  }

  /** POST {@code body} to this session as it is, well-formed or not. */
  public Response post(String body) {
    return request("POST", sessionQuery(), body, Map.of());
  }

  /** One GET of this session, started now and answered whenever the server answers it. */
  public CompletableFuture<Response> pollAsync() {
    return requestAsync("GET", sessionQuery(), null, Map.of());
  }

  private CompletableFuture<Response> requestAsync(String method, String query, String body, Map<String, String> headers) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/socket.io/?" + query))
        .timeout(REQUEST_TIMEOUT)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (body != null) {
      builder.header("Content-Type", "text/plain;charset=UTF-8");
    }
    if (origin != null) {
      builder.header("Origin", origin);
    }
    headers.forEach(builder::header);
    return http.sendAsync(builder.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8))
        .thenApply(r -> new Response(r.statusCode(), r.body(), r.headers()));
  }

  // ---- the session ----

  /**
   * Opens a polling session: GET without sid, which must answer 200 with the open packet first.
   * Packets after it (the v3 Socket.IO connect {@code 40}) are queued for {@link #nextPacket}.
   */
  public Handshake handshake() {
    return handshake("");
  }

  /** {@link #handshake()} with {@code extraQuery} ({@code &name=value...}) added to the handshake's query. */
  public Handshake handshake(String extraQuery) {
    Response response = get("EIO=" + version + "&transport=polling&t=" + CACHE_BUSTER.incrementAndGet() + extraQuery);
    assertEquals(200, response.status(), "handshake: " + response);
    List<EngineIoPacket> packets = decode(response.body());
    assertTrue(!packets.isEmpty() && packets.get(0).type() == PacketType.OPEN,
        "handshake must start with an open packet: " + response.body());
    open = new JsonObject(packets.get(0).data());
    sid = open.getString("sid");
    assertNotNull(sid, "open packet without sid: " + open);
    pingIntervalNanos = TimeUnit.MILLISECONDS.toNanos(open.getLong("pingInterval", 25_000L));
    lastPingNanos = System.nanoTime();
    received.addAll(packets.subList(1, packets.size()));
    return new Handshake(sid, open, response);
  }

  /** Decodes a polling payload, failing the test when it is malformed. */
  public List<EngineIoPacket> decode(String body) {
    try {
      return codec.decodePayload(body);
    } catch (EngineIoException e) {
      return fail("malformed payload from the server (" + e.getMessage() + "): " + body);
    }
  }

  /**
   * POSTs {@code packets} (each as text: type digit then data, e.g. {@code "42[...]"}) in one
   * payload; the server must answer 200 {@code ok}.
   */
  public Response send(String... packets) {
    List<EngineIoPacket> list = new ArrayList<>();
    for (String p : packets) {
      PacketType type = p.isEmpty() ? null : PacketType.fromCode(p.charAt(0));
      assertNotNull(type, "not a packet: " + p);
      list.add(EngineIoPacket.text(type, p.substring(1)));
    }
    Response response = post(codec.encodePayload(list));
    assertEquals(200, response.status(), "POST " + List.of(packets) + ": " + response);
    assertEquals("ok", response.body());
    return response;
  }

  /** The next packet the server sends, or null when none comes within {@code timeout}. */
  public EngineIoPacket nextPacketOrNull(Duration timeout) {
    Wait.requireTestThread();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (received.isEmpty()) {
      if (closeSeen) {
        return null;
      }
      if (inflight == null) {
        inflight = pollAsync();
      }
      long left = deadline - System.nanoTime();
      Response response;
      try {
        response = inflight.get(Math.max(0, left), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        return null; // still in flight: the next wait picks it up
      } catch (ExecutionException e) {
        inflight = null;
        return fail("poll of " + sid + " failed: " + e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      inflight = null;
      assertEquals(200, response.status(), "poll of " + sid + ": " + response);
      List<EngineIoPacket> packets = decode(response.body());
      received.addAll(packets);
      if (packets.stream().anyMatch(p -> p.type() == PacketType.CLOSE)) {
        closeSeen = true;
      }
    }
    return received.poll();
  }

  /** The next packet the server sends, failing if none comes within {@code timeout}. */
  public EngineIoPacket nextPacket(Duration timeout) {
    EngineIoPacket p = nextPacketOrNull(timeout);
    if (p == null) {
      fail(sid + ": no packet within " + timeout.toMillis() + " ms");
    }
    return p;
  }

  /**
   * The data of the next message packet (a Socket.IO packet such as {@code 2["message",{...}]}),
   * or null when none comes within {@code timeout}. Keeps the session alive meanwhile: in v3 it
   * pings every ping interval, in v4 it answers the server's pings. Fails on a close packet.
   */
  public String nextMessageOrNull(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long now = System.nanoTime();
      if (version == 3 && now - lastPingNanos >= pingIntervalNanos / 2) {
        lastPingNanos = now;
        send("2");
      }
      long left = deadline - now;
      if (left <= 0) {
        return null;
      }
      EngineIoPacket p = nextPacketOrNull(Duration.ofNanos(Math.min(left, Math.max(1, pingIntervalNanos / 4))));
      if (p == null) {
        if (closeSeen) {
          fail(sid + ": the server closed the session");
        }
        continue;
      }
      switch (p.type()) {
        case MESSAGE -> {
          return p.data();
        }
        case PING -> send("3" + p.data());
        case CLOSE -> fail(sid + ": the server closed the session");
        default -> { } // pong, noop
      }
    }
  }

  /** The data of the next message packet, failing if none comes within {@code timeout}. */
  public String nextMessage(Duration timeout) {
    String m = nextMessageOrNull(timeout);
    if (m == null) {
      fail(sid + ": no message within " + timeout.toMillis() + " ms");
    }
    return m;
  }

  public String nextMessage() {
    return nextMessage(TestClient.WAIT);
  }

  /**
   * Keeps the session alive (see {@link #nextMessageOrNull}) until {@code stop} holds or
   * {@code max} has passed, and returns the messages received meanwhile.
   */
  public List<String> messagesUntil(BooleanSupplier stop, Duration max) {
    long deadline = System.nanoTime() + max.toNanos();
    List<String> messages = new ArrayList<>();
    while (!stop.getAsBoolean()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      String m = nextMessageOrNull(Duration.ofNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50))));
      if (m != null) {
        messages.add(m);
      }
    }
    return messages;
  }

  /** Sends a close packet unless the session is known to be over, and settles the poll in flight. */
  @Override
  public void close() {
    if (sid == null) {
      return;
    }
    if (!closeSeen) {
      try {
        // 400 when the server has already forgotten the session: fine
        post(codec.encodePayload(List.of(EngineIoPacket.text(PacketType.CLOSE))));
      } catch (RuntimeException | AssertionError e) {
        // the server is gone; nothing to close
      }
    }
    if (inflight != null) {
      try {
        inflight.get(TestClient.WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException | ExecutionException e) {
        inflight.cancel(true);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      inflight = null;
    }
    closeSeen = true;
  }

  @Override
  public String toString() {
    return "EIO" + version + " polling " + sid;
  }
}
