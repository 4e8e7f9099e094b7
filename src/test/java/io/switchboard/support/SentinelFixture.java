package io.switchboard.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Redis Sentinel for tests, as real processes on free loopback ports: a master, one replica
 * ({@code --replicaof}) and three sentinels ({@code redis-server CONF --sentinel}, quorum 2,
 * {@code down-after-milliseconds} 1000, {@code failover-timeout} 2000), each in a temporary
 * directory of its own. {@link #start()} returns once every sentinel monitors the master, sees
 * the replica as a healthy candidate and knows the two other sentinels, so that a failover can
 * start at once. {@link #close()} stops every process it started, by PID.
 *
 * <p>Without redis-server on PATH the test fails under {@code CI=true} and is skipped elsewhere
 * ({@link Executables}).
 */
public final class SentinelFixture implements AutoCloseable {
  public static final String MASTER = "mymaster";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(20);

  private final Path dir;
  // Data node port -> its process; the ports keep their process across failovers.
  private final Map<Integer, Process> dataNodes = new LinkedHashMap<>();
  private final Map<Integer, Process> sentinels = new LinkedHashMap<>();

  private final String password;
  private final Tls tls;
  // Port the nodes use (the TLS port, with TLS) -> plain port, on which the fixture itself talks.
  private final Map<Integer, Integer> plainPorts = new LinkedHashMap<>();

  private SentinelFixture(Path dir, String password, Tls tls) {
    this.dir = dir;
    this.password = password;
    this.tls = tls;
  }

  /** Master, replica and three sentinels, ready for a failover. */
  public static SentinelFixture start() {
    return start("");
  }

  /**
   * The same, every process requiring {@code password} (empty: none): the data nodes, and the
   * sentinels themselves, which the backplane reaches with the same URL credentials.
   */
  public static SentinelFixture start(String password) {
    return start(password, null);
  }

  /**
   * The same, and with {@code tls} every process serves TLS on the port the sentinels announce,
   * replication and the sentinels' own links included; the URLs are {@code rediss://}. (Each
   * process also listens on a plain loopback port, for the fixture's own commands.)
   */
  public static SentinelFixture start(String password, Tls tls) {
    Executables.require("redis-server", "Sentinel tests need redis-server on PATH (Debian: apt-get install redis-server)");
    SentinelFixture fixture;
    try {
      fixture = new SentinelFixture(Files.createTempDirectory("switchboard-sentinel"), password, tls);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    try {
      fixture.startAll();
      return fixture;
    } catch (RuntimeException | Error e) {
      fixture.close();
      throw e;
    }
  }

  private void startAll() {
    List<String> auth = password.isEmpty() ? List.of() : List.of("--requirepass", password, "--masterauth", password);
    int master = publicPort();
    startDataNode(master, auth);
    int replica = publicPort();
    List<String> replicaArgs = new ArrayList<>(auth);
    replicaArgs.addAll(List.of("--replicaof", "127.0.0.1", Integer.toString(master)));
    startDataNode(replica, replicaArgs);
    // Sentinels find replicas in the master's INFO, which they read every 10 s: started after the
    // replica is online, the first reading already lists it.
    await(() -> info(master, "replication").contains("state=online"), "the replica to sync with the master");
    for (int i = 0; i < 3; i++) {
      int port = publicPort();
      Path conf = dir.resolve("sentinel-" + port + ".conf");
      try {
        Files.writeString(conf, String.join("\n",
            "port " + plainPorts.get(port),
            tls == null ? "" : tls.confLines(port),
            "bind 127.0.0.1",
            "dir " + dir,
            "sentinel monitor " + MASTER + " 127.0.0.1 " + master + " 2",
            "sentinel down-after-milliseconds " + MASTER + " 1000",
            "sentinel failover-timeout " + MASTER + " 2000",
            password.isEmpty() ? "" : String.join("\n", "requirepass " + password,
                "sentinel auth-pass " + MASTER + " " + password, "sentinel sentinel-pass " + password),
            ""));
      } catch (IOException e) {
        throw new AssertionError(e);
      }
      sentinels.put(port, launch(List.of("redis-server", conf.toString(), "--sentinel"), "sentinel-" + port));
    }
    awaitReady(master);
  }

  /** The sentinels' URLs, with the password if any: the form REDIS_URL takes in sentinel mode. */
  public List<String> sentinelUrls() {
    String auth = password.isEmpty() ? "" : ":" + password + "@";
    String scheme = tls == null ? "redis://" : "rediss://";
    return sentinels.keySet().stream().map(port -> scheme + auth + "127.0.0.1:" + port).toList();
  }

  /** The master's port, as the first sentinel reports it. */
  public int masterPort() {
    List<Object> addr = Resp.list(call(first(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER));
    return Integer.parseInt((String) addr.get(1));
  }

  /** {@code redis://} URL of the current master, with the password if any; always plain. */
  public String masterUri() {
    return "redis://" + (password.isEmpty() ? "" : ":" + password + "@") + "127.0.0.1:"
        + plainPorts.get(masterPort());
  }

  /**
   * {@code SENTINEL FAILOVER}, then waits until every sentinel names the new master.
   *
   * @return the new master's port
   */
  public int failover() {
    int old = masterPort();
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (true) {
      Object reply = call(first(), "SENTINEL", "FAILOVER", MASTER);
      if ("OK".equals(reply)) {
        break;
      }
      // INPROG or NOGOODSLAVE right after an earlier failover: try again shortly.
      if (System.nanoTime() > deadline) {
        throw new AssertionError("SENTINEL FAILOVER kept answering " + reply);
      }
      Wait.sleep(100);
    }
    return awaitNewMaster(old);
  }

  /** SIGKILLs the current master's process; the sentinels are left to notice. */
  public int killMaster() {
    int port = masterPort();
    Process process = dataNodes.get(port);
    process.destroyForcibly();
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    return port;
  }

  /**
   * Stops every data node but the master (SIGSTOP), so that nothing replicates, until the result
   * is closed (SIGCONT).
   */
  public AutoCloseable pauseReplicas() {
    int master = masterPort();
    List<Process> replicas = dataNodes.entrySet().stream().filter(e -> e.getKey() != master)
        .map(Map.Entry::getValue).toList();
    replicas.forEach(p -> Signals.send(p, "STOP"));
    return () -> replicas.forEach(p -> Signals.send(p, "CONT"));
  }

  /** Waits until every sentinel names a master other than {@code oldPort}; returns its port. */
  public int awaitNewMaster(int oldPort) {
    await(() -> sentinels.keySet().stream().allMatch(s -> {
      Object reply = call(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER);
      return reply instanceof List<?> addr && !addr.get(1).equals(Integer.toString(oldPort));
    }), "every sentinel to name a master other than " + oldPort);
    return masterPort();
  }

  /**
   * Waits until the sentinels could fail over again: {@code replicaPort} (after a failover, the
   * old master, once Sentinel has turned it into a replica, about 10 s later) replicates the
   * current master, and every sentinel lists it as a replica that is up. Its own INFO is read,
   * not the sentinels' copy, which they refresh only every 10 s while the master is up.
   */
  public void awaitReplicaInSync(int replicaPort) {
    String master = "master_port:" + masterPort();
    await(() -> {
      String replication = info(replicaPort, "replication");
      return replication.contains("role:slave") && replication.contains(master)
          && replication.contains("master_link_status:up");
    }, "port " + replicaPort + " to replicate the new master");
    await(() -> sentinels.keySet().stream().allMatch(s -> Resp.list(call(s, "SENTINEL", "REPLICAS", MASTER)).stream()
        .map(SentinelFixture::fields)
        .anyMatch(r -> r.get("port").equals(Integer.toString(replicaPort)) && "slave".equals(r.get("flags")))),
        "every sentinel to list port " + replicaPort + " as a replica that is up");
  }

  private void awaitReady(int master) {
    await(() -> sentinels.keySet().stream().allMatch(s -> {
      Object addr = call(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER);
      if (!(addr instanceof List<?> a) || !a.get(1).equals(Integer.toString(master))) {
        return false;
      }
      boolean replicaOk = Resp.list(call(s, "SENTINEL", "REPLICAS", MASTER)).stream()
          .map(SentinelFixture::fields)
          .anyMatch(r -> "slave".equals(r.get("flags")) && "ok".equals(r.get("master-link-status")));
      return replicaOk && Resp.list(call(s, "SENTINEL", "SENTINELS", MASTER)).size() == sentinels.size() - 1;
    }), "every sentinel to see master " + master + " with a replica in sync and the other sentinels");
  }

  @Override
  public void close() {
    List<Process> all = new ArrayList<>(sentinels.values());
    all.addAll(dataNodes.values());
    for (Process process : all) {
      process.destroy();
    }
    for (Process process : all) {
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void startDataNode(int port, List<String> extra) {
    List<String> command = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(plainPorts.get(port)),
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString(),
        "--dbfilename", "dump-" + port + ".rdb"));
    if (tls != null) {
      command.addAll(tls.serverArgs(port));
    }
    command.addAll(extra);
    dataNodes.put(port, launch(command, "redis-" + port));
    await(() -> "PONG".equals(tryCall(port, "PING")), "redis-server on port " + port);
  }

  private Process launch(List<String> command, String logName) {
    try {
      return new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(dir.resolve(logName + ".log").toFile()).start();
    } catch (IOException e) {
      throw new AssertionError("cannot start " + command, e);
    }
  }

  private int first() {
    return sentinels.keySet().iterator().next();
  }

  private String info(int port, String section) {
    Object reply = tryCall(port, "INFO", section);
    return reply instanceof String s ? s : "";
  }

  private void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    while (!holds(condition)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what + "; logs in " + dir);
      }
      Wait.sleep(50);
    }
  }

  // A process still starting (or just killed) refuses connections: not yet, rather than failed.
  private static boolean holds(BooleanSupplier condition) {
    try {
      return condition.getAsBoolean();
    } catch (AssertionError e) {
      return false;
    }
  }

  private Object tryCall(int port, String... args) {
    return Resp.tryCall(plainPorts.getOrDefault(port, port), password, args);
  }

  private Object call(int port, String... args) {
    return Resp.call(plainPorts.getOrDefault(port, port), password, args);
  }

  private static Map<String, String> fields(Object entry) {
    List<Object> flat = Resp.list(entry);
    Map<String, String> fields = new LinkedHashMap<>();
    for (int i = 0; i + 1 < flat.size(); i += 2) {
      fields.put(String.valueOf(flat.get(i)), String.valueOf(flat.get(i + 1)));
    }
    return fields;
  }

  // The port the sentinels and the nodes use for a new process, with its plain port beside it.
  private int publicPort() {
    int port = FreePorts.next();
    int plain = tls == null ? port : FreePorts.next();
    plainPorts.put(port, plain);
    return port;
  }
}
