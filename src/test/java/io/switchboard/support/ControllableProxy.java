package io.switchboard.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

/**
 * A loopback TCP proxy in front of a real server, which a test steers to make network races
 * repeatable: it can stop either direction (bytes already read are kept and sent in order once
 * it resumes), hold new connections (accepted, read, but not connected onward) until released,
 * and cut every connection.
 *
 * <p>Every wait is bounded: a direction stopped or a connection held longer than {@link #MAX_STALL}
 * is cut, so a test that forgets to resume fails instead of hanging; it accepts at most
 * {@link #MAX_LINKS} connections. Threads are daemons, one reader and one writer per direction of
 * each connection.
 */
public final class ControllableProxy implements AutoCloseable {
  /** Which way bytes flow. */
  public enum Direction {
    /** From the client (the code under test) to the server. */
    TO_SERVER,
    /** From the server to the client. */
    TO_CLIENT
  }

  private static final Duration MAX_STALL = Duration.ofSeconds(30);
  // More connections than any test makes: past it the proxy stops accepting.
  private static final int MAX_LINKS = 1000;
  private static final Object EOF = new Object();

  private final ServerSocket server;
  private final InetSocketAddress target;
  // Guards every field below and each link's queues; waiters are woken on every change.
  private final Object lock = new Object();
  private final List<Link> links = new CopyOnWriteArrayList<>();
  private boolean toServerStopped;
  private boolean toClientStopped;
  private int holdNext;
  private boolean closed;

  private ControllableProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::acceptLoop, "proxy-accept-" + server.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** A proxy on a free loopback port, forwarding to {@code host:port}. */
  public static ControllableProxy to(String host, int port) {
    try {
      return new ControllableProxy(new InetSocketAddress(host, port));
    } catch (IOException e) {
      throw new AssertionError("cannot open the proxy's port", e);
    }
  }

  /** A proxy in front of the Redis at {@code redisUri}. */
  public static ControllableProxy toRedis(String redisUri) {
    java.net.URI uri = java.net.URI.create(redisUri);
    return to(uri.getHost(), uri.getPort());
  }

  /** {@code redisUri} with its host and port replaced by this proxy's (credentials kept). */
  public String redisUri(String redisUri) {
    java.net.URI uri = java.net.URI.create(redisUri);
    String userInfo = uri.getRawUserInfo() == null ? "" : uri.getRawUserInfo() + "@";
    return uri.getScheme() + "://" + userInfo + "127.0.0.1:" + port() + (uri.getRawPath() == null ? "" : uri.getRawPath());
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Stops forwarding in {@code direction}, on every connection, now and for new ones. */
  public void stop(Direction direction) {
    setStopped(direction, true);
  }

  /** Forwards again in {@code direction}, first what was kept while stopped. */
  public void resume(Direction direction) {
    setStopped(direction, false);
  }

  private void setStopped(Direction direction, boolean stopped) {
    synchronized (lock) {
      if (direction == Direction.TO_SERVER) {
        toServerStopped = stopped;
      } else {
        toClientStopped = stopped;
      }
      lock.notifyAll();
    }
  }

  /** The next {@code count} connections are accepted and read but held until {@link #release}. */
  public void holdNext(int count) {
    synchronized (lock) {
      holdNext = count;
    }
  }

  /** Connects every held connection onward and forwards what it sent meanwhile. */
  public void release() {
    synchronized (lock) {
      for (Link link : links) {
        link.held = false;
      }
      lock.notifyAll();
    }
  }

  /** Cuts every connection open now, both sides (new ones are accepted as usual). */
  public void cutAll() {
    for (Link link : links) {
      link.close();
    }
  }

  /**
   * The bytes read and not yet forwarded in {@code direction}, over every connection, as
   * ISO-8859-1 text: what a stopped direction is holding.
   */
  public String held(Direction direction) {
    StringBuilder out = new StringBuilder();
    synchronized (lock) {
      for (Link link : links) {
        for (Object chunk : direction == Direction.TO_SERVER ? link.toServer : link.toClient) {
          if (chunk instanceof byte[] bytes) {
            out.append(new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1));
          }
        }
      }
    }
    return out.toString();
  }

  /** Every connection accepted so far, in order of arrival. */
  public List<Link> links() {
    return List.copyOf(links);
  }

