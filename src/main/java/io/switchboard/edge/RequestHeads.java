package io.switchboard.edge;

import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;

/**
 * The plain HTTP connections of one verticle and how long each may take to send its next request
 * head: {@code HANDSHAKE_TIMEOUT_MS} from the TCP accept, and again from the end of each response
 * (an idle keep-alive connection is one that owes a head). Vert.x has no such timeout, and its
 * idle timeout is reset by every byte, so a client dripping one byte a second (slowloris) held a
 * connection for ever. A connection that became a WebSocket leaves: its idle sweep takes over.
 *
 * <p>Until its first head has arrived a connection also counts against its address's
 * {@code MAX_PENDING_HANDSHAKES_PER_IP} ({@link Node#holdPendingHandshake}). Owned by the
 * verticle's event loop.
 */
final class RequestHeads {
  private static final class Pending {
    final String address;
    boolean holdsSlot = true;
    HttpServerRequest current;
    long deadlineNanos;

    Pending(String address, long deadlineNanos) {
      this.address = address;
      this.deadlineNanos = deadlineNanos;
    }
  }

  private final Node node;
  private final long timeoutNanos;
  private final Map<HttpConnection, Pending> open = new HashMap<>();

  RequestHeads(Node node, long timeoutNanos) {
    this.node = node;
    this.timeoutNanos = timeoutNanos;
  }

  void opened(HttpConnection connection) {
    String address = connection.remoteAddress() == null ? "unknown" : connection.remoteAddress().hostAddress();
    if (!node.holdPendingHandshake(address)) {
      node.metrics.connectionRejected("per-ip-handshakes");
      connection.close();
      return;
    }
    open.put(connection, new Pending(address, System.nanoTime() + timeoutNanos));
    connection.closeHandler(v -> forget(connection));
  }

  /** A request head has arrived on its connection: no deadline until its response has ended. */
  void started(HttpServerRequest request) {
    Pending pending = open.get(request.connection());
    if (pending != null) {
      pending.current = request;
      release(pending);
    }
  }

  /** The connection is a WebSocket now, or gone. */
  void forget(HttpConnection connection) {
    Pending pending = open.remove(connection);
    if (pending != null) {
      release(pending);
    }
  }

  private void release(Pending pending) {
    if (pending.holdsSlot) {
      pending.holdsSlot = false;
      node.releasePendingHandshake(pending.address);
    }
  }

  /** Closes the connections whose head is overdue; from the verticle's sweep. */
  void sweep(long nowNanos) {
    for (Map.Entry<HttpConnection, Pending> entry : new ArrayList<>(open.entrySet())) {
      Pending pending = entry.getValue();
      if (pending.current != null && pending.current.response().ended()) {
        pending.current = null;
        pending.deadlineNanos = nowNanos + timeoutNanos;
      }
      if (pending.current == null && nowNanos - pending.deadlineNanos >= 0) {
        node.metrics.connectionRejected("handshake-timeout");
        forget(entry.getKey());
        entry.getKey().close();
      }
    }
  }
}
