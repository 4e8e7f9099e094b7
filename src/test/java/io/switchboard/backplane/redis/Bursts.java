package io.switchboard.backplane.redis;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** What the coalesced-flush tests share: a burst sent in one event-loop task, and a flush counter. */
final class Bursts {
  private Bursts() {}

  /** Runs {@code action} on {@code context} and waits (10 s at most) for the future it returns. */
  static <T> T onContext(Context context, Supplier<Future<T>> action) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> action.get().onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else {
        result.completeExceptionally(ar.cause());
      }
    }));
    return result.get(10, TimeUnit.SECONDS);
  }

  /**
   * Sends every request on {@code connection} in one task on {@code context}, so that a count of
   * flushes made meanwhile is exact rather than the machine's scheduling, and waits for the replies.
   */
  static void sendInOneTask(Context context, RedisConnection connection, List<Request> requests) throws Exception {
    onContext(context, () -> Future.all(requests.stream().map(connection::send).toList()));
  }

  /** Between the socket and any handler of {@code pipeline}: counts the flushes that reach the socket. */
  static AtomicInteger countFlushes(ChannelPipeline pipeline) {
    AtomicInteger flushes = new AtomicInteger();
    pipeline.addFirst(new ChannelOutboundHandlerAdapter() {
      @Override
      public void flush(ChannelHandlerContext ctx) {
        flushes.incrementAndGet();
        ctx.flush();
      }
    });
    return flushes;
  }
}
