package io.switchboard.edge;

import io.switchboard.config.SwitchboardConfig;
import io.switchboard.edge.dialect.Dialect;
import io.switchboard.edge.dialect.Link;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.security.Ticket;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RequestTag;
import io.switchboard.signaling.Hub;
import io.switchboard.signaling.Outbound;
import io.switchboard.signaling.Session;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Relayed;
import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.http.WebSocketFrameType;
import io.vertx.core.http.impl.WebSocketImplBase;
import io.vertx.core.http.impl.ws.WebSocketFrameImpl;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * One WebSocket client: reassembles frames into messages, enforces the size and rate limits,
 * hands each message to its {@link Dialect}, and writes the hub's events back as frames.
 *
 * <p>A connection starts before its upgrade is accepted: the hub knows its session and the
 * dialect has opened (a relay socket has sent its join) while the handshake waits for
 * {@link #opening()}. What is written meanwhile is kept and goes out first once the socket is
 * {@link #attach attached}.
 *
 * <p>Every field is owned by the socket's event loop ({@link #context}); other threads reach
 * this object only through {@link Outbound}, whose methods hop onto that loop.
 */
final class Connection implements Outbound, Link, OverloadShedder.Sender {
  private static final Buffer PING_PAYLOAD = Buffer.buffer("sb");
  /** How long a client gets to answer our close frame before its TCP connection is dropped. */
  static final long CLOSE_GRACE_MILLIS = 2000;

  private final Context context;
  private final LoopWatch loop;
  private final Hub hub;
  private final Dialect dialect;
  private final SignalingMetrics metrics;
  private final int maxMessageBytes;
  private final int writeQueueMaxBytes;
  private final Session session;
  // Epoch millis at which the token has expired, grace included; Long.MAX_VALUE for never.
  private final long closeAtMillis;

  private final Thread eventLoopThread;
  // Events queued for this socket and not yet written; any thread.
  private final AtomicInteger queued = new AtomicInteger();

  private long lastHeardNanos;
  private long lastPingNanos;
  // A message arriving in several frames; null while none is in progress.
  private Buffer partial;
  private boolean partialBinary;
  private boolean partialTooLarge;
  private int partialBytes;
  // Messages since the last sweep, and in the sweep before (OverloadShedder.Sender).
  private int received;
  private int receivedBefore;
  private boolean closed;
  private boolean tcpClosed;
  // Null until the upgrade is accepted; frames written before that wait in 'beforeOpen'.
  private ServerWebSocket ws;
  private List<Frame> beforeOpen = new ArrayList<>(2);
  private int beforeOpenBytes;
  private CloseReason closedBeforeOpen;

  /** Opens the session and the dialect on the current event loop; the socket comes later. */
  Connection(Context context, Hub hub, Function<Link, Dialect> dialect, SignalingMetrics metrics,
      SwitchboardConfig config, Ticket ticket, boolean wantsResume, LoopWatch loop) {
    this.context = context;
    this.loop = loop;
    this.hub = hub;
    this.metrics = metrics;
    this.maxMessageBytes = config.maxMessageBytes();
    this.writeQueueMaxBytes = config.writeQueueMaxBytes();
    this.eventLoopThread = Thread.currentThread();
    this.lastHeardNanos = System.nanoTime();
    this.closeAtMillis = ticket.closeAtMillis();
    this.session = hub.open(this, lastHeardNanos, ticket.identity(), wantsResume);
    // The welcome the hub just sent waits on the event loop, so it is encoded after this.
    this.dialect = dialect.apply(this);
    this.dialect.opened();
  }

  /**
   * Completes once what the dialect did on opening has taken effect: for a relay socket, once
   * it is in its room on every node. Completes, failed or not, before the upgrade is accepted.
   */
  Future<Void> opening() {
    return session.settled();
  }

  /** The upgrade was accepted: frames flow from now on, after those written before. */
  void attach(ServerWebSocket socket) {
    ws = socket;
    ws.setWriteQueueMaxSize(writeQueueMaxBytes);
    ws.frameHandler(this::onFrame);
    List<Frame> early = beforeOpen;
    beforeOpen = null;
    // Even when the connection closed meanwhile (a refused relay join): the client hears why.
    for (Frame frame : early) {
      writeToSocket(frame.bytes, frame.binary);
    }
    if (closedBeforeOpen != null) {
      closeFrame(closedBeforeOpen.code(), closedBeforeOpen.text());
      scheduleDrop();
    }
  }

  /** The upgrade failed (the client went away while it waited): nothing was ever open. */
  void abandon() {
    if (!closed) {
      dialect.closing();
      closed = true;
    }
    beforeOpen = null;
    hub.close(session);
  }

  @Override
  public Session session() {
    return session;
  }

  // ---- inbound ----

  private void onFrame(WebSocketFrame frame) {
    lastHeardNanos = System.nanoTime();
    WebSocketFrameType type = frame.type();
    switch (type) {
      case TEXT, BINARY -> {
        partial = null;
        partialBinary = type == WebSocketFrameType.BINARY;
        partialTooLarge = false;
        partialBytes = 0;
        if (frame.isFinal()) {
          Buffer data = frame.binaryData();
          onMessage(data.length() > maxMessageBytes ? null : data, data.length(), partialBinary);
        } else {
          append(frame.binaryData());
        }
      }
      case CONTINUATION -> {
        append(frame.binaryData());
        if (frame.isFinal()) {
          Buffer whole = partial;
          partial = null;
          onMessage(partialTooLarge ? null : whole, partialBytes, partialBinary);
        }
      }
      default -> { } // ping is answered by Vert.x; pong and close only count as signs of life
    }
  }

  private void append(Buffer piece) {
    partialBytes += piece.length();
    if (partialTooLarge) {
      return;
    }
    if (partial == null) {
      partial = Buffer.buffer(Math.min(maxMessageBytes, Math.max(256, piece.length() * 2)));
    }
    if (partial.length() + piece.length() > maxMessageBytes) {
      partialTooLarge = true;
      partial = null;
    } else {
      partial.appendBuffer(piece);
    }
  }

  /** One whole message; {@code data} is null when it was too large to keep. */
  private void onMessage(Buffer data, int length, boolean binary) {
    if (closed) {
      return;
    }
    if (loop.behind(lastHeardNanos)) {
      loop.observe(lastHeardNanos);
      if (closed) {
        return; // shed: what it sent is dropped
      }
    }
    received++;
    metrics.bytesIn(length);
    switch (session.admit(lastHeardNanos)) {
      case REJECT -> {
        reject(ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED.defaultMessage(), null);
        return;
      }
      case CLOSE -> {
        closeNow(CloseReason.FLOODING);
        return;
      }
      case ACCEPT -> { }
    }
    if (data == null) {
      reject(ErrorCode.TOO_LARGE, "message larger than " + maxMessageBytes + " bytes", null);
    } else {
      dialect.receive(data.getBytes(), binary);
    }
  }

  @Override
  public void handle(Command command) {
    hub.handle(session, command);
  }

  @Override
  public void reject(ErrorCode code, String message, RequestTag tag) {
    hub.reject(session, code, message, tag);
  }

  /**
   * Called by the verticle's sweep: pings a quiet socket and starts a new window of {@link
   * #recentMessages}. Returns why the socket must close (silent too long, or its token expired),
   * or null: the sweep closes it once it has visited every socket, since a close may change the
   * set it is walking. Own loop only.
   */
  CloseReason checkAlive(long nowNanos, long pingAfterNanos, long idleAfterNanos) {
    receivedBefore = received;
    received = 0;
    long quiet = nowNanos - lastHeardNanos;
    if (quiet >= idleAfterNanos) {
      return CloseReason.IDLE_TIMEOUT;
    }
    if (closeAtMillis != Long.MAX_VALUE && System.currentTimeMillis() >= closeAtMillis) {
      return CloseReason.TOKEN_EXPIRED;
    }
    if (quiet >= pingAfterNanos && nowNanos - lastPingNanos >= pingAfterNanos && !closed && ws != null) {
      lastPingNanos = nowNanos;
      ws.writePing(PING_PAYLOAD);
    }
    return null;
  }

  @Override
  public int recentMessages() {
    return received + receivedBefore;
  }

  @Override
  public boolean open() {
    return !closed;
  }

  /**
   * Closes this socket to relieve its overloaded event loop ({@link OverloadShedder}). Nothing
   * more is read from it: what it sent and the loop has not read yet would only delay the others.
   * Own loop only.
   */
  void shed() {
    if (closed) {
      return;
    }
    if (ws != null) {
      transport().channel().config().setAutoRead(false);
    }
    closeNow(CloseReason.OVERLOADED);
  }

  /** The socket closed, whoever closed it. Own loop only. */
  void onClosed() {
    if (!closed) {
      dialect.closing();
    }
    closed = true;
    tcpClosed = true;
    partial = null;
    // Only the client's own close frame with 1000 or 1001 says it is done; anything else (no
    // close frame at all: a lost network, a killed process) may be followed by a resume.
    Short code = ws == null ? null : ws.closeStatusCode();
    hub.close(session, code == null || code != 1000 && code != 1001);
  }

  // ---- outbound ----

  @Override
  public void send(Event event) {
    // The relay hot path: from a sender on this socket's own event loop, write at once, unless
    // something is already queued for this socket, which must go out first. Membership events
    // always queue: the hub sends them inside a room update, where a write that fails could
    // re-enter that update.
    if (event instanceof Relayed && Thread.currentThread() == eventLoopThread && queued.get() == 0) {
      write(event);
      return;
    }
    queued.incrementAndGet();
    context.runOnContext(v -> {
      queued.decrementAndGet();
      write(event);
    });
  }

  @Override
  public void close(CloseReason reason) {
    context.runOnContext(v -> closeNow(reason));
  }

  @Override
  public void disconnect(int code, String reason) {
    context.runOnContext(v -> closeNow(CloseReason.DISCONNECTED, (short) code, reason));
  }

  @Override
  public void execute(Runnable task) {
    context.runOnContext(v -> task.run());
  }

  @Override
  public void write(byte[] message, boolean binary) {
    if (queued.get() == 0) {
      writeFrame(message, binary);
      return;
    }
    queued.incrementAndGet();
    context.runOnContext(v -> {
      queued.decrementAndGet();
      writeFrame(message, binary);
    });
  }

  private void write(Event event) {
    if (closed) {
      return; // encoding may act for the client (a relay dialect sends what it held), so not after close
    }
    byte[] message = dialect.encode(event);
    if (message != null) {
      writeFrame(message, dialect.binary(event));
    }
    dialect.delivered(event);
  }

  private void writeFrame(byte[] message, boolean binary) {
    if (closed) {
      return;
    }
    if (ws == null) {
      beforeOpenBytes += message.length;
      if (beforeOpenBytes > writeQueueMaxBytes) {
        closeNow(CloseReason.SLOW_CONSUMER);
      } else {
        beforeOpen.add(new Frame(message, binary));
      }
      return;
    }
    writeToSocket(message, binary);
  }

  private void writeToSocket(byte[] message, boolean binary) {
    if (ws.isClosed()) {
      return;
    }
    if (ws.writeQueueFull()) {
      closeNow(CloseReason.SLOW_CONSUMER);
      return;
    }
    metrics.bytesOut(message.length);
    // Vert.x has no public text frame over bytes; this keeps the relay from decoding to a
    // String and encoding it back for every receiver.
    ws.writeFrame(new WebSocketFrameImpl(binary ? WebSocketFrameType.BINARY : WebSocketFrameType.TEXT, message, true));
  }

  /**
   * Sends the close frame and takes the peer out of its rooms at once, so that the other members
   * hear {@code peer-left} now rather than when the TCP connection finally ends. A client that
   * does not answer the close (an idle or slow one never will) loses the TCP connection after
   * {@link #CLOSE_GRACE_MILLIS}; a slow consumer that has not read enough by then to make room
   * for the close frame never receives it (docs/protocol.md).
   */
  void closeNow(CloseReason reason) {
    closeNow(reason, reason.code(), reason.text());
  }

  /**
   * Whether a close by the server leaves a resumable session a chance to resume: the node
   * stopping or overloaded, a connection that went quiet or fell behind, or a failure of ours;
   * not a close that ends the session on purpose (docs/protocol.md, "The gap").
   */
  private static boolean startsGap(CloseReason reason) {
    return switch (reason) {
      case SHUTTING_DOWN, OVERLOADED, IDLE_TIMEOUT, SLOW_CONSUMER, INTERNAL -> true;
      default -> false;
    };
  }

  /** As {@link #closeNow(CloseReason)}, with the close frame's code and text chosen by the caller. */
  private void closeNow(CloseReason reason, short code, String text) {
    if (closed) {
      return;
    }
    dialect.closing();
    closed = true;
    metrics.closedBy(reason);
    hub.close(session, startsGap(reason));
    if (ws == null) {
      closedBeforeOpen = reason; // the client hears it as soon as its upgrade is accepted
      return;
    }
    closeFrame(code, text);
    scheduleDrop();
  }

  private void closeFrame(short code, String text) {
    if (ws.writeQueueFull()) {
      // A close frame queued behind a full queue (a slow consumer's) would be cancelled by the
      // drop below, and Vert.x logs that cancellation as a 30-line stack trace; so it waits for
      // room, which a reader that catches up within the grace makes, and then gets 4001.
      ws.drainHandler(v -> {
        if (!tcpClosed && !ws.isClosed()) {
          ws.close(code, text);
        }
      });
    } else {
      ws.close(code, text);
    }
  }

  private void scheduleDrop() {
    context.owner().setTimer(CLOSE_GRACE_MILLIS, id -> {
      if (!tcpClosed) {
        // The close frame may be stuck behind a full write queue, so waiting for it is not an option.
        transport().close();
      }
    });
  }

  /**
   * The socket's Netty channel handler context: Vert.x offers no public way to drop the transport
   * or to stop reading from it for good.
   */
  private ChannelHandlerContext transport() {
    return ((WebSocketImplBase<?>) ws).channelHandlerContext();
  }

  private record Frame(byte[] bytes, boolean binary) {}

  /** The event loop's lag as a socket sees it on receiving (OverloadShedder#behind). */
  interface LoopWatch {
    /** Whether the loop is so far behind at {@code nowNanos} that an observation is due. */
    boolean behind(long nowNanos);

    /** Makes that observation; it may close this very socket, among the heaviest senders. */
    void observe(long nowNanos);
  }
}
