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

  private static int ephemeralRangeStart() {
    try {
      String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      int start = Integer.parseInt(range.split("\\s+")[0]);
      if (start > LOWEST + 1000) {
        return start;
      }
    } catch (IOException | RuntimeException notLinux) {
      // The IANA dynamic range starts at 49152; Linux's default at 32768.
    }
    return 32_768;
  }
}
