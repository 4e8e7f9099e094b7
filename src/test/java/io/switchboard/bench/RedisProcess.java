package io.switchboard.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A throw-away {@code redis-server} for the cross-node mode of the relay benchmark: loopback only,
 * no persistence ({@code --save "" --appendonly no}), started directly (no shell) so that
 * {@link #pid} is the server's own PID. {@link #close()} ends exactly that process (SIGTERM, then
 * SIGKILL after a few seconds); it is idempotent and safe to call from a shutdown hook.
 */
final class RedisProcess implements AutoCloseable {

  final Process process;
  final long pid;
  final int port;
  final Path log;
  final List<String> command;

  private RedisProcess(Process process, int port, Path log, List<String> command) {
    this.process = process;
    this.pid = process.pid();
    this.port = port;
    this.log = log;
    this.command = command;
  }

  static RedisProcess start(String executable, int port, Path log) throws IOException {
    return start(executable, port, log, List.of());
  }

  /** As {@link #start(String, int, Path)}, with {@code extra} arguments (a replica's {@code --replicaof}). */
  static RedisProcess start(String executable, int port, Path log, List<String> extra) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(executable,
        "--port", Integer.toString(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--save", "",
        "--appendonly", "no",
        // As the shipped manifests run it (docs/operations.md, "Redis memory of resumable sessions").
        "--stream-node-max-bytes", "512",
        // A replica keeps the snapshot of its first sync on disk: beside the log, not in the
        // benchmark's working directory (once a checkout's root).
        "--dir", log.toAbsolutePath().getParent().toString(),
        "--dbfilename", log.getFileName() + ".rdb",
        "--daemonize", "no",
        "--loglevel", "warning"));
    cmd.addAll(extra);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    return new RedisProcess(pb.start(), port, log, List.copyOf(cmd));
  }

  boolean alive() {
    return process.isAlive();
  }

  /** Sends {@code PING} until it answers {@code +PONG}; false on timeout or if the process died. */
  boolean awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        return false;
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        s.setSoTimeout(1000);
        OutputStream out = s.getOutputStream();
        out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[64];
        int n = in.read(buf);
        if (n > 0 && new String(buf, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG")) {
          return true;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(50);
    }
    return false;
  }

  /** Redis's {@code total_commands_processed} (INFO stats). */
  long commandsProcessed() throws IOException {
    return info("stats", "total_commands_processed");
  }

  /**
   * Redis's {@code INFO commandstats}: command name -> {calls, usec}. The usec is the time spent
   * executing the command (a script's own calls are counted in the script's time as well as their
   * own), not reading, parsing or writing it: the rest of redis-server's CPU is I/O and the event loop.
   */
  Map<String, long[]> commandStats() throws IOException {
    Map<String, long[]> stats = new TreeMap<>();
    Matcher line = Pattern.compile("cmdstat_([^:]+):calls=(\\d+),usec=(\\d+)").matcher(infoSection("commandstats"));
    while (line.find()) {
      stats.put(line.group(1), new long[] {Long.parseLong(line.group(2)), Long.parseLong(line.group(3))});
    }
    return stats;
  }

  /** For a replica: whether its link to the master is up and the first sync done (INFO replication). */
  boolean replicating() throws IOException {
    return infoSection("replication").contains("master_link_status:up");
  }

  /** Redis's {@code used_memory} (INFO memory), in bytes. */
  long usedMemory() throws IOException {
    return info("memory", "used_memory");
  }

  private String infoSection(String section) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      s.setSoTimeout(2000);
      OutputStream out = s.getOutputStream();
      out.write(("INFO " + section + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      // A bulk string: "$LENGTH\r\n" then the text.
      StringBuilder header = new StringBuilder();
      int c;
      while ((c = in.read()) != '\n') {
        if (c < 0) {
          throw new IOException("INFO " + section + ": connection closed");
        }
        header.append((char) c);
      }
      int length = Integer.parseInt(header.toString().trim().substring(1));
      return new String(in.readNBytes(length), StandardCharsets.US_ASCII);
    }
  }

  private long info(String section, String field) throws IOException {
    Matcher value = Pattern.compile("(?m)^" + Pattern.quote(field) + ":(\\d+)").matcher(infoSection(section));
    if (!value.find()) {
      throw new IOException("no " + field + " in INFO " + section);
    }
    return Long.parseLong(value.group(1));
  }

  /** utime + stime of the redis-server process, in clock ticks. */
  long cpuTicks() throws IOException {
    return ServerProcess.cpuTicksOf(pid);
  }

  String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | RuntimeException e) {
      return "(could not read " + log + ": " + e + ")";
    }
  }

  @Override
  public synchronized void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy(); // SIGTERM to this PID only
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
