package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A WebSocket client written by hand over a plain TCP socket, for what a well-behaved client
 * library will not do: never answer pings (idle timeout) or stop reading (slow consumer).
 *
 * <p>It performs the RFC 6455 handshake, sends masked text frames, and parses the frames the
 * server sends into a queue. It never answers anything on its own. Handlers run on the client
 * Vert.x's event loop; blocking helpers are for the test thread and are bounded.
 */
public final class RawWebSocket implements AutoCloseable {
  /** WebSocket opcodes used here (RFC 6455 section 5.2). */
  public static final int TEXT = 0x1;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;

  /** One frame as the server sent it. */
  public record RawFrame(boolean fin, int opcode, Buffer payload) {
    public String text() {
      return payload.toString(StandardCharsets.UTF_8);
    }

    /** The status code of a close frame, or -1 when it carries none. */
    public int closeCode() {
      return payload.length() >= 2 ? payload.getUnsignedShort(0) : -1;
    }

    @Override
    public String toString() {
      return "frame(op=" + opcode + ", fin=" + fin + ", " + (opcode == TEXT || opcode == CLOSE
          ? text() : payload.length() + " bytes") + ")";
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  private final NetClient client;
  private final NetSocket socket;
  private final LinkedBlockingQueue<RawFrame> frames = new LinkedBlockingQueue<>();
  private final CompletableFuture<String> handshake = new CompletableFuture<>();
  private final CompletableFuture<Void> tcpClosed = new CompletableFuture<>();
  private final AtomicInteger pings = new AtomicInteger();
  /** Bytes received and not yet parsed. Touched only on the socket's event loop. */
  private Buffer pending = Buffer.buffer();
  /** Whether the HTTP response head has been consumed. Touched only on the socket's event loop. */
  private boolean upgraded;

  private RawWebSocket(NetClient client, NetSocket socket) {
    this.client = client;
    this.socket = socket;
  }

  /**
   * Connects to {@code 127.0.0.1:port}, sends the upgrade request for {@code /ws} and waits for a
   * 101 answer. {@code receiveBufferBytes} > 0 shrinks the socket's receive buffer so that a
   * paused reader makes the server's writes back up quickly.
   */
  public static RawWebSocket connect(Vertx vertx, int port, int receiveBufferBytes) {
    NetClientOptions options = new NetClientOptions().setConnectTimeout((int) TestClient.WAIT.toMillis());
    if (receiveBufferBytes > 0) {
      options.setReceiveBufferSize(receiveBufferBytes);
    }
    NetClient client = vertx.createNetClient(options);
    NetSocket socket;
    try {
      socket = Wait.await(client.connect(port, "127.0.0.1"), TestClient.WAIT);
    } catch (RuntimeException | AssertionError e) {
      client.close();
      throw e;
    }
    RawWebSocket raw = new RawWebSocket(client, socket);
    socket.handler(raw::onData);
    socket.closeHandler(v -> {
      raw.tcpClosed.complete(null);
      raw.handshake.completeExceptionally(new IllegalStateException("closed during handshake"));
    });
    byte[] nonce = new byte[16];
    RANDOM.nextBytes(nonce);
    String request = "GET /ws HTTP/1.1\r\n"
        + "Host: 127.0.0.1:" + port + "\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce) + "\r\n"
        + "Sec-WebSocket-Version: 13\r\n\r\n";
    Wait.await(socket.write(request), TestClient.WAIT);
    String status;
    try {
      status = raw.handshake.get(TestClient.WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      raw.close();
      return fail("raw WebSocket handshake failed: " + e);
    }
    if (!status.startsWith("HTTP/1.1 101")) {
      raw.close();
      fail("upgrade refused: " + status);
    }
    return raw;
  }

  private void onData(Buffer data) {
    pending.appendBuffer(data);
    if (!upgraded) {
      String head = pending.toString(StandardCharsets.ISO_8859_1);
      int end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        return;
      }
      upgraded = true;
      pending = pending.getBuffer(end + 4, pending.length());
      handshake.complete(head.substring(0, head.indexOf("\r\n")));
    }
    parseFrames();
  }

  private void parseFrames() {
    int pos = 0;
    while (true) {
      if (pending.length() - pos < 2) {
        break;
      }
      int b0 = pending.getUnsignedByte(pos);
      int b1 = pending.getUnsignedByte(pos + 1);
      boolean masked = (b1 & 0x80) != 0;
      long len = b1 & 0x7F;
      int header = 2;
      if (len == 126) {
        if (pending.length() - pos < 4) {
          break;
        }
        len = pending.getUnsignedShort(pos + 2);
        header = 4;
      } else if (len == 127) {
        if (pending.length() - pos < 10) {
          break;
        }
        len = pending.getLong(pos + 2);
        header = 10;
      }
      int maskLen = masked ? 4 : 0;
      if (pending.length() - pos < header + maskLen + len) {
        break;
      }
      int start = pos + header + maskLen;
      Buffer payload = pending.getBuffer(start, start + (int) len);
      if (masked) {
        byte[] bytes = payload.getBytes();
        for (int i = 0; i < bytes.length; i++) {
          bytes[i] ^= pending.getByte(pos + header + (i % 4));
        }
        payload = Buffer.buffer(bytes);
      }
      if ((b0 & 0x0F) == PING) {
        pings.incrementAndGet();
      }
      frames.add(new RawFrame((b0 & 0x80) != 0, b0 & 0x0F, payload));
      pos = start + (int) len;
    }
    if (pos > 0) {
      pending = pending.getBuffer(pos, pending.length());
    }
  }

  /** Sends {@code text} as one masked, final text frame. */
  public void sendText(String text) {
    Wait.await(socket.write(maskedFrame(TEXT, text.getBytes(StandardCharsets.UTF_8))), TestClient.WAIT);
  }

  private static Buffer maskedFrame(int opcode, byte[] payload) {
    Buffer frame = Buffer.buffer();
    frame.appendByte((byte) (0x80 | opcode));
    if (payload.length < 126) {
      frame.appendByte((byte) (0x80 | payload.length));
    } else if (payload.length < 65536) {
      frame.appendByte((byte) (0x80 | 126)).appendUnsignedShort(payload.length);
    } else {
      frame.appendByte((byte) (0x80 | 127)).appendLong(payload.length);
    }
    byte[] mask = new byte[4];
    RANDOM.nextBytes(mask);
    frame.appendBytes(mask);
    byte[] masked = payload.clone();
    for (int i = 0; i < masked.length; i++) {
      masked[i] ^= mask[i % 4];
    }
    return frame.appendBytes(masked);
  }

  /** The next text frame, skipping pings; fails if none arrives within {@code timeout}. */
  public String nextText(Duration timeout) {
    RawFrame f = nextMatching(timeout, TEXT);
    if (f == null) {
      fail("raw socket: no text frame within " + timeout.toMillis() + " ms");
    }
    return f.text();
  }

  /**
   * The status code of the next close frame, skipping text and ping frames; fails if none
   * arrives within {@code timeout}.
   */
  public int awaitCloseFrame(Duration timeout) {
    RawFrame f = nextMatching(timeout, CLOSE);
    if (f == null) {
      fail("raw socket: no close frame within " + timeout.toMillis() + " ms (tcp closed: " + tcpClosed.isDone() + ")");
    }
    return f.closeCode();
  }

  private RawFrame nextMatching(Duration timeout, int opcode) {
    Wait.requireTestThread();
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < 1_000_000; i++) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return null;
      }
      RawFrame f;
      try {
        f = frames.poll(left, TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      if (f == null) {
        return null;
      }
      if (f.opcode() == opcode) {
        return f;
      }
      if (opcode == TEXT && f.opcode() == CLOSE) {
        fail("raw socket: closed with " + f.closeCode() + " while waiting for a text frame");
      }
    }
    return null;
  }

  /** Stops reading from the socket: the kernel buffers fill and the server's writes back up. */
  public void pause() {
    socket.pause();
  }

  public void resume() {
    socket.resume();
  }

  /** How many ping frames the server has sent so far (none is ever answered). */
  public int pingsReceived() {
    return pings.get();
  }

  /** Whether the TCP connection has closed. */
  public boolean tcpClosed() {
    return tcpClosed.isDone();
  }

  @Override
  public void close() {
    if (!tcpClosed.isDone()) {
      socket.close();
      try {
        tcpClosed.get(TestClient.WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        // Reported by the fixture's zero-connections check if the server kept it.
      }
    }
    client.close();
  }
}
