package io.switchboard.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;

/**
 * A WebSocket client over a blocking {@link Socket}, for the test thread only, that writes any
 * bytes at all: unmasked or reserved-bit frames, bad opcodes, invalid UTF-8, fragments in any
 * order. It reads the server's frames as they are and reports a TCP close without a close frame
 * as {@link #NO_CLOSE_FRAME}. Every read is bounded by a deadline.
 */
public final class WireSocket implements AutoCloseable {
  public static final int CONTINUATION = 0x0;
  public static final int TEXT = 0x1;
  public static final int BINARY = 0x2;
  public static final int CLOSE = 0x8;
  public static final int PING = 0x9;
  public static final int PONG = 0xA;
  /** What {@link #awaitClose} reports when the TCP connection ended with no close frame (a client sees 1006). */
  public static final int NO_CLOSE_FRAME = 1006;

  /** One frame from the server. */
  public record Frame(boolean fin, int rsv, int opcode, byte[] payload) {
    public String text() {
      return new String(payload, StandardCharsets.UTF_8);
    }

    public int closeCode() {
      return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
    }

    @Override
    public String toString() {
      return "frame(op=" + opcode + ", fin=" + fin + ", " + (opcode == TEXT ? text() : payload.length + " bytes") + ")";
    }
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final Random random;
  private final String responseHead;
  private boolean eof;

  private WireSocket(Socket socket, String responseHead, Random random) throws IOException {
    this.socket = socket;
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
    this.responseHead = responseHead;
    this.random = random;
  }

  /** Opens {@code path} on 127.0.0.1:{@code port} with a well-formed handshake; fails unless 101. */
  public static WireSocket open(int port, String path, Random random) {
    byte[] key = new byte[16];
    random.nextBytes(key);
    String request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\n"
        + "Connection: Upgrade\r\nSec-WebSocket-Key: " + Base64.getEncoder().encodeToString(key) + "\r\n"
        + "Sec-WebSocket-Version: 13\r\n\r\n";
    WireSocket ws = connect(port, request, random);
    if (!ws.responseHead.startsWith("HTTP/1.1 101")) {
      ws.close();
      throw new AssertionError("upgrade of " + path + " refused: " + ws.responseHead);
    }
    return ws;
  }

  /** Sends {@code request} as it is and reads the response head (status line and headers). */
  public static WireSocket connect(int port, String request, Random random) {
    Socket socket = new Socket();
    try {
      socket.connect(new InetSocketAddress("127.0.0.1", port), (int) TestClient.WAIT.toMillis());
      socket.setSoTimeout((int) TestClient.WAIT.toMillis());
      socket.setTcpNoDelay(true);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      return new WireSocket(socket, readHead(socket.getInputStream()), random);
    } catch (IOException e) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // the failure below says what went wrong
      }
      throw new UncheckedIOException("connect to " + port, e);
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    for (int i = 0; i < 65536; i++) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.write(b);
      byte[] h = head.toByteArray();
      int n = h.length;
      if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
        break;
      }
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  /** The status line and headers the server answered the handshake with ("" when it answered nothing). */
  public String responseHead() {
    return responseHead;
  }

  /** The status code of {@link #responseHead()}, or -1 when there was none. */
  public int status() {
    return responseHead.length() >= 12 ? Integer.parseInt(responseHead.substring(9, 12)) : -1;
  }

