package io.switchboard.edge.websocket;

import io.netty.channel.ChannelHandlerContext;
import io.vertx.core.MultiMap;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets go of three things Vert.x keeps for every server WebSocket that Switchboard never uses,
 * about 6 KiB of heap per connection (docs/performance.md, "Where the memory goes"):
 * <ul>
 *   <li>the multi-producer outbound queue, about 4 KiB whether or not anything is ever queued.
 *       Every write to a Switchboard socket is made on the socket's own event loop (the edge's
 *       Connection hops there first; an Engine.IO session writes through the socket's context),
 *       which is the condition of Vert.x's strict thread mode; but the WebSocket upgrade does not
 *       pass that mode on, so the queue is replaced here by the direct writer strict mode would
 *       have chosen.</li>
 *   <li>the upgrade request's headers, read once at admission and never again.</li>
 *   <li>the upgrade itself: the socket's channel handler keeps the function that made the
 *       connection, and with it the HTTP connection, request and response the upgrade came
 *       from, for as long as the socket is open. It is called once, when the handler is added.</li>
 * </ul>
 *
 * <p>All three are private to Vert.x, so this works by reflection, checked once when the class
 * loads against the Vert.x on the class path: names, types and the expected classes. When
 * anything does not match, sockets are left exactly as Vert.x makes them and the reason is
 * logged; should a later step fail on a socket, that socket keeps what it has and no later
 * socket is touched. Only memory differs.
 */
public final class LeanWebSockets {
  private static final Logger log = LoggerFactory.getLogger(LeanWebSockets.class);
  private static final String CONNECTION = "io.vertx.core.net.impl.VertxConnection";
  private static final String SHARED_QUEUE = CONNECTION + "$InternalMessageChannel";
  private static final String DIRECT_QUEUE = CONNECTION + "$DirectOutboundMessageQueue";
  private static final String SOCKET = "io.vertx.core.http.impl.WebSocketImplBase";
  private static final String CHANNEL_HANDLER = "io.vertx.core.net.impl.VertxHandler";
  private static final String CONNECTION_BASE = "io.vertx.core.net.impl.ConnectionBase";
  private static final MultiMap NO_HEADERS = HeadersMultiMap.httpHeaders().copy(false);

  private static final Parts PARTS = Parts.find();
  /** Set by the first socket that could not be made lean: the others are then left alone. */
  private static volatile boolean failed;

  private LeanWebSockets() {}

  /** Whether sockets are made lean; false means this Vert.x did not pass the check, or a socket failed. */
  public static boolean available() {
    return PARTS != null && !failed;
  }

  /**
   * Makes {@code ws} lean. Must be called on the socket's event loop, as soon as the upgrade has
   * completed and before anything is written to it; does nothing when the check failed.
   */
  public static void slim(ServerWebSocket ws) {
    if (!available()) {
      return;
    }
    try {
      Object connection = PARTS.connection.get(ws);
      Object queue = PARTS.queue.get(connection);
      if (queue.getClass() != PARTS.sharedQueue) {
        return; // already direct, or not the queue this was checked against
      }
      Object handler = ((ChannelHandlerContext) PARTS.channel.get(connection)).handler();
      if (handler.getClass() != PARTS.channelHandler) {
        return;
      }
      PARTS.queue.set(connection, PARTS.directQueue.newInstance(connection));
      PARTS.headers.set(ws, NO_HEADERS);
      PARTS.connectionFactory.set(handler, null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      failed = true;
      log.atWarn().setCause(e).log("could not make a WebSocket lean; sockets keep Vert.x's defaults from now on");
    }
  }

  /** The reflective handles, or null when this Vert.x is not the one they were written against. */
  private record Parts(Field connection, Field queue, Field headers, Class<?> sharedQueue,
      Constructor<?> directQueue, Field channel, Class<?> channelHandler, Field connectionFactory) {
    static Parts find() {
      try {
        Class<?> connectionClass = Class.forName(CONNECTION);
        Class<?> socketClass = Class.forName(SOCKET);
        Field connection = field(socketClass, "conn", connectionClass);
        Field headers = field(socketClass, "headers", MultiMap.class);
        Class<?> sharedQueue = Class.forName(SHARED_QUEUE);
        Class<?> directQueueClass = Class.forName(DIRECT_QUEUE);
        Field queue = connectionClass.getDeclaredField("outboundMessageQueue");
        if (!queue.getType().isAssignableFrom(sharedQueue) || !queue.getType().isAssignableFrom(directQueueClass)) {
          throw new NoSuchFieldException("outboundMessageQueue holds neither queue");
        }
        queue.setAccessible(true);
        Constructor<?> directQueue = directQueueClass.getDeclaredConstructor(connectionClass);
        directQueue.setAccessible(true);
        Field channel = field(Class.forName(CONNECTION_BASE), "chctx", ChannelHandlerContext.class);
        Class<?> channelHandler = Class.forName(CHANNEL_HANDLER);
        Field connectionFactory = field(channelHandler, "connectionFactory", Function.class);
        return new Parts(connection, queue, headers, sharedQueue, directQueue, channel, channelHandler,
            connectionFactory);
      } catch (ReflectiveOperationException | RuntimeException e) {
        log.atInfo().log("WebSockets keep Vert.x's per-connection queue and headers ({}); memory per "
            + "connection is about 6 KiB higher", e.toString());
        return null;
      }
    }

    private static Field field(Class<?> owner, String name, Class<?> type) throws NoSuchFieldException {
      Field field = owner.getDeclaredField(name);
      if (field.getType() != type) {
        throw new NoSuchFieldException(owner.getName() + "." + name + " is a " + field.getType().getName());
      }
      field.setAccessible(true);
      return field;
    }
  }
}
