package io.switchboard.edge.websocket;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.switchboard.wire.CloseReason;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.impl.WebSocketImplBase;
import java.util.function.Consumer;

/**
 * RFC 6455 strictness for every accepted WebSocket, whatever its dialect: text messages must be
 * UTF-8 (section 8.1), and a frame the decoder refuses is answered with a close frame whose code
 * says why (1002, 1007, 1009) rather than a bare TCP drop.
 */
public final class FrameGuard {
  private FrameGuard() {}

  /**
   * Puts Netty's UTF-8 validator right behind the frame decoder, so an invalid text message (one
   * frame or split across several) fails before any handler sees a byte of it and nothing of it
   * can be relayed (Vert.x builds its decoder without one); and hands every frame the decoder or
   * the validator refuses to {@code violated}, on the socket's event loop, with the close it
   * calls for.
   *
   * <p>The refusal is not passed on to Vert.x, which would drop the TCP connection at once: a
   * client still sending would then get a reset, and a reset makes its kernel discard the close
   * frame it had not read yet. Left open, the refusing decoder discards whatever else arrives,
   * and {@code violated} closes the connection in its own time. Call on the socket's event loop
   * at once after the upgrade, before any frame can have been read.
   */
  public static void guard(ServerWebSocket ws, Consumer<CloseReason> violated) {
    ChannelPipeline pipeline = ((WebSocketImplBase<?>) ws).channelHandlerContext().pipeline();
    // Without closing itself: the close frame is sent once, by the connection's own bookkeeping.
    pipeline.addAfter("wsdecoder", "sb-utf8", new Utf8FrameValidator(false));
    pipeline.addAfter("sb-utf8", "sb-violations", new ChannelInboundHandlerAdapter() {
      @Override
      public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        CloseReason reason = closeFor(cause);
        if (reason == null) {
          ctx.fireExceptionCaught(cause);
        } else {
          violated.accept(reason);
        }
      }
    });
  }

  /** The close that answers {@code failure}, or null when it is not a frame the decoder refused. */
  static CloseReason closeFor(Throwable failure) {
    if (!(failure instanceof CorruptedWebSocketFrameException corrupt)) {
      return null;
    }
    return switch (corrupt.closeStatus().code()) {
      case 1007 -> CloseReason.INVALID_UTF8;
      case 1009 -> CloseReason.FRAME_TOO_BIG;
      default -> CloseReason.PROTOCOL_ERROR;
    };
  }
}
