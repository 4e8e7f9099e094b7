package io.switchboard.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for servers that a test starts in another process, which binds them later.
 *
 * <p>They are taken below the kernel's ephemeral range, never from it: between the choice and the
 * bind, a port from that range may be handed to any socket on the machine, and a node that warms
 * up before it listens (WARMUP_CONNECTIONS) opens thousands of them for 20 s. A CI run lost a node
 * that way: its port had become a client socket's, and another node's warm-up listener answered
 * its readiness probe meanwhile. Below the range only a server's explicit bind takes a port, and
 * each port is handed out once per JVM.
 */
public final class FreePorts {
  private static final int LOWEST = 20_000;
  private static final int BELOW = ephemeralRangeStart();
  private static final Set<Integer> handedOut = ConcurrentHashMap.newKeySet();

  private FreePorts() {}

  /** A port nothing listens on now, below the ephemeral range, not handed out before. */
  public static int next() {
    for (int attempt = 0; attempt < 10_000; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(LOWEST, BELOW);
      if (!handedOut.add(port)) {
        continue;
      }
      try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return port;
      } catch (IOException taken) {
        // Someone else's server: try another.
      }
    }
    throw new AssertionError("no free loopback port in [" + LOWEST + ", " + BELOW + ")");
  }

  /** {low, high} of the kernel's ephemeral port range (Linux), or null where it cannot be read. */
  public static int[] ephemeralRange() {
    try {
      String[] f = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
      return new int[] {Integer.parseInt(f[0]), Integer.parseInt(f[1])};
    } catch (IOException | RuntimeException notLinux) {
      return null;
    }
  }

  private static int ephemeralRangeStart() {
    int[] range = ephemeralRange();
    // Elsewhere: the IANA dynamic range starts at 49152, Linux's default at 32768.
    return range != null && range[0] > LOWEST + 1000 ? range[0] : 32_768;
  }
}
