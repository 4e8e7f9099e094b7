package io.switchboard;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.util.internal.PlatformDependent;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.spi.transport.Transport;
import java.util.Map;
import java.util.concurrent.ThreadFactory;

/**
 * A transport that sets on each accepted socket only the options that differ from what the
 * socket already has. Vert.x sets five on every accepted connection, four of them to the value
 * they already hold: TCP_NODELAY again (Netty's channel set it when it made the channel),
 * SO_KEEPALIVE off, TCP_CORK off and TCP_USER_TIMEOUT 0 (an accepted socket inherits them from
 * its listener, which keeps the kernel's defaults). Each is a system call, and connection set-up
 * is made of system calls: 4 of the about 20 a WebSocket costs the server before it is joined.
 * TCP_QUICKACK stays: setting it off is not the kernel's default, it puts the connection in
 * delayed-ACK mode at once.
 *
 * <p>Everything else goes to the transport it wraps, unchanged.
 */
final class DefaultSocketOptionsUnset implements Transport {
  private final Transport delegate;

  private DefaultSocketOptionsUnset(Transport delegate) {
    this.delegate = delegate;
  }

  /** {@code transport}, setting no accepted socket's option to the value it already has. */
  static io.vertx.core.transport.Transport wrap(io.vertx.core.transport.Transport transport) {
    Transport lean = new DefaultSocketOptionsUnset(transport.implementation());
    return new io.vertx.core.transport.Transport() {
      @Override
      public String name() {
        return transport.name();
      }

      @Override
      public boolean available() {
        return transport.available();
      }

      @Override
      public Throwable unavailabilityCause() {
        return transport.unavailabilityCause();
      }

      @Override
      public Transport implementation() {
        return lean;
      }
    };
  }

  /** The transport this one wraps, for the start-up log. */
  static Transport unwrapped(Transport transport) {
    return transport instanceof DefaultSocketOptionsUnset lean ? lean.delegate : transport;
  }

  @Override
  public void configure(NetServerOptions options, boolean domainSocket, ServerBootstrap bootstrap) {
    delegate.configure(options, domainSocket, bootstrap);
    for (Map.Entry<ChannelOption<?>, Object> option : bootstrap.config().childOptions().entrySet()) {
      if (alreadyHeld(option.getKey(), option.getValue())) {
        bootstrap.childOption(option.getKey(), null);
      }
    }
  }

  // The epoll and io_uring transports each have their own TCP_CORK and TCP_USER_TIMEOUT options
  // (named after their class), so those are known by the end of their name.
  private static boolean alreadyHeld(ChannelOption<?> option, Object value) {
    if (option == ChannelOption.TCP_NODELAY) {
      return Boolean.TRUE.equals(value) && PlatformDependent.canEnableTcpNoDelayByDefault();
    }
    if (option == ChannelOption.SO_KEEPALIVE) {
      return Boolean.FALSE.equals(value);
    }
    String name = option.name();
    return name.endsWith("TCP_CORK") && Boolean.FALSE.equals(value)
        || name.endsWith("TCP_USER_TIMEOUT") && Integer.valueOf(0).equals(value);
  }

  @Override
  public boolean supportsDomainSockets() {
    return delegate.supportsDomainSockets();
  }

  @Override
  public boolean supportFileRegion() {
    return delegate.supportFileRegion();
  }

  @Override
  public boolean isAvailable() {
    return delegate.isAvailable();
  }

  @Override
  public Throwable unavailabilityCause() {
    return delegate.unavailabilityCause();
  }

  @Override
  public java.net.SocketAddress convert(SocketAddress address) {
    return delegate.convert(address);
  }

  @Override
  public SocketAddress convert(java.net.SocketAddress address) {
    return delegate.convert(address);
  }

  @Override
  public IoHandlerFactory ioHandlerFactory() {
    return delegate.ioHandlerFactory();
  }

  @Override
  public EventLoopGroup eventLoopGroup(int type, int threads, ThreadFactory threadFactory, int ioRatio) {
    return delegate.eventLoopGroup(type, threads, threadFactory, ioRatio);
  }

  @Override
  public DatagramChannel datagramChannel() {
    return delegate.datagramChannel();
  }

  @Override
  @SuppressWarnings("deprecation")
  public DatagramChannel datagramChannel(InternetProtocolFamily family) {
    return delegate.datagramChannel(family);
  }

  @Override
  public ChannelFactory<? extends Channel> channelFactory(boolean domainSocket) {
    return delegate.channelFactory(domainSocket);
  }

  @Override
  public ChannelFactory<? extends ServerChannel> serverChannelFactory(boolean domainSocket) {
    return delegate.serverChannelFactory(domainSocket);
  }

  @Override
  public void configure(DatagramChannel channel, DatagramSocketOptions options) {
    delegate.configure(channel, options);
  }

  @Override
  public void configure(ClientOptionsBase options, int connectTimeout, boolean domainSocket, Bootstrap bootstrap) {
    delegate.configure(options, connectTimeout, domainSocket, bootstrap);
  }
}
