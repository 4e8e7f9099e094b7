package io.switchboard.edge;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.switchboard.signaling.CloseReason;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.impl.WebSocketImplBase;

/**
 * RFC 6455 strictness for every accepted WebSocket, whatever its dialect: text messages must be
 * UTF-8 (section 8.1), and a frame the decoder refuses is answered with the close code that says
 * why (1002, 1007, 1009) rather than a bare TCP drop.
 */
public final class FrameGuard {
  private FrameGuard() {}

  /**
   * Puts Netty's UTF-8 validator right behind the frame decoder, so an invalid text message (one
   * frame or split across several) fails before any handler sees a byte of it: nothing of it can
   * be relayed. Vert.x builds its decoder without one. Call on the socket's event loop, at once
   * after the upgrade, before any frame can have been read.
   */
  public static void requireUtf8(ServerWebSocket ws) {
    ChannelPipeline pipeline = ((WebSocketImplBase<?>) ws).channelHandlerContext().pipeline();
    if (pipeline.get(Utf8FrameValidator.class) == null) {
      // Without closing itself: the connection sends the close frame, once, with its own bookkeeping.
      pipeline.addAfter("wsdecoder", "sb-utf8", new Utf8FrameValidator(false));
    }
  }

  /**
   * Flushes what was written to {@code ws}. A write made while Vert.x is reading is held until
   * the read ends, and after a decoder failure Vert.x closes the channel first, which would
   * discard the close frame just written.
   */
  public static void flush(ServerWebSocket ws) {
    ((WebSocketImplBase<?>) ws).channelHandlerContext().flush();
  }

  /**
   * The close that answers {@code failure}, or null when it is not a frame the decoder refused.
   * Vert.x closes the TCP connection right after the exception handler returns, so a close frame
   * written (and {@linkplain #flush flushed}) from that handler is the last thing the client
   * receives.
   */
  public static CloseReason closeFor(Throwable failure) {
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