  /** A frame as RFC 6455 section 5.2 lays it out; {@code mask} false leaves it unmasked (a protocol error). */
  public static byte[] frame(boolean fin, int rsv, int opcode, byte[] payload, boolean mask, Random random) {
    ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 14);
    f.write((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0x0f));
    int maskBit = mask ? 0x80 : 0;
    if (payload.length < 126) {
      f.write(maskBit | payload.length);
    } else if (payload.length < 65536) {
      f.write(maskBit | 126);
      f.write(payload.length >>> 8);
      f.write(payload.length);
    } else {
      f.write(maskBit | 127);
      for (int shift = 56; shift >= 0; shift -= 8) {
        f.write((int) ((long) payload.length >>> shift));
      }
    }
    byte[] body = payload.clone();
    if (mask) {
      byte[] key = new byte[4];
      random.nextBytes(key);
      f.writeBytes(key);
      for (int i = 0; i < body.length; i++) {
        body[i] ^= key[i & 3];
      }
    }
    f.writeBytes(body);
    return f.toByteArray();
  }

  public void send(boolean fin, int rsv, int opcode, byte[] payload, boolean mask) {
    sendRaw(frame(fin, rsv, opcode, payload, mask, random));
  }

  /** One masked, final frame. */
  public void send(int opcode, byte[] payload) {
    send(true, 0, opcode, payload, true);
  }

  public void sendText(String text) {
    send(TEXT, text.getBytes(StandardCharsets.UTF_8));
  }

  /** A close frame with {@code code} (none when negative) and {@code reason}. */
  public void sendClose(int code, byte[] reason) {
    ByteArrayOutputStream p = new ByteArrayOutputStream();
    if (code >= 0) {
      p.write(code >>> 8);
      p.write(code);
    }
    p.writeBytes(reason);
    send(CLOSE, p.toByteArray());
  }

  /** Writes {@code bytes} as they are; a server that already closed the connection is not an error here. */
  public void sendRaw(byte[] bytes) {
    try {
      out.write(bytes);
      out.flush();
    } catch (SocketException e) {
      eof = true; // reset by the server: what matters is what it sent before, which awaitClose reads
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next frame, or null when the TCP connection ended or nothing arrived within {@code timeout}. */
  public Frame next(Duration timeout) {
    if (eof) {
      return null;
    }
    try {
      socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
      int b0 = in.read();
      if (b0 < 0) {
        eof = true;
        return null;
      }
      int b1 = readByte();
      long len = b1 & 0x7f;
      if (len == 126) {
        len = (readByte() << 8) | readByte();
      } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) {
          len = (len << 8) | readByte();
        }
      }
      if (len > 64 * 1024 * 1024) {
        throw new AssertionError("frame of " + len + " bytes");
      }
      byte[] mask = null;
      if ((b1 & 0x80) != 0) {
        mask = in.readNBytes(4);
      }
      byte[] payload = in.readNBytes((int) len);
      if (payload.length < len) {
        eof = true;
        return null;
      }
      if (mask != null) {
        for (int i = 0; i < payload.length; i++) {
          payload[i] ^= mask[i & 3];
        }
      }
      return new Frame((b0 & 0x80) != 0, (b0 >> 4) & 7, b0 & 0x0f, payload);
    } catch (SocketTimeoutException e) {
      return null;
    } catch (SocketException e) {
      eof = true;
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private int readByte() throws IOException {
    int b = in.read();
    if (b < 0) {
      throw new SocketException("eof inside a frame");
    }
    return b;
  }

  /** The next text frame, skipping pings and pongs; fails on anything else or nothing within {@code timeout}. */
  public String nextText(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < 10_000; i++) {
      Frame f = next(Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime())));
      if (f == null) {
        throw new AssertionError("no text frame within " + timeout.toMillis() + " ms (eof " + eof + ")");
      }
      if (f.opcode() == TEXT) {
        return f.text();
      }
      if (f.opcode() != PING && f.opcode() != PONG) {
        throw new AssertionError("expected a text frame, got " + f + (f.opcode() == CLOSE ? " code " + f.closeCode() : ""));
      }
    }
    throw new AssertionError("no text frame among 10,000");
  }

  /**
   * Reads until the server's close frame and returns its code, or {@link #NO_CLOSE_FRAME} if the
   * TCP connection ends first; the frames skipped on the way are added to {@code skipped} when it
   * is not null. Fails if neither happens within {@code timeout}. A close frame is answered as a
   * browser does: a close frame back, then the end of this side's output (RFC 6455 section 7.1.1
   * lets a client close once it has sent and received a close), so the server need not wait out
   * its grace for a client whose answer it no longer reads.
   */
  public int awaitClose(Duration timeout, List<Frame> skipped) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < 100_000; i++) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      Frame f = next(Duration.ofNanos(left));
      if (f == null) {
        if (eof) {
          return NO_CLOSE_FRAME;
        }
        break;
      }
      if (f.opcode() == CLOSE) {
        send(CLOSE, f.payload().length >= 2 ? java.util.Arrays.copyOf(f.payload(), 2) : new byte[0]);
        try {
          socket.shutdownOutput();
        } catch (IOException e) {
          eof = true; // already reset: nothing more to read either
        }
        return f.closeCode();
      }
      if (skipped != null) {
        skipped.add(f);
      }
    }
    throw new AssertionError("neither a close frame nor a TCP close within " + timeout.toMillis() + " ms");
  }

  public int awaitClose(Duration timeout) {
    return awaitClose(timeout, null);
  }

  /** Frames up to the server's close (excluded), and its code last: for cases that expect some echo first. */
  public List<Frame> framesUntilClose(Duration timeout) {
    List<Frame> frames = new ArrayList<>();
    int code = awaitClose(timeout, frames);
    frames.add(new Frame(true, 0, CLOSE, new byte[] {(byte) (code >>> 8), (byte) code}));
    return frames;
  }

  /** Whether the TCP connection ends (after any frames) within {@code timeout}. */
  public boolean tcpClosedWithin(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < 100_000 && !eof; i++) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      next(Duration.ofNanos(left));
    }
    return eof;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing is best effort; the fixture checks the server let go
    }
  }
}