  /** Waits until {@code condition} holds, re-checked on every change of any connection. */
  public void await(BooleanSupplier condition, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (!condition.getAsBoolean()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("proxy: not within " + timeout.toMillis() + " ms: " + what);
        }
        try {
          lock.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError(e);
        }
      }
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      lock.notifyAll();
    }
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    cutAll();
  }

  private void acceptLoop() {
    while (links.size() < MAX_LINKS) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // the server socket was closed
      }
      Link link;
      synchronized (lock) {
        if (closed) {
          closeQuietly(client);
          return;
        }
        link = new Link(links.size(), client, holdNext > 0);
        if (holdNext > 0) {
          holdNext--;
        }
        links.add(link);
        lock.notifyAll();
      }
      link.start();
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing to do
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /** One proxied connection. */
  public final class Link {
    private final int index;
    private final Socket client;
    private final ArrayDeque<Object> toServer = new ArrayDeque<>();
    private final ArrayDeque<Object> toClient = new ArrayDeque<>();
    private Socket upstream;
    private boolean held;
    private boolean wasHeld;
    private boolean clientClosed;
    private boolean cut;

    private Link(int index, Socket client, boolean held) {
      this.index = index;
      this.client = client;
      this.held = held;
      this.wasHeld = held;
    }

    /** Position in arrival order, from 0. */
    public int index() {
      return index;
    }

    /** True if this connection was held on arrival. */
    public boolean wasHeld() {
      synchronized (lock) {
        return wasHeld;
      }
    }

    /** True once the client closed its side (end of stream or reset), not the proxy. */
    public boolean closedByClient() {
      synchronized (lock) {
        return clientClosed;
      }
    }

    private void start() {
      daemon("proxy-" + index + "-read-client", () -> read(client, toServer, true));
      daemon("proxy-" + index + "-write-server", this::writeToServer);
    }

    private void read(Socket from, ArrayDeque<Object> queue, boolean fromClient) {
      byte[] buffer = new byte[16 * 1024];
      try {
        InputStream in = from.getInputStream();
        while (true) {
          int n = in.read(buffer);
          if (n < 0) {
            break;
          }
          synchronized (lock) {
            queue.add(Arrays.copyOf(buffer, n));
            lock.notifyAll();
          }
        }
      } catch (IOException e) {
        // reset or cut: the same as an end of stream here
      }
      synchronized (lock) {
        if (fromClient && !cut) {
          clientClosed = true;
        }
        queue.add(EOF);
        lock.notifyAll();
      }
    }

    private void writeToServer() {
      try {
        if (!awaitRelease()) {
          close();
          return;
        }
        Socket socket = new Socket();
        socket.connect(target, 5000);
        synchronized (lock) {
          upstream = socket;
          if (cut) {
            closeQuietly(socket);
            return;
          }
        }
        daemon("proxy-" + index + "-read-server", () -> read(socket, toClient, false));
        daemon("proxy-" + index + "-write-client", () -> pump(toClient, client, Direction.TO_CLIENT));
        pump(toServer, socket, Direction.TO_SERVER);
      } catch (IOException e) {
        close();
      }
    }

    private boolean awaitRelease() {
      long deadline = System.nanoTime() + MAX_STALL.toNanos();
      synchronized (lock) {
        while (held && !cut && !closed) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          waitQuietly(left);
        }
        return !cut && !closed;
      }
    }

    // Writes the queue's chunks in order while the direction is not stopped; ends the output at EOF.
    private void pump(ArrayDeque<Object> queue, Socket to, Direction direction) {
      try {
        OutputStream out = to.getOutputStream();
        while (true) {
          Object chunk;
          long deadline = System.nanoTime() + MAX_STALL.toNanos();
          synchronized (lock) {
            while (!cut && !closed && (queue.isEmpty() || stopped(direction))) {
              long left = deadline - System.nanoTime();
              if (left <= 0) {
                break;
              }
              waitQuietly(left);
            }
            if (cut || closed || queue.isEmpty() || stopped(direction)) {
              break; // cut, or stalled past the bound
            }
            chunk = queue.poll();
          }
          if (chunk == EOF) {
            to.shutdownOutput();
            return;
          }
          out.write((byte[]) chunk);
          out.flush();
        }
      } catch (IOException e) {
        // the other side is gone
      }
      close();
    }

    private boolean stopped(Direction direction) {
      return direction == Direction.TO_SERVER ? toServerStopped : toClientStopped;
    }

    private void waitQuietly(long nanos) {
      try {
        lock.wait(Math.max(1, nanos / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        cut = true;
      }
    }

    private void close() {
      Socket up;
      synchronized (lock) {
        cut = true;
        up = upstream;
        lock.notifyAll();
      }
      closeQuietly(client);
      if (up != null) {
        closeQuietly(up);
      }
    }

    @Override
    public String toString() {
      synchronized (lock) {
        return "link " + index + (wasHeld ? " (held)" : "") + (clientClosed ? " closed by client" : "")
            + (cut ? " cut" : "");
      }
    }
  }

  @Override
  public String toString() {
    List<String> all = new ArrayList<>();
    for (Link link : links) {
      all.add(link.toString());
    }
    return "proxy :" + port() + " " + all;
  }
}
