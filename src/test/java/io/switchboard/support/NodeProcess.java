package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real fat jar run as its own OS process on 127.0.0.1 and a free port, for {@code *IT} tests
 * that need what only a process has: signals, an exit code, a JVM that really goes away.
 *
 * <p>{@link #start} waits, bounded, until {@code /health/ready} answers 200; {@link #close()}
 * SIGKILLs the process if it is still alive. Its output goes to {@code LOGS/NODE_ID.log}.
 */
public final class NodeProcess implements AutoCloseable {
  // Longer than the 30 s a node's WARMUP_CONNECTIONS may take (Main) before it starts anyway: a
  // node started beside a loaded cluster on a 2-core machine warms up slowly, and is late, not broken.
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);

  private final String nodeId;
  private final Process process;
  private final int port;
  private final Path log;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(PROBE_TIMEOUT).build();

  private NodeProcess(String nodeId, Process process, int port, Path log) {
    this.nodeId = nodeId;
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /**
   * Starts {@code java -Xmx128m -jar switchboard.jar} with one event loop, text logs and
   * {@code env} on top, and waits until it is ready.
   */
  public static NodeProcess start(String nodeId, Map<String, String> env, Path logs) throws IOException {
    int port = FreePorts.next();
    String jar = System.getProperty("switchboard.jar", "target/switchboard.jar");
    assertTrue(new File(jar).isFile(), "run after 'mvn package': missing " + jar);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path log = logs.resolve(nodeId + ".log");
    ProcessBuilder builder = new ProcessBuilder(java, "-Xmx128m", "-jar", jar)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    // SHED_LAG_MS=0: on a 2-core machine shared with Redis, browsers and other nodes, a node's loop
    // may be starved of CPU for a while; shedding would then close or refuse a test's clients for
    // a reason that is the machine's. OverloadTest tests shedding on its own.
    Map<String, String> all = new HashMap<>(Map.of("PORT", Integer.toString(port), "HOST", "127.0.0.1",
        "NODE_ID", nodeId, "EVENT_LOOPS", "1", "LOG_FORMAT", "text", "SHED_LAG_MS", "0"));
    all.putAll(env);
    builder.environment().putAll(all);
    NodeProcess node = new NodeProcess(nodeId, builder.start(), port, log);
    try {
      node.awaitReady();
    } catch (RuntimeException | Error e) {
      node.close();
      throw e;
    }
    return node;
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline && process.isAlive()) {
      if (readyStatus() == 200) {
        return;
      }
      Wait.sleep(100);
    }
    throw new AssertionError(nodeId + " did not become ready; see " + log);
  }

  public String nodeId() {
    return nodeId;
  }

  public int port() {
    return port;
  }

  public Process process() {
    return process;
  }

  public Path log() {
    return log;
  }

  /** The status {@code GET /health/ready} answers, or -1 when nothing answers. */
  public int readyStatus() {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
        .timeout(PROBE_TIMEOUT).build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** SIGTERM, as an orchestrator stopping the node sends it. */
  public void terminate() {
    process.destroy();
  }

  /** SIGKILL: no goodbye, no cleanup. Waits, bounded, until the process is gone. */
  public void kill() {
    process.destroyForcibly();
    awaitExit(Duration.ofSeconds(10));
  }

  /** The exit code, waiting at most {@code timeout} for it; fails if the process is still running. */
  public int awaitExit(Duration timeout) {
    try {
      assertTrue(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS),
          nodeId + " still running after " + timeout.toMillis() + " ms; see " + log);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** A directory for the logs of this JVM's node processes. */
  public static Path logDirectory() throws IOException {
    return java.nio.file.Files.createDirectories(
        Path.of(System.getProperty("java.io.tmpdir"), "switchboard-it-" + ProcessHandle.current().pid()));
  }
}
