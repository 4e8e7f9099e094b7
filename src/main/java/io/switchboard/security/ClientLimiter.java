package io.switchboard.security;

import io.netty.util.NetUtil;
import io.switchboard.config.SwitchboardConfig;
import io.vertx.core.MultiMap;
import io.vertx.core.net.SocketAddress;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-client-address limits on new connections (docs/security.md): a token bucket of new
 * connections per second ({@code CONNECTIONS_PER_IP_PER_SECOND}, {@code CONNECTIONS_PER_IP_BURST})
 * and a cap on connections open at once ({@code MAX_CONNECTIONS_PER_IP}). An IPv6 client counts
 * by its /64 network, which is what one subscriber usually gets, so that rotating addresses
 * within it gains nothing.
 *
 * <p>The client's address is the TCP peer's, unless {@code CLIENT_IP_HEADER} names a header a
 * trusted proxy sets: then the last address in that header (the one the nearest proxy added;
 * earlier ones are whatever the client sent).
 *
 * <p>Thread-safe across event loops: each address's state changes only inside
 * {@link ConcurrentHashMap#compute}. Bounded: {@link #evictIdle} (run every few seconds) drops
 * every address with no open connection and a full bucket, which is exactly the state a new
 * address starts in, so forgetting it changes nothing; and the table never holds more than
 * {@link #MAX_TRACKED} addresses: beyond that, new addresses are refused until some are evicted.
 */
public final class ClientLimiter {
  /** The most addresses tracked at once; about 100 bytes each. */
  public static final int MAX_TRACKED = 100_000;

  private final double perNano;
  private final double burst;
  private final int maxConcurrent;
  private final String addressHeader;
  private final ConcurrentHashMap<String, State> clients = new ConcurrentHashMap<>();

  public ClientLimiter(SwitchboardConfig.ClientLimits limits) {
    this.perNano = limits.perSecond() / 1e9;
    this.burst = limits.burst();
    this.maxConcurrent = limits.maxConcurrent();
    this.addressHeader = limits.addressHeader().isEmpty() ? null : limits.addressHeader();
  }

  /** What one address has used. Touched only inside the map's compute for its key. */
  private static final class State {
    double tokens;
    long refilledNanos;
    int open;

    State(double tokens, long nowNanos) {
      this.tokens = tokens;
      this.refilledNanos = nowNanos;
    }

    void refill(long nowNanos, double perNano, double burst) {
      long elapsed = nowNanos - refilledNanos;
      if (elapsed > 0) {
        tokens = Math.min(burst, tokens + elapsed * perNano);
        refilledNanos = nowNanos;
      }
    }
  }

  /** The key a client is counted under: its address (IPv6: its /64), as {@link ClientLimiter} says. */
  public String clientKey(MultiMap headers, SocketAddress remote) {
    byte[] address = null;
    if (addressHeader != null) {
      String value = headers.get(addressHeader);
      if (value != null) {
        int comma = value.lastIndexOf(',');
        address = parse(value.substring(comma + 1).trim());
      }
    }
    if (address == null && remote != null) {
      address = parse(remote.hostAddress());
    }
    if (address == null) {
      return "unknown";
    }
    if (address.length == 16) {
      return HexFormat.of().formatHex(address, 0, 8) + "::/64";
    }
    return NetUtil.bytesToIpAddress(address);
  }

  /** An IP literal (a port, brackets or an IPv4-mapped IPv6 form allowed) as 4 or 16 bytes; no DNS. */
  private static byte[] parse(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    String host = text;
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      host = end < 0 ? host : host.substring(1, end);
    } else if (host.indexOf(':') == host.lastIndexOf(':') && host.indexOf(':') > 0) {
      host = host.substring(0, host.indexOf(':')); // IPv4 with a port
    }
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(host);
    if (bytes != null && bytes.length == 16 && isIpv4Mapped(bytes)) {
      byte[] v4 = new byte[4];
      System.arraycopy(bytes, 12, v4, 0, 4);
      return v4;
    }
    return bytes;
  }

  private static boolean isIpv4Mapped(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
  }

  /**
   * Counts a new connection from {@code key}: takes a token and, when {@code holds}, one of its
   * concurrent slots, to be given back by {@link #release}.
   *
   * @throws Refused 429, reason {@code per-ip-rate} or {@code per-ip-connections}
   */
  public void acquire(String key, boolean holds, long nowNanos) {
    Refused[] refusal = new Refused[1];
    clients.compute(key, (k, state) -> {
      if (state == null) {
        if (clients.size() >= MAX_TRACKED) {
          refusal[0] = new Refused(429, "per-ip-rate");
          return null;
        }
        state = new State(burst, nowNanos);
      }
      if (perNano > 0) {
        state.refill(nowNanos, perNano, burst);
        if (state.tokens < 1) {
          refusal[0] = new Refused(429, "per-ip-rate");
          return state;
        }
      }
      if (holds && maxConcurrent > 0 && state.open >= maxConcurrent) {
        refusal[0] = new Refused(429, "per-ip-connections");
        return state;
      }
      if (perNano > 0) {
        state.tokens -= 1;
      }
      if (holds) {
        state.open++;
      }
      return state;
    });
    if (refusal[0] != null) {
      throw refusal[0];
    }
  }

  /** Gives back a concurrent slot taken by {@link #acquire}. */
  public void release(String key) {
    clients.computeIfPresent(key, (k, state) -> {
      state.open--;
      return state;
    });
  }

  /** Forgets every address that holds no connection and whose bucket is full again. */
  public void evictIdle(long nowNanos) {
    for (String key : clients.keySet()) {
      clients.computeIfPresent(key, (k, state) -> {
        if (state.open > 0) {
          return state;
        }
        if (perNano > 0) {
          state.refill(nowNanos, perNano, burst);
          if (state.tokens < burst) {
            return state;
          }
        }
        return null;
      });
    }
  }

  /** Addresses tracked now. */
  public int tracked() {
    return clients.size();
  }
}
