package io.switchboard.support;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal RESP2 client for the Redis fixtures' own commands (PING, INFO, SENTINEL, CLUSTER,
 * MIGRATE), one loopback connection per command, so that it depends on nothing under test.
 * Replies come back as a {@code String} (simple strings, bulk strings and integers alike),
 * {@code null}, or a {@code List<Object>} of replies; errors as a {@code String} starting with
 * {@code "-"}, for callers to look at rather than fail on (a replica refusing a write, a node
 * not yet ready).
 */
final class Resp {
  private Resp() {}

  /** {@code args} on {@code port}, after {@code AUTH password} unless it is empty. */
  static Object call(int port, String password, String... args) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
      socket.setSoTimeout(2000);
      OutputStream out = socket.getOutputStream();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      if (!password.isEmpty()) {
        write(out, "AUTH", password);
        read(in);
      }
      write(out, args);
      return read(in);
    } catch (IOException e) {
      throw new AssertionError("port " + port + ": " + e, e);
    }
  }

  /** The same, or {@code null} when the port does not answer (a process starting or killed). */
  static Object tryCall(int port, String password, String... args) {
    try {
      return call(port, password, args);
    } catch (AssertionError e) {
      return null;
    }
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object reply) {
    if (!(reply instanceof List<?>)) {
      throw new AssertionError("expected an array, got " + reply);
    }
    return (List<Object>) reply;
  }

  private static void write(OutputStream out, String... args) throws IOException {
    StringBuilder request = new StringBuilder("*").append(args.length).append("\r\n");
    for (String arg : args) {
      request.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(arg).append("\r\n");
    }
    out.write(request.toString().getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static Object read(InputStream in) throws IOException {
    int type = in.read();
    String line = line(in);
    switch (type) {
      case '+', ':' -> {
        return line;
      }
      case '-' -> {
        return "-" + line;
      }
      case '$' -> {
        int length = Integer.parseInt(line);
        if (length < 0) {
          return null;
        }
        byte[] data = in.readNBytes(length + 2);
        return new String(data, 0, length, StandardCharsets.UTF_8);
      }
      case '*' -> {
        int count = Integer.parseInt(line);
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          items.add(read(in));
        }
        return count < 0 ? null : items;
      }
      default -> throw new IOException("unexpected RESP type " + type);
    }
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder out = new StringBuilder();
    int c;
    while ((c = in.read()) != '\r') {
      if (c < 0) {
        throw new IOException("connection closed");
      }
      out.append((char) c);
    }
    in.read();
    return out.toString();
  }
}
