package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real WebSocket client that records what the server sends: every text message (parsed as a
 * JSON object, with its raw text kept), binary messages, pong frames and the close status code.
 *
 * <p>Lifecycle: made by {@link #connect} (which consumes the {@code welcome} frame) or
 * {@link #open} (which consumes nothing); {@link #close()} closes the socket and waits, bounded,
 * for the close to finish. Handlers run on the client's event loop and only enqueue; every
 * blocking helper must be called from the test thread and is bounded by its {@link Duration}.
 */
public final class TestClient implements AutoCloseable {
  /** The default bound for anything the server should do promptly. */
  public static final Duration WAIT = Duration.ofSeconds(5);
  /** How long {@link #expectNothing()} listens: the only kind of wait the suite allows. */
  public static final Duration QUIET = Duration.ofMillis(200);

  /** One message received: {@code text} is the raw frame text; {@code json} is null when it was not a JSON object. */
  public record Frame(boolean binary, String text, JsonObject json) {
    @Override
    public String toString() {
      return binary ? "<binary " + text + ">" : text;
    }
  }

  private final String name;
  private final ClientWebSocket socket;
  private final LinkedBlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
  private final LinkedBlockingQueue<Buffer> pongs = new LinkedBlockingQueue<>();
  private final CompletableFuture<Short> closed = new CompletableFuture<>();
  private volatile String peerId;
  private volatile String closeReason;

  private TestClient(String name, ClientWebSocket socket) {
    this.name = name;
    this.socket = socket;
  }

  /** Opens {@code /ws}, without an Origin header unless {@code origin} is given, and consumes the welcome. */
  public static TestClient connect(WebSocketClient client, int port, String origin, String name) {
    TestClient c = open(client, options(port, "/ws", origin), name);
    JsonObject welcome = c.next();
    assertEquals("welcome", welcome.getString("type"), name + ": first frame must be welcome: " + welcome);
    String peer = welcome.getString("peer");
    assertNotNull(peer, name + ": welcome without peer: " + welcome);
    c.peerId = peer;
    return c;
  }

  /** Connect options for 127.0.0.1; a null {@code origin} means no Origin header is sent at all. */
  public static WebSocketConnectOptions options(int port, String path, String origin) {
    WebSocketConnectOptions o = new WebSocketConnectOptions()
        .setHost("127.0.0.1")
        .setPort(port)
        .setURI(path)
        .setTimeout(WAIT.toMillis());
    if (origin == null) {
      o.setAllowOriginHeader(false);
    } else {
      o.setAllowOriginHeader(true).addHeader("Origin", origin);
    }
    return o;
  }

  /**
   * Opens a socket with the handlers installed before the handshake, so no frame can be missed.
   * A refused upgrade throws the client's exception ({@code UpgradeRejectedException} for an
   * HTTP status).
   */
  public static TestClient open(WebSocketClient client, WebSocketConnectOptions options, String name) {
    ClientWebSocket ws = client.webSocket();
    TestClient c = new TestClient(name, ws);
    ws.textMessageHandler(text -> c.frames.add(new Frame(false, text, parse(text))));
    ws.binaryMessageHandler(data -> c.frames.add(new Frame(true, data.length() + " bytes", null)));
    ws.pongHandler(c.pongs::add);
    ws.closeHandler(v -> {
      c.closeReason = ws.closeReason();
      c.closed.complete(ws.closeStatusCode());
    });
    ws.exceptionHandler(t -> { });
    Wait.await(ws.connect(options), WAIT.plusSeconds(1));
    return c;
  }

  private static JsonObject parse(String text) {
    try {
      return new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      return null;
    }
  }

  /** The subprotocol the server selected in its handshake answer; null when none. */
  public String subProtocol() {
    return socket.subProtocol();
  }

  /**
   * Consumes the {@code welcome} frame of a socket made by {@link #open} and returns it, taking its
   * peer id as this client's.
   */
  public JsonObject welcome() {
    JsonObject welcome = next();
    assertEquals("welcome", welcome.getString("type"), name + ": first frame must be welcome: " + welcome);
    peerId = welcome.getString("peer");
    assertNotNull(peerId, name + ": welcome without peer: " + welcome);
    return welcome;
  }

  /** The peer id from the welcome frame; null when opened with {@link #open}. */
  public String peerId() {
    return peerId;
  }

  public String name() {
    return name;
  }

  /** Sends {@code rawJson} as one text message and waits (bounded) until it is written. */
  public void send(String rawJson) {
    Wait.await(socket.writeTextMessage(rawJson), WAIT);
  }

  public void sendJson(JsonObject message) {
    send(message.encode());
  }

  /** Queues a text message without waiting; for floods. Failures (e.g. after a close) are ignored. */
  public Future<Void> sendNoWait(String rawJson) {
    return socket.writeTextMessage(rawJson);
  }

  /** Sends exactly one frame of any kind and waits until it is written. */
  public void sendFrame(WebSocketFrame frame) {
    Wait.await(socket.writeFrame(frame), WAIT);
  }

  public void sendBinary(Buffer data) {
    Wait.await(socket.writeBinaryMessage(data), WAIT);
  }

  /** Sends a WebSocket ping frame. */
  public void ping(Buffer payload) {
    Wait.await(socket.writePing(payload), WAIT);
  }

  /** The payload of the next pong frame, failing if none arrives within {@code timeout}. */
  public Buffer nextPong(Duration timeout) {
    Buffer b = poll(pongs, timeout);
    if (b == null) {
      fail(name + ": no pong frame within " + timeout.toMillis() + " ms");
    }
    return b;
  }

  /** The next message, whatever it is, failing if nothing arrives within {@code timeout}. */
  public Frame nextFrame(Duration timeout) {
    Frame f = poll(frames, timeout);
    if (f == null) {
      fail(name + ": nothing received within " + timeout.toMillis() + " ms");
    }
    return f;
  }

  /** The next message as a JSON object (strict: fails on anything else, or on silence). */
  public JsonObject next(Duration timeout) {
    Frame f = nextFrame(timeout);
    if (f.json() == null) {
      fail(name + ": expected a JSON object, got " + f);
    }
    return f.json();
  }

  public JsonObject next() {
    return next(WAIT);
  }

  /** The next message, which must have {@code type}. */
  public JsonObject next(String type) {
    JsonObject m = next();
    assertEquals(type, m.getString("type"), name + ": unexpected frame " + m);
    return m;
  }

  /** Skips messages of other types until one of {@code type} arrives, all within {@code timeout}. */
  public JsonObject nextOfType(String type, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < 100_000; i++) {
      long left = deadline - System.nanoTime();
      Frame f = poll(frames, Duration.ofNanos(Math.max(0, left)));
      if (f == null) {
        break;
      }
      if (f.json() != null && type.equals(f.json().getString("type"))) {
        return f.json();
      }
    }
    return fail(name + ": no " + type + " within " + timeout.toMillis() + " ms");
  }

  /** The next message within {@code timeout}, or null when none came. */
  public Frame nextFrameOrNull(Duration timeout) {
    return poll(frames, timeout);
  }

  /** The next message if one is already queued, else null; never waits. */
  public Frame pollNow() {
    return frames.poll();
  }

  /** Asserts that no message arrives within {@link #QUIET}. */
  public void expectNothing() {
    expectNothing(QUIET);
  }

  /** Asserts that no message arrives within {@code quiet}. */
  public void expectNothing(Duration quiet) {
    Frame f = poll(frames, quiet);
    if (f != null) {
      fail(name + ": expected nothing, got " + f);
    }
  }

  /** Sends an application ping with {@code id} and asserts the very next message is its pong. */
  public void assertAlive(String id) {
    send(new JsonObject().put("type", "ping").put("id", id).encode());
    JsonObject pong = next();
    assertEquals("pong", pong.getString("type"), name + ": expected pong, got " + pong);
    assertEquals(id, pong.getValue("id"), name + ": pong must echo the id: " + pong);
  }

  /** Joins {@code room} (with {@code meta} unless null) and returns the {@code joined} reply. */
  public JsonObject join(String room, JsonObject meta) {
    JsonObject join = new JsonObject().put("type", "join").put("room", room);
    if (meta != null) {
      join.put("meta", meta);
    }
    sendJson(join);
    JsonObject joined = next();
    assertEquals("joined", joined.getString("type"), name + ": expected joined, got " + joined);
    assertEquals(room, joined.getString("room"));
    return joined;
  }

  public JsonObject join(String room) {
    return join(room, null);
  }

  /**
   * The close status code the socket ended with, waiting (bounded) for the close: the server's
   * code, 1006 when the connection dropped without a close frame, or null if Vert.x gave none.
   */
  public Integer awaitClose(Duration timeout) {
    Wait.requireTestThread();
    try {
      Short code = closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return code == null ? null : code.intValue();
    } catch (TimeoutException e) {
      return fail(name + ": socket not closed within " + timeout.toMillis() + " ms");
    } catch (ExecutionException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The reason text of the close frame, once {@link #awaitClose} has returned; null if none was given. */
  public String closeReason() {
    return closeReason;
  }

  public boolean isClosed() {
    return closed.isDone() || socket.isClosed();
  }

  /** Asserts the socket is still open. */
  public void assertOpen() {
    assertTrue(!isClosed(), name + ": socket closed unexpectedly with " + closed.getNow(null));
  }

  /** Closes the socket (if still open) and waits, bounded, until the close completes. */
  @Override
  public void close() {
    if (!isClosed()) {
      socket.close();
    }
    try {
      closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException | ExecutionException e) {
      // The fixture's zero-connections check reports a socket that really stayed open.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return name + "(" + peerId + ")";
  }

  private static <T> T poll(LinkedBlockingQueue<T> queue, Duration timeout) {
    Wait.requireTestThread();
    try {
      return queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
