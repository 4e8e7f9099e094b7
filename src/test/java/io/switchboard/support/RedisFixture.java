package io.switchboard.support;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

/**
 * A real Redis for tests, found in this order:
 * <ol>
 *   <li>{@code REDIS_URL} from the environment (used as is; it cannot be restarted);</li>
 *   <li>a Testcontainers {@code redis:7-alpine} container when a Docker engine answers;</li>
 *   <li>a {@code redis-server} process on a free loopback port, started here and stopped by PID.</li>
 * </ol>
 * With none available the test fails (under {@code CI=true} and elsewhere alike) with a message
 * saying how to get one: a missing Redis is never a silent skip.
 */
public final class RedisFixture implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
  private static RedisFixture shared;

  private final String uri;
  private final int port;
  private final GenericContainer<?> container;
  private Process process;
  private Path workDir;
  private List<String> extraArgs = List.of();
  private boolean tls;

  private RedisFixture(String uri, int port, GenericContainer<?> container, Process process, Path workDir) {
    this.uri = uri;
    this.port = port;
    this.container = container;
    this.process = process;
    this.workDir = workDir;
  }

  /** The Redis shared by every test class of this JVM; closed when the JVM exits. */
  public static synchronized RedisFixture shared() {
    if (shared == null) {
      String fromEnv = System.getenv("REDIS_URL");
      if (fromEnv != null && !fromEnv.isBlank()) {
        shared = new RedisFixture(fromEnv, -1, null, null, null);
      } else {
        shared = dockerAvailable() ? container() : ownProcess();
        RedisFixture toClose = shared;
        Runtime.getRuntime().addShutdownHook(new Thread(toClose::close));
      }
    }
    return shared;
  }

  /** A Redis of this test's own, as a local process, so that the test may stop and restart it. */
  public static RedisFixture ownProcess() {
    return ownProcess(List.of(), "redis://127.0.0.1:", false);
  }

  /** An own Redis that requires {@code password}; its URI carries the password. */
  public static RedisFixture withPassword(String password) {
    return ownProcess(List.of("--requirepass", password), "redis://:" + password + "@127.0.0.1:", false);
  }

  /**
   * An own Redis that speaks only TLS ({@code rediss://}), with {@code cert}/{@code key} (PEM) as
   * its certificate; clients are not asked for certificates.
   */
  public static RedisFixture withTls(Path cert, Path key) {
    return ownProcess(List.of("--tls-cert-file", cert.toString(), "--tls-key-file", key.toString(),
        "--tls-ca-cert-file", cert.toString(), "--tls-auth-clients", "no"), "rediss://127.0.0.1:", true);
  }

  private static RedisFixture ownProcess(List<String> extraArgs, String uriPrefix, boolean tls) {
    if (!onPath("redis-server")) {
      throw new AssertionError("Tests need Redis: no REDIS_URL, no Docker engine, and no redis-server on PATH."
          + " Install it (Debian: apt-get install redis-server) or set REDIS_URL=redis://host:port.");
    }
    int port = FreePorts.next();
    RedisFixture fixture = new RedisFixture(uriPrefix + port, port, null, null, null);
    fixture.extraArgs = extraArgs;
    fixture.tls = tls;
    fixture.startProcess();
    return fixture;
  }

  /** {@code redis://host:port} of this Redis. */
  public String uri() {
    return uri;
  }

  /** A key prefix no other test uses, so tests sharing one Redis never see each other's keys. */
  public static String uniquePrefix() {
    return "t" + Long.toString(RANDOM.nextLong() & Long.MAX_VALUE, 36);
  }

  /** Stops the redis-server process (SIGTERM, by PID) and waits until it is gone. */
  public void stopProcess() {
    requireOwnProcess();
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Starts redis-server again on the same port. */
  public void startProcess() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("already running");
    }
    try {
      if (workDir == null) {
        workDir = Files.createTempDirectory("switchboard-redis");
      }
      List<String> command = new ArrayList<>(List.of("redis-server", "--bind", "127.0.0.1", "--save", "",
          "--appendonly", "no", "--dir", workDir.toString()));
      command.addAll(tls ? List.of("--port", "0", "--tls-port", Integer.toString(port))
          : List.of("--port", Integer.toString(port)));
      command.addAll(extraArgs);
      process = new ProcessBuilder(command)
          .redirectErrorStream(true)
          .redirectOutput(workDir.resolve("redis.log").toFile())
          .start();
    } catch (IOException e) {
      throw new AssertionError("cannot start redis-server", e);
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!ping()) {
      if (System.nanoTime() > deadline || !process.isAlive()) {
        throw new AssertionError("redis-server did not answer PING on port " + port);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  // Plain: PONG, or NOAUTH from a server that wants a password. TLS: accepting connections.
  private boolean ping() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      if (tls) {
        return true;
      }
      socket.setSoTimeout(500);
      OutputStream out = socket.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      byte[] reply = new byte[7];
      int n = in.read(reply);
      String answer = n > 0 ? new String(reply, 0, n, StandardCharsets.US_ASCII) : "";
      return answer.startsWith("+PONG") || answer.startsWith("-NOAUTH");
    } catch (IOException e) {
      return false;
    }
  }

  private void requireOwnProcess() {
    if (process == null) {
      throw new IllegalStateException("only a redis-server started by this fixture can be stopped");
    }
  }

  @Override
  public void close() {
    if (container != null) {
      container.stop();
    }
    if (process != null && process.isAlive()) {
      stopProcess();
    }
  }

  private static RedisFixture container() {
    GenericContainer<?> redis = new GenericContainer<>("redis:7-alpine").withExposedPorts(6379);
    redis.start();
    return new RedisFixture("redis://" + redis.getHost() + ":" + redis.getMappedPort(6379), -1, redis, null, null);
  }

  private static boolean dockerAvailable() {
    // Asking Testcontainers costs seconds of probing; skip it where no Docker socket exists.
    if (!new File("/var/run/docker.sock").exists() && System.getenv("DOCKER_HOST") == null) {
      return false;
    }
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean onPath(String binary) {
    return Executables.find(binary).isPresent();
  }
}
