package io.switchboard.support;

import io.switchboard.backplane.redis.HashSlot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Redis Cluster for tests: six {@code redis-server} processes on free loopback ports, each in
 * a temporary directory of its own, made into three masters with one replica each by
 * {@code redis-cli --cluster create}. {@link #start()} returns once the cluster is settled:
 * every node reports {@code cluster_state:ok} with all 16384 slots served, every replica is in
 * sync with its master, and all nodes describe the cluster alike. Each fault ({@link #failover},
 * {@link #killMaster}, {@link #restart}, {@link #migrateSlot}) returns only once the cluster has
 * settled again. {@link #close()} stops every process it started, by PID.
 *
 * <p>With TLS ({@link #start(String, Tls)}) every node serves TLS on the port the cluster
 * announces, and speaks TLS to the others: replication, the cluster bus and MIGRATE. It also
 * listens on a plain loopback port, on which the fixture itself talks; Redis answers CLUSTER NODES
 * and SLOTS, and redirects, with the plain ports on such a connection and with the TLS ports on a
 * TLS one. Every port this class takes or returns is one the cluster announces to TLS clients.
 *
 * <p>Without redis-server and redis-cli on PATH the test fails under {@code CI=true} and is
 * skipped elsewhere ({@link Executables}).
 */
public final class ClusterFixture implements AutoCloseable {
  /** The number of hash slots in a Redis Cluster. */
  public static final int SLOTS = HashSlot.SLOTS;
  private static final int MASTERS = 3;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final Path dir;
  private final String password;
  private final Tls tls;
  // Client port -> node, in start order; a port keeps its node (and node ID) across restarts.
  private final Map<Integer, Node> nodes = new LinkedHashMap<>();
  // Plain port -> client port, for what the nodes tell the fixture on its plain connections.
  private final Map<Integer, Integer> clientPorts = new HashMap<>();

  private static final class Node {
    final int port;
    // The port the fixture talks on: the client port itself without TLS.
    final int plainPort;
    final int busPort;
    final Path dir;
    Process process;

    Node(int port, int plainPort, int busPort, Path dir) {
      this.port = port;
      this.plainPort = plainPort;
      this.busPort = busPort;
      this.dir = dir;
    }
  }

  /** One line of {@code CLUSTER NODES}: {@code slots} holds ranges ("0-5460", "42"), not open slots. */
  private record Entry(String id, int port, Set<String> flags, String masterId, boolean connected,
      List<String> slots, List<String> openSlots) {
    boolean master() {
      return flags.contains("master");
    }

    boolean owns(int slot) {
      return slots.stream().map(Entry::range).anyMatch(range -> slot >= range[0] && slot <= range[1]);
    }

    int slotCount() {
      return slots.stream().map(Entry::range).mapToInt(range -> range[1] - range[0] + 1).sum();
    }

    private static int[] range(String slots) {
      int dash = slots.indexOf('-');
      int from = Integer.parseInt(dash < 0 ? slots : slots.substring(0, dash));
      return new int[] {from, dash < 0 ? from : Integer.parseInt(slots.substring(dash + 1))};
    }
  }

  private ClusterFixture(Path dir, String password, Tls tls) {
    this.dir = dir;
    this.password = password;
    this.tls = tls;
  }

  /** Three masters with one replica each, all slots assigned, every node agreeing. */
  public static ClusterFixture start() {
    return start("");
  }

  /**
   * The same, every node requiring {@code password} (empty: none) of its clients, of its
   * replicas and of migrations; the seed URLs carry it.
   */
  public static ClusterFixture start(String password) {
    return start(password, null);
  }

  /**
   * The same, and with {@code tls} (null: none) every node serves TLS on the port the cluster
   * announces and speaks TLS to the other nodes; the seed URLs are {@code rediss://}.
   */
  public static ClusterFixture start(String password, Tls tls) {
    Executables.require("redis-server", "Cluster tests need redis-server on PATH (Debian: apt-get install redis-server)");
    Executables.require("redis-cli", "Cluster tests need redis-cli on PATH (Debian: apt-get install redis-tools)");
    ClusterFixture fixture;
    try {
      fixture = new ClusterFixture(Files.createTempDirectory("switchboard-cluster"), password, tls);
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
    for (int i = 0; i < 2 * MASTERS; i++) {
      // The bus port is chosen too: Redis' default, port + 10000, may be someone else's.
      int port = FreePorts.next();
      int plainPort = tls == null ? port : FreePorts.next();
      int busPort = FreePorts.next();
      Path nodeDir = dir.resolve("node-" + port);
      try {
        Files.createDirectories(nodeDir);
      } catch (IOException e) {
        throw new AssertionError(e);
      }
      Node node = new Node(port, plainPort, busPort, nodeDir);
      nodes.put(port, node);
      clientPorts.put(plainPort, port);
      launch(node);
    }
    for (int port : nodes.keySet()) {
      await(() -> "PONG".equals(tryCall(port, "PING")) ? null : "no PONG yet", "redis-server on port " + port);
    }
    createCluster();
    await(this::unsettled, "the new cluster to settle");
  }

  // On the plain ports even with TLS: the nodes announce their own ports once they meet, and with
  // tls-cluster those are the TLS ones.
  private void createCluster() {
    List<String> command = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
    nodes.values().forEach(node -> command.add("127.0.0.1:" + node.plainPort));
    command.addAll(List.of("--cluster-replicas", "1", "--cluster-yes"));
    if (!password.isEmpty()) {
      command.addAll(List.of("-a", password, "--no-auth-warning"));
    }
    Path log = dir.resolve("cluster-create.log");
    try {
      Process create = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!create.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        create.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        throw new AssertionError("redis-cli --cluster create did not finish within " + TIMEOUT + ":\n"
            + Files.readString(log, StandardCharsets.UTF_8));
      }
      if (create.exitValue() != 0) {
        throw new AssertionError("redis-cli --cluster create exited with " + create.exitValue() + ":\n"
            + Files.readString(log, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /**
   * {@code redis://[:PASSWORD@]127.0.0.1:PORT} ({@code rediss://} with TLS) for each of the six
   * nodes, running or not, in start order.
   */
  public List<String> seedUrls() {
    String scheme = tls == null ? "redis://" : "rediss://";
    String credentials = password.isEmpty() ? "" : ":" + password + "@";
    return nodes.keySet().stream().map(port -> scheme + credentials + "127.0.0.1:" + port).toList();
  }

  /** The ports of the running masters that serve slots, in ascending order. */
  public List<Integer> masterPorts() {
    return liveView().stream().filter(e -> e.master() && !e.slots().isEmpty()).map(Entry::port).sorted().toList();
  }

  /** The PID of the process serving {@code port}, for measuring it. */
  public long pid(int port) {
    Node node = nodes.get(port);
    if (node == null || node.process == null || !node.process.isAlive()) {
      throw new AssertionError("no running node on port " + port);
    }
    return node.process.pid();
  }

  /** The port of the running replica of the master on {@code masterPort}. */
  public int replicaOf(int masterPort) {
    List<Entry> view = liveView();
    String masterId = byPort(view, masterPort).id();
    return view.stream().filter(e -> masterId.equals(e.masterId())).map(Entry::port).findFirst()
        .orElseThrow(() -> new AssertionError("port " + masterPort + " has no running replica:\n" + describe()));
  }

  /** The port of the master that owns {@code slot}. */
  public int masterOfSlot(int slot) {
    return liveView().stream().filter(e -> e.master() && e.owns(slot)).map(Entry::port).findFirst()
        .orElseThrow(() -> new AssertionError("no running master owns slot " + slot + ":\n" + describe()));
  }

  /**
   * The slot Redis Cluster hashes {@code key} to (the backplane's own {@link HashSlot}, which
   * the fixture's test checks against {@code CLUSTER KEYSLOT}).
   */
  public static int slot(String key) {
    return HashSlot.of(key);
  }

  /**
   * {@code args} on the node at {@code port}, without following redirections: a {@code String}
   * (simple and bulk strings, integers in decimal), {@code null}, a {@code List<Object>} of such
   * replies, or for an error a {@code String} starting with "-" (so "-MOVED 1234 127.0.0.1:PORT").
   */
  public Object command(int port, String... args) {
    return clientPort(Resp.call(plainPort(port), password, args));
  }

  /**
   * {@code CLUSTER FAILOVER} on the replica of {@code masterPort}; returns, with the replica's
   * port, once it is the master, the old master replicates it, and the cluster has settled.
   */
  public int failover(int masterPort) {
    int replica = replicaOf(masterPort);
    requireOk(replica, "CLUSTER", "FAILOVER");
    await(() -> {
      List<Entry> view = view(replica);
      if (!byPort(view, replica).master()) {
        return "port " + replica + " is not a master yet";
      }
      if (!byPort(view, replica).id().equals(byPort(view, masterPort).masterId())) {
        return "port " + masterPort + " does not replicate port " + replica + " yet";
      }
      return unsettled();
    }, "port " + replica + " to take over from port " + masterPort);
    return replica;
  }

  /**
   * SIGKILLs the master on {@code masterPort}; returns, with its replica's port, once the replica
   * serves the dead master's slots and the running nodes have settled.
   */
  public int killMaster(int masterPort) {
    return killMaster(masterPort, 0);
  }

  /**
   * The same, with the replica cut off for {@code lagMillis} before the kill: frozen (SIGSTOP),
   * its replication link closed by the master, and thawed right after the kill. So it misses
   * what the master wrote meanwhile, yet is the one elected. (Frozen alone, it would miss
   * nothing: the kernel keeps receiving the replication stream into its socket.)
   */
  public int killMasterWithLaggingReplica(int masterPort, long lagMillis) {
    return killMaster(masterPort, lagMillis);
  }

  private int killMaster(int masterPort, long replicaLagMillis) {
    int replica = replicaOf(masterPort);
    List<Entry> before = liveView();
    List<String> slots = byPort(before, masterPort).slots();
    Node node = nodes.get(masterPort);
    Process replicaProcess = nodes.get(replica).process;
    if (replicaLagMillis > 0) {
      Signals.send(replicaProcess, "STOP");
      Object cut = command(masterPort, "CLIENT", "KILL", "TYPE", "replica");
      if (!"1".equals(cut)) {
        Signals.send(replicaProcess, "CONT");
        throw new AssertionError("CLIENT KILL TYPE replica on port " + masterPort + " answered " + cut);
      }
      try {
        Thread.sleep(replicaLagMillis);
      } catch (InterruptedException e) {
        Signals.send(replicaProcess, "CONT");
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    node.process.destroyForcibly();
    try {
      if (!node.process.waitFor(5, TimeUnit.SECONDS)) {
        throw new AssertionError("port " + masterPort + " survived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    } finally {
      if (replicaLagMillis > 0) {
        Signals.send(replicaProcess, "CONT");
      }
    }
    await(() -> {
      Entry promoted = byPort(view(replica), replica);
      if (!promoted.master() || !promoted.slots().equals(slots)) {
        return "port " + replica + " does not serve slots " + slots + " yet";
      }
      return unsettled();
    }, "port " + replica + " to replace the killed master " + masterPort);
    return replica;
  }

  /**
   * Starts the stopped node on {@code port} again, with its old node ID; returns once it has
   * rejoined (a former master whose slots were taken over comes back as a replica) and the
   * cluster has settled.
   */
  public void restart(int port) {
    Node node = nodes.get(port);
    if (node == null || node.process.isAlive()) {
      throw new IllegalStateException("port " + port + " is not a stopped node of this cluster");
    }
    launch(node);
    await(this::unsettled, "port " + port + " to rejoin the cluster");
  }

  /**
   * Freezes the node on {@code port} (SIGSTOP) until the returned handle is closed, which thaws
   * it (SIGCONT) and returns once the cluster has settled again: the others may have marked it
   * failing meanwhile.
   */
  public AutoCloseable pause(int port) {
    Node node = nodes.get(port);
    if (node == null || !node.process.isAlive()) {
      throw new IllegalStateException("port " + port + " is not a running node of this cluster");
    }
    Signals.send(node.process, "STOP");
    return () -> {
      Signals.send(node.process, "CONT");
      await(this::unsettled, "port " + port + " to be seen running again");
    };
  }

  /**
   * Moves {@code slot}, and the keys in it, to the master on {@code toMasterPort} the way
   * {@code redis-cli --cluster reshard} does; returns once every node names the new owner.
   */
  public void migrateSlot(int slot, int toMasterPort) {
    int source = masterOfSlot(slot);
    if (source == toMasterPort) {
      return;
    }
    String sourceId = myId(source);
    String targetId = myId(toMasterPort);
    String slotArg = Integer.toString(slot);
    // Importing first: a client sent on by the source with ASK must find the target accepting.
    requireOk(toMasterPort, "CLUSTER", "SETSLOT", slotArg, "IMPORTING", sourceId);
    requireOk(source, "CLUSTER", "SETSLOT", slotArg, "MIGRATING", targetId);
    while (true) {
      List<Object> keys = Resp.list(command(source, "CLUSTER", "GETKEYSINSLOT", slotArg, "100"));
      if (keys.isEmpty()) {
        break;
      }
      // The client port: with tls-cluster MIGRATE speaks TLS; to a plain port it fails only after
      // its timeout, the source blocked meanwhile.
      List<String> migrate = new ArrayList<>(List.of("MIGRATE", "127.0.0.1", Integer.toString(toMasterPort), "", "0",
          "5000"));
      if (!password.isEmpty()) {
        migrate.addAll(List.of("AUTH", password));
      }
      migrate.add("KEYS");
      keys.forEach(key -> migrate.add((String) key));
      requireOk(source, migrate.toArray(String[]::new));
    }
    // The target first, so that it owns the slot before the source stops answering for it.
    requireOk(toMasterPort, "CLUSTER", "SETSLOT", slotArg, "NODE", targetId);
    requireOk(source, "CLUSTER", "SETSLOT", slotArg, "NODE", targetId);
    for (int master : masterPorts()) {
      if (master != source && master != toMasterPort) {
        requireOk(master, "CLUSTER", "SETSLOT", slotArg, "NODE", targetId);
      }
    }
    await(() -> {
      for (int port : livePorts()) {
        if (!byPort(view(port), toMasterPort).owns(slot)) {
          return "port " + port + " does not name port " + toMasterPort + " as the owner of slot " + slot + " yet";
        }
      }
      return unsettled();
    }, "every node to name port " + toMasterPort + " as the owner of slot " + slot);
  }

  @Override
  public synchronized void close() {
    if (!java.nio.file.Files.exists(dir)) {
      return; // closed already
    }
    List<Process> running = nodes.values().stream().map(node -> node.process)
        .filter(Objects::nonNull).filter(Process::isAlive).toList();
    running.forEach(Process::destroy);
    for (Process process : running) {
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    deleteRecursively(dir);
  }

  /**
   * What keeps the cluster from being settled, or {@code null} once it is: every running node
   * reports {@code cluster_state:ok} with all slots served, sees every other running node
   * connected and not failing, describes the running nodes (roles, replication, slots) exactly as
   * the others do, with no slot half migrated; three masters share all slots; every replica's own
   * INFO says it is in sync with its master; with all six nodes running, each master has one.
   */
  private String unsettled() {
    List<Integer> live = livePorts();
    String reference = null;
    int referencePort = 0;
    List<Entry> view = null;
    for (int port : live) {
      Object info = tryCall(port, "CLUSTER", "INFO");
      if (!(info instanceof String text) || !text.contains("cluster_state:ok")
          || !text.contains("cluster_slots_ok:" + SLOTS)) {
        return "port " + port + " is not ok: " + info;
      }
      view = view(port);
      for (int other : live) {
        if (view.stream().noneMatch(e -> e.port() == other)) {
          return "port " + port + " does not know port " + other;
        }
      }
      List<Entry> liveEntries = view.stream().filter(e -> live.contains(e.port())).toList();
      for (Entry e : liveEntries) {
        if (!e.openSlots().isEmpty()) {
          return "port " + port + " has open slots " + e.openSlots();
        }
        if (!e.flags().contains("myself") && (!e.connected()
            || Stream.of("fail", "fail?", "handshake", "noaddr").anyMatch(e.flags()::contains))) {
          return "port " + port + " sees port " + e.port() + " as " + e.flags() + (e.connected() ? "" : ", disconnected");
        }
      }
      String normalized = normalize(view, live);
      if (reference == null) {
        reference = normalized;
        referencePort = port;
      } else if (!reference.equals(normalized)) {
        return "port " + referencePort + " sees " + reference + " but port " + port + " sees " + normalized;
      }
    }
    List<Entry> masters = view.stream().filter(e -> live.contains(e.port()) && e.master()).toList();
    if (masters.size() != MASTERS || masters.stream().mapToInt(Entry::slotCount).sum() != SLOTS) {
      return "running masters " + masters.stream().map(e -> e.port() + " " + e.slots()).toList()
          + " are not three serving all " + SLOTS + " slots";
    }
    for (Entry replica : view.stream().filter(e -> live.contains(e.port()) && !e.master()).toList()) {
      int masterPort = byId(view, replica.masterId()).port();
      // With TLS replication a replica names its master's TLS port, its client port.
      Object info = tryCall(replica.port(), "INFO", "replication");
      if (!(info instanceof String text) || !text.contains("role:slave") || !text.contains("master_port:" + masterPort + "\r\n")
          || !text.contains("master_link_status:up")) {
        return "port " + replica.port() + " is not in sync with port " + masterPort + ": " + info;
      }
    }
    if (live.size() == nodes.size()) {
      for (Entry master : masters) {
        long replicas = view.stream().filter(e -> master.id().equals(e.masterId())).count();
        if (replicas != 1) {
          return "port " + master.port() + " has " + replicas + " replicas";
        }
      }
    }
    return null;
  }

  // The running nodes as one node sees them, in a form that ignores whose view it is.
  private static String normalize(List<Entry> view, List<Integer> live) {
    return view.stream().filter(e -> live.contains(e.port())).sorted(Comparator.comparingInt(Entry::port))
        .map(e -> e.port() + (e.master() ? " master " + e.slots() : " replica of " + byId(view, e.masterId()).port()))
        .collect(Collectors.joining("; "));
  }

  /** {@code args} on every running node, masters and replicas; an error reply fails. */
  public void commandOnEveryNode(String... args) {
    for (int port : livePorts()) {
      Object reply = command(port, args);
      if (reply instanceof String text && text.startsWith("-")) {
        throw new AssertionError("port " + port + " answered " + text + " to " + String.join(" ", args));
      }
    }
  }

  private List<Integer> livePorts() {
    return nodes.values().stream().filter(node -> node.process.isAlive()).map(node -> node.port).toList();
  }

  // The running nodes, as the first of them sees them: a killed node lingers in the views.
  private List<Entry> liveView() {
    List<Integer> live = livePorts();
    return view(live.get(0)).stream().filter(e -> live.contains(e.port())).toList();
  }

  private List<Entry> view(int port) {
    Object reply = command(port, "CLUSTER", "NODES");
    if (!(reply instanceof String text) || text.startsWith("-")) {
      throw new AssertionError("CLUSTER NODES on port " + port + " answered " + reply);
    }
    return text.lines().filter(line -> !line.isBlank()).map(this::parse).toList();
  }

  // <id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...
  // as read on a plain connection, so with the plain ports.
  private Entry parse(String line) {
    String[] fields = line.trim().split(" ");
    String address = fields[1];
    int port = clientPort(Integer.parseInt(address.substring(address.lastIndexOf(':') + 1, address.indexOf('@'))));
    List<String> slots = new ArrayList<>();
    List<String> open = new ArrayList<>();
    for (int i = 8; i < fields.length; i++) {
      (fields[i].startsWith("[") ? open : slots).add(fields[i]);
    }
    return new Entry(fields[0], port, Set.of(fields[2].split(",")), fields[3], "connected".equals(fields[7]),
        List.copyOf(slots), List.copyOf(open));
  }

  private static Entry byPort(List<Entry> view, int port) {
    return view.stream().filter(e -> e.port() == port).findFirst()
        .orElseThrow(() -> new AssertionError("no node on port " + port + " in " + view));
  }

  private static Entry byId(List<Entry> view, String id) {
    return view.stream().filter(e -> e.id().equals(id)).findFirst()
        .orElseThrow(() -> new AssertionError("no node " + id + " in " + view));
  }

  private String myId(int port) {
    return (String) command(port, "CLUSTER", "MYID");
  }

  private Object tryCall(int port, String... args) {
    return Resp.tryCall(plainPort(port), password, args);
  }

  private int plainPort(int port) {
    Node node = nodes.get(port);
    return node == null ? port : node.plainPort;
  }

  private int clientPort(int plainPort) {
    return clientPorts.getOrDefault(plainPort, plainPort);
  }

  // A redirection read on a plain connection names the plain port.
  private Object clientPort(Object reply) {
    if (reply instanceof String error && (error.startsWith("-MOVED ") || error.startsWith("-ASK "))) {
      int colon = error.lastIndexOf(':');
      return error.substring(0, colon + 1) + clientPort(Integer.parseInt(error.substring(colon + 1)));
    }
    return reply;
  }

  private void requireOk(int port, String... args) {
    Object reply = command(port, args);
    if (!"OK".equals(reply)) {
      throw new AssertionError(String.join(" ", args) + " on port " + port + " answered " + reply + "\n" + describe());
    }
  }

  // Waits until problem returns null; a node that does not answer yet counts as a problem.
  private void await(Supplier<String> problem, String what) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    String last;
    while (true) {
      try {
        last = problem.get();
      } catch (AssertionError e) {
        last = e.getMessage();
      }
      if (last == null) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + TIMEOUT.toSeconds() + " s waiting for " + what + ": " + last
            + "\n" + describe());
      }
      Wait.sleep(100);
    }
  }

  // CLUSTER INFO (its state lines) and CLUSTER NODES of every running node, for failure messages.
  private String describe() {
    StringBuilder out = new StringBuilder();
    for (int port : livePorts()) {
      Object info = tryCall(port, "CLUSTER", "INFO");
      Object view = tryCall(port, "CLUSTER", "NODES");
      out.append("--- port ").append(port).append(": ");
      if (info instanceof String text) {
        out.append(text.lines().filter(l -> l.startsWith("cluster_state") || l.startsWith("cluster_slots")
            || l.startsWith("cluster_current_epoch")).collect(Collectors.joining(" ")));
      } else {
        out.append(info);
      }
      out.append('\n').append(view).append('\n');
    }
    return out.toString();
  }

  private void launch(Node node) {
    List<String> command = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(node.plainPort),
        "--cluster-port", Integer.toString(node.busPort), "--bind", "127.0.0.1",
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
        // A replica may always take over, however long it was cut off, and stays with its master:
        // the tests decide the topology, not Redis' heuristics.
        "--cluster-replica-validity-factor", "0", "--cluster-allow-replica-migration", "no",
        // Full syncs start at once rather than after the default 5 s wait for more replicas.
        "--repl-diskless-sync-delay", "0",
        // As the shipped Redis: a resumable session's first buffered event then costs 512 B, not 4 KiB.
        "--stream-node-max-bytes", "512",
        "--save", "", "--appendonly", "no", "--dir", node.dir.toString()));
    if (!password.isEmpty()) {
      command.addAll(List.of("--requirepass", password, "--masterauth", password));
    }
    if (tls != null) {
      command.addAll(tls.serverArgs(node.port));
      command.addAll(List.of("--tls-cluster", "yes"));
    }
    try {
      node.process = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(node.dir.resolve("redis.log").toFile())).start();
    } catch (IOException e) {
      throw new AssertionError("cannot start " + command, e);
    }
  }

  private static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      throw new AssertionError("cannot delete " + root, e);
    }
  }
}
