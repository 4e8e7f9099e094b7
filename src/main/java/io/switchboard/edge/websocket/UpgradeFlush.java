package io.switchboard.edge.websocket;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.impl.ConnectionBase;

/**
 * Sends a WebSocket's upgrade response and the server's first messages (the native protocol's
 * {@code welcome}, Engine.IO's open packet) in one write. Vert.x flushes the 101 response on its
 * own, and each write costs the event loop a system call (and on loopback the receiving stack's
 * work): one write fewer per connection set up (docs/performance.md, "The upgrade's response and
 * the welcome in one write").
 *
 * <p>{@link #hold} puts a handler at the head of the connection's pipeline that keeps every
 * flush from reaching the socket; its release takes it out and flushes once. Every path
 * from the hold must release it: a flush held for good would leave the client waiting.
 */
public final class UpgradeFlush {
  private static final String NAME = "sb-upgrade-flush";
  private static final Runnable NOTHING_HELD = () -> { };

  private UpgradeFlush() {}

  /**
   * Holds the flushes of {@code request}'s connection until the returned release runs, which
   * flushes once what was written meanwhile. Event loop only, the hold right before the upgrade;
   * the release may run more than once.
   */
  public static Runnable hold(HttpServerRequest request) {
    if (!(request.connection() instanceof ConnectionBase connection)) {
      return NOTHING_HELD;
    }
    ChannelPipeline pipeline = connection.channelHandlerContext().pipeline();
    if (pipeline.get(NAME) != null) {
      // An upgrade refused on this connection, whose release is still queued, then another.
      return NOTHING_HELD;
    }
    pipeline.addFirst(NAME, HeldFlushes.INSTANCE);
    return () -> {
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
