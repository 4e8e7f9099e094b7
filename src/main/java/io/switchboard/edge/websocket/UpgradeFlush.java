package io.switchboard.edge.websocket;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Sends a WebSocket's upgrade response and the server's first messages (the native protocol's
 * {@code welcome}, Engine.IO's open packet) in one write. Vert.x flushes the 101 response on its
 * own, and each write costs the event loop a system call (and on loopback the receiving stack's
 * work): one write fewer per connection set up (docs/performance.md, "The upgrade's response and
 * the welcome in one write").
 *
 * <p>{@link #upgrade} puts a handler at the head of the connection's pipeline that keeps every
 * flush from reaching the socket, and releases it, taking it out and flushing once, however the
 * upgrade ends: a flush held for good would leave the client waiting.
 */
public final class UpgradeFlush {
  private static final String NAME = "sb-upgrade-flush";

  private UpgradeFlush() {}

  /**
   * Upgrades {@code request} to a WebSocket, hands it to {@code opened}, and only then lets its
   * connection flush: the upgrade's response and what was written meanwhile leave in one write,
   * with what the loop had queued before (the connection's welcome) and what {@code opened}
   * writes or queues (Engine.IO's open packet). The release is a task queued on {@code loop}, the
   * connection's event loop, on which this is called; it comes however the upgrade ends.
   */
  public static Future<ServerWebSocket> upgrade(HttpServerRequest request, Context loop,
      Handler<ServerWebSocket> opened) {
    Runnable release = hold(request);
    Future<ServerWebSocket> upgraded;
    try {
      upgraded = request.toWebSocket();
    } catch (RuntimeException e) {
      upgraded = Future.failedFuture(e);
    }
    return upgraded.onSuccess(opened).onComplete(ar -> loop.runOnContext(v -> release.run()));
  }

  private static Runnable hold(HttpServerRequest request) {
    if (!(request.connection() instanceof ConnectionBase connection)) {
      return () -> { };
    }
    ChannelPipeline pipeline = connection.channelHandlerContext().pipeline();
    if (pipeline.get(NAME) != null) {
      // An upgrade refused on this connection, whose release is still queued, then another.
      return () -> { };
    }
    pipeline.addFirst(NAME, HeldFlushes.INSTANCE);
    return () -> {
      // Gone already if the channel closed meanwhile.
      if (pipeline.get(NAME) != null) {
        pipeline.remove(NAME);
      }
    };
  }

  @ChannelHandler.Sharable
  private static final class HeldFlushes extends ChannelOutboundHandlerAdapter {
    static final HeldFlushes INSTANCE = new HeldFlushes();

    @Override
    public void flush(ChannelHandlerContext ctx) {
      // Held: the write stays in the channel's outbound buffer until the release.
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      // An empty outbound buffer makes this a no-op; the channel may have closed meanwhile.
      ctx.flush();
    }
  }
}
