package io.switchboard.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Switchboard server under test (or the {@link FloorRelay}, or the Node.js relay), run as its
 * own OS process ({@code java OPTS -jar JAR}, or {@code node relay.js}), plus the Linux {@code /proc}
 * and {@code jcmd} probes the benchmark reads from it. The {@code jcmd} probes need a JVM: for any
 * other program ({@link #jvm} false) {@link #fullGc} does nothing, {@link #heapUsedKiB} answers -1
 * and {@link #classHistogram} an empty map, so that the report can say "n/a (not a JVM)".
 *
 * <p>{@link #close()} always ends the process (SIGTERM, then SIGKILL after a few seconds); it is
 * idempotent and safe to call from a shutdown hook.
 */
final class ServerProcess implements AutoCloseable {

  private static final Pattern HEAP_USED = Pattern.compile("total \\d+K, used (\\d+)K");

  final Process process;
  final long pid;
  final Path log;
  final List<String> command;
  final int port;
  /** Whether the process is a JVM (jcmd works on it). */
  final boolean jvm;

  private ServerProcess(Process process, Path log, List<String> command, int port, boolean jvm) {
    this.process = process;
    this.pid = process.pid();
    this.log = log;
    this.command = command;
    this.port = port;
    this.jvm = jvm;
  }

  /** The {@code bin} directory of the JDK running this benchmark. */
  static Path jdkBin() {
    Path home = Path.of(System.getProperty("java.home"), "bin");
    if (Files.isExecutable(home.resolve("java"))) {
      return home;
    }
    return ProcessHandle.current().info().command()
        .map(c -> Path.of(c).toAbsolutePath().getParent())
        .orElse(home);
  }

  /**
   * Starts {@code [launcher...] java [jvmOpts...] [program...]}, where {@code program} is
   * {@code -jar JAR} or {@code -cp PATH MAIN}; a launcher such as {@code taskset -c 0} execs java
   * in its own process, so {@link #pid} is the JVM's.
   */
  static ServerProcess start(List<String> launcher, List<String> jvmOpts, List<String> program, Map<String, String> env,
      Path log, int port) throws IOException {
    List<String> cmd = new ArrayList<>(launcher);
    cmd.add(jdkBin().resolve("java").toString());
    cmd.addAll(jvmOpts);
    cmd.addAll(program);
    return launch(cmd, null, env, log, port, true);
  }

  /**
   * Starts {@code [launcher...] program...} in the directory {@code dir}, a program that is not a
   * JVM (the Node.js relay); the launcher must exec it, so that {@link #pid} is the program's.
   */
  static ServerProcess startNonJvm(List<String> launcher, List<String> program, Path dir, Map<String, String> env,
      Path log, int port) throws IOException {
    List<String> cmd = new ArrayList<>(launcher);
    cmd.addAll(program);
    return launch(cmd, dir, env, log, port, false);
  }

  private static ServerProcess launch(List<String> cmd, Path dir, Map<String, String> env, Path log, int port,
      boolean jvm) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    pb.environment().putAll(env);
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    return new ServerProcess(pb.start(), log, List.copyOf(cmd), port, jvm);
  }

  boolean alive() {
    return process.isAlive();
  }

  /**
   * Polls {@code GET /health/ready} until it answers 200; false on timeout or if the server died.
   * Plain HTTP/1.1: the client's default would ask for an h2c upgrade, which a Node.js server with a
   * WebSocket upgrade handler (the node relay) refuses with 400.
   */
  boolean awaitReady(Duration timeout) throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1)).build();
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready"))
        .timeout(Duration.ofSeconds(2)).GET().build();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        return false;
      }
      try {
        HttpResponse<Void> r = http.send(req, HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return true;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    return false;
  }

  /** utime + stime of the server process, in clock ticks. */
  long cpuTicks() throws IOException {
    return cpuTicksOf(pid);
  }

  /**
   * The server's CPU ticks so far by kind of thread, from /proc/PID/task: "event loops"
   * (Vert.x's, or Netty's in the floor), "JIT compilers", "VM thread and GC", and
   * "other" for the rest, including threads that have exited (which /proc no longer lists).
   */
  Map<String, Long> cpuTicksByThreadKind() throws IOException {
    Map<String, Long> byKind = new java.util.LinkedHashMap<>();
    for (String kind : THREAD_KINDS) {
      byKind.put(kind, 0L);
    }
    long listed = 0;
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path task : tasks.toList()) {
        long ticks;
        String name;
        try {
          ticks = cpuTicksOf(task.resolve("stat").toString());
          name = Files.readString(task.resolve("comm"), StandardCharsets.US_ASCII).trim();
        } catch (IOException exited) {
          continue;
        }
        listed += ticks;
        byKind.merge(threadKind(name), ticks, Long::sum);
      }
    }
    byKind.merge("other", Math.max(0, cpuTicks() - listed), Long::sum);
    return byKind;
  }

  static final List<String> THREAD_KINDS = List.of("event loops", "JIT compilers", "VM thread and GC", "other");

  // Thread names as the kernel keeps them: the first 15 bytes of the Java name.
  static String threadKind(String name) {
    if (name.startsWith("vert.x-eventloo") || name.startsWith("multiThreadIoEv")) {
      return "event loops";
    }
    if (name.startsWith("C1 CompilerThre") || name.startsWith("C2 CompilerThre")) {
      return "JIT compilers";
    }
    if (name.equals("VM Thread") || name.startsWith("GC Thread") || name.startsWith("G1 ")) {
      return "VM thread and GC";
    }
    return "other";
  }

  static long selfCpuTicks() throws IOException {
    return cpuTicksOf("/proc/self/stat");
  }

  /** utime + stime of any process, in clock ticks. */
  static long cpuTicksOf(long pid) throws IOException {
    return cpuTicksOf("/proc/" + pid + "/stat");
  }

  private static long cpuTicksOf(String statFile) throws IOException {
    String stat = Files.readString(Path.of(statFile), StandardCharsets.US_ASCII);
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    return Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]);
  }

  /**
   * CPU ticks (utime+stime+cutime+cstime, so reaped children count for their parent) of every
   * process on the machine except {@code exclude}, by pid. /proc/stat's machine-wide counters are
   * tick-sampled and miss much of short event-loop bursts here, hence the per-process sum.
   */
  static Map<Long, Long> otherProcessTicks(long... exclude) {
    Map<Long, Long> out = new java.util.HashMap<>();
    java.io.File[] dirs = new java.io.File("/proc").listFiles();
    if (dirs == null) {
      return out;
    }
    outer:
    for (java.io.File d : dirs) {
      String name = d.getName();
      if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
        continue;
      }
      long pid;
      try {
        pid = Long.parseLong(name);
      } catch (NumberFormatException e) {
        continue;
      }
      for (long x : exclude) {
        if (x == pid) {
          continue outer;
        }
      }
      try {
        String stat = Files.readString(d.toPath().resolve("stat"), StandardCharsets.US_ASCII);
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
        out.put(pid, Long.parseLong(f[14 - 3]) + Long.parseLong(f[15 - 3]) + Long.parseLong(f[16 - 3])
            + Long.parseLong(f[17 - 3]));
      } catch (IOException | RuntimeException e) {
        // exited meanwhile
      }
    }
    return out;
  }

  /**
   * Ticks used between two {@link #otherProcessTicks} samples: the difference of the sums, so that a
   * child that exited in between (its whole CPU time moved into its parent's cutime) counts only
   * for the part after the first sample. Processes whose parent did not reap them are missed.
   */
  static long otherTicksDelta(Map<Long, Long> before, Map<Long, Long> after) {
    long b = before.values().stream().mapToLong(Long::longValue).sum();
    long a = after.values().stream().mapToLong(Long::longValue).sum();
    return Math.max(0, a - b);
  }

  /** The clock ticks per second of /proc/PID/stat ({@code getconf CLK_TCK}, 100 if that fails). */
  static long clockTicksPerSecond() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
      if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
        return Long.parseLong(out);
      }
      p.destroyForcibly();
    } catch (IOException | RuntimeException e) {
      // fall through
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 100;
  }

  /** A line {@code NAME: N kB} of /proc/PID/status, in KiB, or -1. */
  long statusKiB(String name) throws IOException {
    return statusKiB(Path.of("/proc/" + pid + "/status"), name);
  }

  static long statusKiB(Path status, String name) throws IOException {
    for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
      if (line.startsWith(name + ":")) {
        return Long.parseLong(line.substring(name.length() + 1).trim().split("\\s+")[0]);
      }
    }
    return -1;
  }

  /** The soft limit on open files of a process, from /proc/PID/limits, or -1 (unlimited/unknown). */
  static long openFilesLimit(String pidOrSelf) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pidOrSelf + "/limits"))) {
      if (line.startsWith("Max open files")) {
        String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
        return "unlimited".equals(soft) ? Long.MAX_VALUE : Long.parseLong(soft);
      }
    }
    return -1;
  }

  /** Runs {@code jcmd PID args...} (the jcmd of this JDK), bounded to 30 s; returns its output. */
  String jcmd(String... args) throws IOException, InterruptedException {
    if (!jvm) {
      throw new IOException("jcmd " + String.join(" ", args) + ": pid " + pid + " is not a JVM");
    }
    Path jcmd = jdkBin().resolve("jcmd");
    List<String> cmd = new ArrayList<>();
    cmd.add(Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd");
    cmd.add(Long.toString(pid));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile("bench-jcmd-", ".txt");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.to(out.toFile())).start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("jcmd " + String.join(" ", args) + " did not finish in 30 s");
      }
      String text = Files.readString(out, StandardCharsets.UTF_8);
      if (p.exitValue() != 0) {
        throw new IOException("jcmd " + String.join(" ", args) + " exited " + p.exitValue() + ": " + text.trim());
      }
      return text;
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** Full GC in the server ({@code jcmd PID GC.run}), then waits {@code settleMillis}; nothing if not a JVM. */
  void fullGc(long settleMillis) throws IOException, InterruptedException {
    if (!jvm) {
      return;
    }
    jcmd("GC.run");
    Thread.sleep(settleMillis);
  }

  /** Java heap in use per {@code jcmd PID GC.heap_info}, in KiB; -1 when the format is unknown or not a JVM. */
  long heapUsedKiB() throws IOException, InterruptedException {
    if (!jvm) {
      return -1;
    }
    String info = jcmd("GC.heap_info");
    Matcher m = HEAP_USED.matcher(info);
    long sum = 0;
    boolean any = false;
    while (m.find()) {
      sum += Long.parseLong(m.group(1));
      any = true;
    }
    return any ? sum : -1;
  }

  /** Class name to {instances, bytes} from {@code jcmd PID GC.class_histogram} (which runs a full GC first). */
  Map<String, long[]> classHistogram() throws IOException, InterruptedException {
    Map<String, long[]> h = new java.util.HashMap<>();
    if (!jvm) {
      return h;
    }
    Pattern row = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");
    for (String line : jcmd("GC.class_histogram").split("\\R")) {
      Matcher m = row.matcher(line);
      if (m.find()) {
        h.merge(m.group(3), new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))},
            (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]});
      }
    }
    return h;
  }

  String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | RuntimeException e) {
      return "(could not read " + log + ": " + e + ")";
    }
  }

  /** The first {@code max} lines of the server's log containing any of {@code needles}, whatever their case. */
  List<String> logLinesMatching(List<String> needles, int max) {
    // Without regard to case, as logLinesContaining counts them: the JVM's own lines say
    // "[error  ][aot]", the server's "ERROR".
    List<String> lowered = needles.stream().map(n -> n.toLowerCase(java.util.Locale.ROOT)).toList();
    try (var stream = Files.lines(log, StandardCharsets.UTF_8)) {
      return stream.filter(l -> {
        String line = l.toLowerCase(java.util.Locale.ROOT);
        return lowered.stream().anyMatch(line::contains);
      }).limit(max).toList();
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
  }

  /** Number of lines in the server's log that contain {@code needle} (case-insensitive). */
  long logLinesContaining(String needle) {
    try (var stream = Files.lines(log, StandardCharsets.UTF_8)) {
      String n = needle.toLowerCase(java.util.Locale.ROOT);
      return stream.filter(l -> l.toLowerCase(java.util.Locale.ROOT).contains(n)).count();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  @Override
  public synchronized void close() {
    if (!process.isAlive()) {
      return;
    }
    process.destroy(); // SIGTERM: let it shut down gracefully
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
