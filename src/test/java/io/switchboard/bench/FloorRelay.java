package io.switchboard.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The floor of the relay benchmark: a relay with no logic, written directly on Netty with one
 * event loop, so that what Switchboard costs above the bare transport and WebSocket codec can be
 * read off the same benchmark run against both ({@code RelayBenchmark --floor}).
 *
 * <p>It speaks only as much of the native protocol on {@code /ws} as the benchmark's peers need:
 * a {@code welcome} with a fresh peer id, a {@code joined} reply with the roster (and
 * {@code peer-joined} to the others) so that the two peers of a room learn each other's ids, and
 * relays: the {@code "to":"ID"} of the frame is found by substring search and replaced by
 * {@code "from":"SENDER"}, everything else goes out byte for byte, as Switchboard's relays look
 * to the peers. No JSON parsing, no validation, no limits, no metrics, no logging per message.
 * {@code GET /health/ready} answers 200 so the benchmark's readiness check works unchanged.
 *
 * <p>Environment: {@code PORT} (default 8080) and {@code HOST} (default 127.0.0.1), as for the
 * server. All state lives on the one event loop, so plain maps suffice.
 */
public final class FloorRelay {

  private static final ByteBuf TO_KEY = constant("\"to\":\"");
  private static final ByteBuf JOIN_TYPE = constant("\"type\":\"join\"");
  private static final int MAX_FRAME_BYTES = 65_536;

  private final Map<String, Channel> peers = new HashMap<>();
  private final Map<String, List<String>> rooms = new HashMap<>();
  private long nextPeer;

  public static void main(String[] args) throws InterruptedException {
    String host = System.getenv().getOrDefault("HOST", "127.0.0.1");
    int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1,
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    FloorRelay relay = new FloorRelay();
    WebSocketServerProtocolConfig ws = WebSocketServerProtocolConfig.newBuilder()
        .websocketPath("/ws")
        .checkStartsWith(true)
        .maxFramePayloadLength(MAX_FRAME_BYTES)
        .build();
    Channel server = new ServerBootstrap()
        .group(loop)
        .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_FRAME_BYTES),
                new WebSocketServerProtocolHandler(ws), relay.new PeerHandler());
          }
        })
        .bind(host, port).sync().channel();
    System.out.println("FloorRelay listening on " + host + ":" + port + " (" + (epoll ? "epoll" : "NIO")
        + ", one event loop)");
    server.closeFuture().sync();
  }

  private static ByteBuf constant(String s) {
    return Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
  }

  /** One per connection: its peer id once the WebSocket handshake is done, and its rooms. */
  private final class PeerHandler extends SimpleChannelInboundHandler<Object> {
    private String id;
    private byte[] fromField;
    private final List<String> joinedRooms = new ArrayList<>(1);

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete) {
        id = "f" + Long.toString(nextPeer++, 36);
        fromField = ("\"from\":\"" + id + "\"").getBytes(StandardCharsets.US_ASCII);
        peers.put(id, ctx.channel());
        ctx.writeAndFlush(new TextWebSocketFrame("{\"type\":\"welcome\",\"peer\":\"" + id + "\"}"));
      } else {
        super.userEventTriggered(ctx, evt);
      }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof TextWebSocketFrame frame) {
        onText(ctx, frame.content());
      } else if (msg instanceof FullHttpRequest req) {
        boolean ready = req.uri().equals("/health/ready");
        var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            ready ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND);
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      }
    }

    private void onText(ChannelHandlerContext ctx, ByteBuf in) {
      int to = ByteBufUtil.indexOf(TO_KEY, in);
      if (to >= 0) {
        int idStart = to + TO_KEY.readableBytes();
        int idEnd = in.indexOf(idStart, in.writerIndex(), (byte) '"');
        if (idEnd < 0) {
          return;
        }
        Channel target = peers.get(in.toString(idStart, idEnd - idStart, StandardCharsets.US_ASCII));
        if (target == null) {
          return;
        }
        int start = in.readerIndex();
        int tailLength = in.writerIndex() - idEnd - 1;
        ByteBuf out = target.alloc().buffer(to - start + fromField.length + tailLength);
        out.writeBytes(in, start, to - start).writeBytes(fromField).writeBytes(in, idEnd + 1, tailLength);
        target.writeAndFlush(new TextWebSocketFrame(out), target.voidPromise());
      } else if (ByteBufUtil.indexOf(JOIN_TYPE, in) >= 0) {
        String text = in.toString(StandardCharsets.UTF_8);
        join(ctx, stringField(text, "room"), stringField(text, "id"));
      }
    }

    private void join(ChannelHandlerContext ctx, String room, String requestId) {
      if (room == null) {
        return;
      }
      List<String> members = rooms.computeIfAbsent(room, r -> new ArrayList<>(2));
      // Joining again: the roster is the others, and nobody is told.
      boolean again = members.contains(id);
      StringBuilder reply = new StringBuilder(96).append("{\"type\":\"joined\",\"room\":\"").append(room)
          .append("\",\"peer\":\"").append(id).append("\",\"peers\":[");
      String announce = "{\"type\":\"peer-joined\",\"room\":\"" + room + "\",\"peer\":\"" + id + "\",\"meta\":{}}";
      boolean first = true;
      for (String other : members) {
        if (other.equals(id)) {
          continue;
        }
        reply.append(first ? "" : ",").append("{\"peer\":\"").append(other).append("\",\"meta\":{}}");
        first = false;
        Channel c = peers.get(other);
        if (c != null && !again) {
          c.writeAndFlush(new TextWebSocketFrame(announce), c.voidPromise());
        }
      }
      reply.append(']');
      if (requestId != null) {
        reply.append(",\"id\":\"").append(requestId).append('"');
      }
      if (!again) {
        members.add(id);
        joinedRooms.add(room);
      }
      ctx.writeAndFlush(new TextWebSocketFrame(reply.append('}').toString()), ctx.voidPromise());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      if (id != null) {
        peers.remove(id);
        for (String room : joinedRooms) {
          List<String> members = rooms.get(room);
          members.remove(id);
          if (members.isEmpty()) {
            rooms.remove(room);
          }
        }
      }
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** The value of {@code "name":"VALUE"} in {@code json} (no escapes: the benchmark sends none), or null. */
  private static String stringField(String json, String name) {
    String key = "\"" + name + "\":\"";
    int at = json.indexOf(key);
    if (at < 0) {
      return null;
    }
    int start = at + key.length();
    int end = json.indexOf('"', start);
    return end < 0 ? null : json.substring(start, end);
  }
}
