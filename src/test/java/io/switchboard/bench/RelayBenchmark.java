package io.switchboard.bench;

import io.switchboard.support.ClusterFixture;
import io.switchboard.support.FreePorts;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Relay benchmark of a Switchboard node: latency, throughput, CPU per relayed message and memory
 * per idle connection, measured against the real fat jar running as its own OS process.
 *
 * <p>Not a JUnit test (surefire does not pick it up); run it after packaging:
 * <pre>
 *   mvn -q -DskipTests package
 *   java -cp target/switchboard.jar:target/test-classes io.switchboard.bench.RelayBenchmark \
 *       [--pairs 500] [--rate 10] [--seconds 30] [--warmup 10] [--idle 5000] [--payload 400] \
 *       [--jar target/switchboard.jar] [--server-jvm-opts "..."] \
 *       [--nodes 1] [--redis-server redis-server] [--floor | --node-relay] [--setup N | --saturate]
 * </pre>
 *
 * <p>The floor ({@code --floor}): the same run against {@link FloorRelay}, a bare relay on Netty's
 * own HTTP and WebSocket codecs with one event loop, started as {@code java OPTS -cp
 * TEST-CLASSES:JAR io.switchboard.bench.FloorRelay} with the same JVM options, PORT/HOST and
 * readiness check, so that Switchboard's cost above the transport can be read off one sitting.
 * It combines with the load mode, {@code --setup} and {@code --saturate} (one node, no resume).
 *
 * <p>The Node.js peer ({@code --node-relay}): the same run against {@code src/test/node-relay/relay.js},
 * a minimal relay on the {@code ws} npm package and Node's {@code http} module in one process (one
 * event loop), speaking exactly FloorRelay's subset of the protocol; it finds the target with
 * {@code JSON.parse}, as a tutorial server does. It is started as {@code node relay.js} in that
 * directory with the same PORT/HOST and readiness check, and measured from /proc like the others,
 * so that Switchboard and the Node peer servers compare in one harness and one sitting. When its
 * {@code node_modules} is missing (or holds another {@code ws} than the pinned one) the benchmark
 * first runs {@code npm ci --no-audit --no-fund} there (at most {@value #NPM_CI_SECONDS} s); it
 * needs {@code node} and {@code npm} on PATH and is run from the project's root. The JVM-only
 * probes (full GC and heap in use through {@code jcmd}, {@code --histo}) do not apply: the report
 * says "n/a (not a JVM)", and the RSS figures are taken without a forced GC; the JVM options are
 * ignored. Same constraints as {@code --floor}, and not together with it.
 *
 * <p>The PeerJS peer ({@code --peerjs}): the same, against {@code src/test/peerjs-server/server.js},
 * the {@code peer} npm package's own server (what PeerJS clients connect to), with its limits on
 * sockets and heartbeats raised. Its protocol has no rooms: each client connects to
 * {@code /peerjs?key=peerjs&id=ID&token=T} with an id of its own, is set up when it gets
 * {@code OPEN}, and sends {@code {"type":"OFFER"|"CANDIDATE","dst":ID,"payload":{...}}}; the
 * benchmark's fields travel in {@code payload}, checked byte for byte as {@code data} is
 * elsewhere. Same constraints as {@code --node-relay}.
 *
 * <p>peer-data over Socket.IO ({@code --socket-io}): the clients speak the protocol of peer-data's
 * {@code SocketChannel} to {@code /socket.io/?EIO=3&transport=websocket}, as socket.io-client 2
 * does when told to use only WebSockets: after Engine.IO's open packet and the server's {@code 40},
 * each emits {@code 42["message",{"type":"CONNECT",...,"room":{"id":ROOM}}]} and is set up when
 * the server echoes it in a {@code log} event, which names its own id; the first of a pair learns
 * the second's from the CONNECT the room hears. Relays are {@code OFFER} and {@code CANDIDATE}
 * events with {@code callee} and {@code payload}. Against Switchboard's Socket.IO dialect, or, with
 * {@code --peer-data-server}, against {@code src/test/peer-data-server/server.js}: the
 * {@code peer-data-server} package (Socket.IO 2) that peer-data's docs set up, with its heartbeat
 * raised as Switchboard's is (it echoes every message to its sender, as peer-data clients
 * expect). One node, without {@code --resume}.
 *
 * <p>The tutorial's login protocol ({@code --direct}): each client connects to {@code /direct},
 * logs in with a name of its own ({@code {"type":"login","name":N}}), is set up when it gets
 * {@code {"type":"login","success":true}}, and sends {@code offer} and {@code candidate} messages
 * to its partner's name, the benchmark's fields in {@code offer} or {@code candidate}. Against
 * Switchboard's {@code /direct} dialect, or, with {@code --tutorial-server}, against
 * {@code src/test/tutorial-server/server.js}: that protocol's server built the way the tutorial
 * builds its own (the {@code ws} package, a map of names, a log line for each message). One node,
 * without {@code --resume}.
 *
 * <p>Connection set-up ({@code --setup [N]}, N = 18,000 by default) replaces the load and idle
 * phases: on a fresh server,
 * its start-up CPU and VmRSS, then a full GC and the heap in use; N idle connections joined in
 * rooms of {@code --idle-room-size}, {@code --concurrency} handshakes in flight, in batches of
 * 5,000 (batch 1 is cold, batch 3 warm). Per batch, server CPU per connection (handshake, welcome
 * and join reply) and the time from the start of the TCP connect to the {@code joined} reply,
 * p50/p99/max; for all N, CPU per connection, connect p99, RSS growth without a GC (what a pod
 * limit sees; anonymous and file-backed apart), then a full GC and the live heap growth and RSS;
 * then the server's CPU over {@code --idle-cpu-seconds} (10) with all N open and silent. The
 * peers connect from four loopback addresses in turn ({@link #SOURCE_ADDRESSES}). The client
 * ends live in this process: N must stay under its open-files limit (checked first), and the
 * server gets MAX_CONNECTIONS above N.
 *
 * <p>{@code --pin} runs the load mode or {@code --setup} on the cores {@code --saturate} uses
 * (below): on a 2-core machine, a generator that shares the server's cores is itself late by as
 * much as the tail being measured.
 *
 * <p>Saturation ({@code --saturate}) replaces them too: the server with EVENT_LOOPS=1 under
 * {@code taskset -c 0}, and this JVM pins all its threads to core 1 ({@code taskset -a -p}, so it
 * is launched plainly; {@code --server-cpus} and {@code --generator-cpus} change the CPUs) with
 * {@code --client-loops} (2) client event loops, plus one more for the quiet pairs. On a machine
 * where a generator on one core cannot outrun a server on another, {@code --server-cpu-quota F}
 * gives the server F of a CPU (a cgroup CFS quota with a 10 ms period, as a pod's CPU limit;
 * root only), so that the server is the one to saturate. The total
 * relay rate goes up by {@code --step-rate} per step ({@code --step-warmup} s, then
 * {@code --step-seconds} s measured) until a step has p99 &gt; 10 ms, a loss, an error frame or a
 * close, or {@code --max-rate} is passed; each step prints offered and delivered rate, losses,
 * one-way percentiles, server CPU, and the generator's own CPU and schedule lag (so a reader sees
 * whether the generator was the limit: above 85 % of its core the step is marked GENERATOR BUSY;
 * the first step warms up for at least 5 s, as it also warms up both JITs). Then one step at twice the highest sustained rate with
 * 20 quiet pairs at 1 msg/s alongside: error frames and close codes of the heavy clients, server
 * RSS at its start and end, the quiet pairs' latency and losses, and what shed the load. The
 * server keeps its default per-client limits (rate limit, flood close, write queue); heavy peers
 * send at most 40 msg/s each, pairs being added as the rate needs (at least {@code --pairs}), so
 * the per-client rate limit is not what sheds.
 *
 * <p>Cross-node mode ({@code --nodes N}, N &gt; 1): the benchmark first starts its own
 * {@code redis-server} (from PATH or {@code --redis-server}) on a free loopback port with
 * {@code --save "" --appendonly no}, waits at most 10 s for {@code PING}, then starts N server
 * processes with {@code REDIS_URL=redis://127.0.0.1:PORT}, a fresh {@code REDIS_KEY_PREFIX} and
 * {@code NODE_ID=bench-nK}. The two peers of pair i connect to nodes i mod N and (i+1) mod N, so
 * every relay crosses nodes through a Redis {@code PUBLISH}. The report adds the CPU of each
 * server and their sum per relayed message, and redis-server's CPU per relayed message (its
 * /proc/PID/stat, like the servers'); the latency then includes the Redis hop. The idle
 * connections of the memory phase all go to node 0 (rooms of {@code --idle-room-size} on that
 * node), whose RSS and heap are the ones reported. Redis is stopped by its PID at the end, after
 * the servers.
 *
 * <p>What it does, in order:
 * <ol>
 *   <li>Starts {@code java OPTS -jar JAR} with PORT = a free port on 127.0.0.1, HOST=127.0.0.1,
 *       LOG_LEVEL=WARN and limits (connections, rate limit, idle timeout) set so that they never
 *       interfere; its output goes to {@code bench-server-*.log} next to the jar. Waits at most
 *       30 s for {@code GET /health/ready} = 200. The process is always killed at the end (finally
 *       block and shutdown hook).</li>
 *   <li>Opens {@code --pairs} pairs of peers (one room and two WebSockets per pair) from a Vert.x
 *       with {@code --client-loops} (2) event loops, at most {@code --concurrency} (100) handshakes
 *       in flight.</li>
 *   <li>Open-loop load: every peer sends {@code --rate} messages per second to its partner on a
 *       fixed schedule, start times staggered uniformly over one period; a 1 ms periodic timer per
 *       event loop sends every message whose time has come, never waiting for replies. Messages
 *       alternate {@code signal} / {@code candidate}; {@code data} carries the send
 *       {@code System.nanoTime()}, a sequence number and padding to {@code --payload} bytes.</li>
 *   <li>{@code --warmup} seconds not counted, then {@code --seconds} measured (a message is
 *       measured when its scheduled send time is in the window), then up to 2 s of drain. Lost =
 *       measured messages never received. Server CPU is the utime+stime delta of its
 *       /proc/PID/stat over the window; the benchmark's own CPU and that of every other process
 *       on the machine are shown too (all share the same cores: a busy machine is flagged).</li>
 *   <li>Memory per idle connection, measured after the load phase (the load sockets stay open
 *       and silent): full GC in the server ({@code jcmd PID GC.run}), VmRSS and heap in use;
 *       {@code --idle} more sockets joined in rooms of two, 2 s to settle; full GC again, VmRSS
 *       and heap again. RSS growth counts every page touched for the first time (heap the
 *       handshakes' garbage reached included); the heap-in-use growth after GC shows the Java
 *       objects each connection keeps.</li>
 * </ol>
 * Exits 0 after printing the summary; non-zero only when the benchmark could not run (server did
 * not start or died, sockets could not be set up, the open-files limit is too low).
 */
public final class RelayBenchmark {

  /** Where the image's JVM options live (the Dockerfile copies it); read from the working directory. */
  static final Path SHIPPED_JVM_OPTIONS = Path.of("src", "main", "jvm", "jvm.options");
  /**
   * Options of jvm.options that a JDK before 24 does not know (compact headers; the trim is 22+):
   * a server on an older JDK starts without them, with a warning.
   */
  private static final List<String> NEEDS_JAVA_24 = List.of("-XX:+UseCompactObjectHeaders",
      "-XX:TrimNativeHeapInterval=1000");
  /**
   * The memory limit of a pod (k8s/base, docker-compose.yml), in MiB: the JVM sizes its heap as
   * a share of it, and so the collector's card tables, which for a heap sized from this machine's
   * RAM (12 GiB of 24) would add about 23 MiB of RSS that no pod has.
   */
  public static final int POD_MEMORY_LIMIT_MIB = 512;

  /**
   * The server's default JVM options: the shipped ones ({@link #SHIPPED_JVM_OPTIONS}), so that
   * what is measured is what the image runs; run the benchmark itself on the image's Java (25)
   * to measure its runtime too, since the servers run on the benchmark's own JDK.
   */
  static String shippedServerJvmOpts() {
    List<String> options;
    try {
      options = Files.readAllLines(SHIPPED_JVM_OPTIONS).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
    } catch (java.io.IOException e) {
      throw new IllegalStateException("run from the project's root: " + SHIPPED_JVM_OPTIONS + " not readable", e);
    }
    if (Runtime.version().feature() < 24) {
      System.err.println("WARNING: this JDK is " + Runtime.version().feature() + "; the servers run without "
          + NEEDS_JAVA_24 + ", which the image (Java 25) uses");
      options = options.stream().filter(o -> !NEEDS_JAVA_24.contains(o)).toList();
    }
    return String.join(" ", options) + " -XX:MaxRAM=" + POD_MEMORY_LIMIT_MIB + "m";
  }

  static final int DEFAULT_SETUP_CONNECTIONS = 18_000;

  /** A server of the benchmark that runs on Node.js: its directory, script and pinned package. */
  record NodeServer(String option, Path dir, String script, String pinnedPackage, String subject) {}

  /** The Node.js relay of {@code --node-relay}, read from the working directory like {@link #SHIPPED_JVM_OPTIONS}. */
  static final NodeServer NODE_RELAY = new NodeServer("--node-relay", Path.of("src", "test", "node-relay"),
      "relay.js", "ws", "Node.js relay (src/test/node-relay/relay.js: ws, JSON.parse per frame, one event loop)");
  /** The PeerJS server of {@code --peerjs}. */
  static final NodeServer PEERJS = new NodeServer("--peerjs", Path.of("src", "test", "peerjs-server"),
      "server.js", "peer", "PeerJS server (src/test/peerjs-server/server.js: the peer package, one event loop)");
  /** The peer-data signaling server of {@code --peer-data-server}. */
  static final NodeServer PEER_DATA_SERVER = new NodeServer("--peer-data-server", Path.of("src", "test", "peer-data-server"),
      "server.js", "peer-data-server", "peer-data-server (src/test/peer-data-server/server.js: the peer-data-server"
      + " package on Socket.IO 2, one event loop)");
  /** The tutorial's signaling server of {@code --tutorial-server}. */
  static final NodeServer TUTORIAL_SERVER = new NodeServer("--tutorial-server", Path.of("src", "test", "tutorial-server"),
      "server.js", "ws", "the tutorial's server (src/test/tutorial-server/server.js: its login protocol on ws, a log line"
      + " per message, one event loop)");
  /** Longest {@code npm ci} of the Node.js relay's dependencies before the run fails. */
  static final int NPM_CI_SECONDS = 120;

  private static final String USAGE = """
      usage: java -cp target/switchboard.jar:target/test-classes io.switchboard.bench.RelayBenchmark [options]
        --pairs N            pairs of peers under load, one room per pair (default 500)
        --rate N             messages per second sent by each peer to its partner (default 10)
        --seconds N          measured window in seconds (default 30)
        --warmup N           warm-up seconds before the window, not counted (default 10)
        --idle N             extra idle connections for the memory measurement, 0 to skip (default 5000)
        --idle-room-size N   peers per room for the idle connections (default 2)
        --payload N          bytes per relayed frame, 350-60000 (default 400)
        --concurrency N      WebSocket handshakes in flight during set-up (default 100)
        --client-loops N     client event loops carrying the load (default 2; with --pin, one per
                             --generator-cpus CPU: two loops on one core wait for each other's
                             time slice, which showed in the latency tail)
        --drain-ms N         how long to wait for late messages after the window (default 2000)
        --histo N            also print the N classes whose heap footprint grew most per idle
                             connection (jcmd GC.class_histogram; default 0 = off)
        --jar PATH           the server fat jar (default target/switchboard.jar)
        --server-jvm-opts S  JVM options of the server, split on spaces (default: the image's,
                             src/main/jvm/jvm.options, and -XX:MaxRAM=512m, a pod's memory limit,
                             from which the JVM sizes its heap as in the pod; the server runs on
                             this benchmark's JDK, so run it on Java 25 to measure the image's
                             runtime)
        --nodes N            server processes, 1-8 (default 1). N > 1 starts a private redis-server
                             and puts the two peers of every pair on different nodes, so every
                             relay crosses nodes through Redis; the nodes do not shed
                             (SHED_LAG_MS=0, unless BENCH_SERVER_SHED_LAG_MS says otherwise)
        --redis-server PATH  redis-server executable for --nodes > 1 (default redis-server, from PATH)
        --redis-cluster      with --nodes > 1: a Redis Cluster of 3 masters and 3 replicas (local
                             processes; redis-server and redis-cli from PATH) instead of one
                             redis-server, the nodes in REDIS_MODE=cluster; reports each shard's
                             share of the relays and its CPU per relay. Rooms (and, with
                             --resume, sessions) spread over the shards; with --wait-replica, or
                             BENCH_SERVER_REDIS_CLUSTER_LAYOUT=one-slot, every key is in one slot
        --resume             clients open /ws?resume=1: every relay is numbered (n), stored for its
                             recipient before it is sent, and acknowledged after every 16 received
                             (docs/protocol.md, "Resume"); what resume costs per message
        --wait-replica       with --resume and --nodes > 1: a replica of the private redis-server (a
                             Redis Cluster has its own), and the nodes with REDIS_WAIT_REPLICAS=1 (each
                             session write waits for it); reports the replica's CPU per relay too
        --floor              run FloorRelay (a bare Netty relay, one event loop, from the test classes)
                             instead of the server jar, with the same JVM options: the floor to compare
                             with; works with the load mode, --setup and --saturate
        --node-relay         run src/test/node-relay/relay.js (node, the ws package, one process, JSON.parse
                             per frame: the minimal Node.js peer server) instead of the server jar, with the
                             same PORT/HOST and /proc measurements; npm ci there first if its node_modules
                             is missing (needs node and npm on PATH). Heap and GC figures are n/a (not a
                             JVM). Like --floor (and not with it): load mode, --setup and --saturate
        --peerjs             run src/test/peerjs-server/server.js (the peer npm package's server, which
                             PeerJS clients use) the same way: no rooms, clients speak its protocol
                             (OPEN, OFFER/CANDIDATE with dst and payload); like --node-relay
        --socket-io          clients speak peer-data's protocol over Socket.IO (Engine.IO 3, WebSocket only,
                             as socket.io-client 2 with transports ['websocket']) to /socket.io/: CONNECT
                             joins, OFFER/CANDIDATE with callee and payload; one node, without --resume
        --peer-data-server   run src/test/peer-data-server/server.js (peer-data-server, the Socket.IO 2
                             server peer-data's docs give) the same way as --node-relay, with --socket-io
        --direct             clients speak the WebRTC tutorial's login protocol to /direct: login with a
                             name of their own, offer/candidate to a name; one node, without --resume
        --tutorial-server    run src/test/tutorial-server/server.js (that protocol's server as the tutorial
                             builds it: ws, a log line per message) the same way, with --direct
        --setup [N]          instead of the load: N idle connections (rooms of --idle-room-size) opened
                             on a fresh server in batches of 5000, --concurrency handshakes in flight;
                             CPU and connect->joined latency per batch (batch 1 cold, batch 3 warm),
                             RSS growth without GC, live heap growth after a full GC, then the server's
                             CPU over --idle-cpu-seconds with all N open and silent. N defaults to 18000,
                             which fits an open-files limit of 20000 (the client ends are in this process)
        --idle-cpu-seconds N how long --setup measures idle CPU (default 10; CPU is counted in 10 ms ticks,
                             so a longer window tells fractions of a percent apart)
        --saturate           instead of the load: the highest relay rate one server event loop sustains.
                             Server with EVENT_LOOPS=1 under taskset -c --server-cpus; the benchmark
                             pins itself (all its threads) to --generator-cpus with taskset -a -p, so
                             launch it plainly.
                             Steps of --step-rate msg/s up to --max-rate, each --step-warmup s (the
                             first at least 5 s) plus --step-seconds s measured, until p99 > 10 ms or a
                             loss; a step where this JVM used > 85 % of its core is marked GENERATOR
                             BUSY (its limit, perhaps not the server's). Then one step at
                             --overload-factor times the best rate, with 20 quiet pairs at
                             1 msg/s alongside. The server keeps its default per-client limits
                             and SHED_LAG_MS; heavy peers send at most 40 msg/s each (pairs are
                             added as needed, at least --pairs) and stop sending to a partner
                             that left
        --pin                the load mode or --setup, one node: the server with EVENT_LOOPS=1 under
                             taskset -c --server-cpus and this JVM on --generator-cpus, as --saturate
                             does, so that neither waits for the other's core
        --step-rate N        --saturate: first step and increment, msg/s in total (default 5000)
        --max-rate N         --saturate: highest step (default 200000)
        --overload-factor N  --saturate: the overload step offers N times the best step's rate, 2-8
                             (default 2)
        --step-warmup N      --saturate: warm-up seconds of each step (default 2)
        --step-seconds N     --saturate: measured seconds of each step (default 5)
        --server-cpus LIST   --saturate, --pin: CPUs of the server, as taskset -c takes them (default 0)
        --server-cpu-quota F --saturate: limit the server to F of one CPU (0.05-1) with a cgroup CFS
                             quota (10 ms period, as a pod's CPU limit), so that it saturates before a
                             generator on a whole core does; needs root (default: no limit)
        --generator-cpus L   --saturate, --pin: CPUs of this JVM (default 1); on a bigger machine give the
                             generator more CPUs than the server's one, with --client-loops to match
      """;

  /** Command-line options. */
  static final class Options {
    int pairs = 500;
    int rate = 10;
    int seconds = 30;
    int warmup = 10;
    int idle = 5000;
    int idleRoomSize = 2;
    int payload = 400;
    int concurrency = 100;
    int drainMs = 2000;
    int histo = 0;
    String jar = "target/switchboard.jar";
    /** Null until given, then the image's options ({@link #shippedServerJvmOpts}). */
    String serverJvmOpts;
    int nodes = 1;
    boolean resume;
    boolean redisCluster;
    boolean waitReplica;
    boolean floor;
    boolean nodeRelay;
    boolean peerjs;
    boolean socketIo;
    boolean peerDataServer;
    boolean direct;
    boolean tutorialServer;
    int setup;
    int idleCpuSeconds = 10;
    boolean saturate;
    boolean pin;
    int stepRate = 5_000;
    int maxRate = 200_000;
    int overloadFactor = 2;
    int stepWarmup = 2;
    int stepSeconds = 5;
    /** 0 until given: then 2, or with --pin one per generator CPU ({@link #clientLoops()}). */
    int clientLoops;
    String serverCpus = "0";
    /** Fraction of one CPU the server may use under --saturate; 0 for no limit. */
    double serverCpuQuota;
    String generatorCpus = "1";
    String redisServer = "redis-server";
    boolean help;

    /** What the clients speak. */
    BenchLoop.Protocol protocol() {
      return peerjs ? BenchLoop.Protocol.PEERJS : socketIo ? BenchLoop.Protocol.SOCKET_IO
          : direct ? BenchLoop.Protocol.DIRECT : BenchLoop.Protocol.NATIVE;
    }

    /** The server on --server-cpus with one event loop, this JVM on --generator-cpus. */
    boolean pinned() {
      return saturate || pin;
    }

    int clientLoops() {
      return clientLoops > 0 ? clientLoops : pin ? cpuCount(generatorCpus) : 2;
    }

    // How many CPUs a taskset -c list names: "1" is one, "1-3,5" four.
    static int cpuCount(String cpus) {
      int count = 0;
      for (String part : cpus.split(",")) {
        String[] range = part.split("-");
        count += range.length == 1 ? 1 : Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
      }
      return count;
    }

    // Sets the option that takes no value named 'a'; false when 'a' is no such option.
    private boolean flag(String a) {
      switch (a) {
        case "-h", "--help" -> help = true;
        case "--resume" -> resume = true;
        case "--wait-replica" -> waitReplica = true;
        case "--floor" -> floor = true;
        case "--node-relay" -> nodeRelay = true;
        case "--peerjs" -> peerjs = true;
        case "--socket-io" -> socketIo = true;
        case "--peer-data-server" -> peerDataServer = socketIo = true;
        case "--direct" -> direct = true;
        case "--tutorial-server" -> tutorialServer = direct = true;
        case "--redis-cluster" -> redisCluster = true;
        case "--saturate" -> saturate = true;
        case "--pin" -> pin = true;
        default -> {
          return false;
        }
      }
      return true;
    }

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (o.flag(a)) {
          continue;
        }
        if (a.equals("--setup") && (i + 1 >= args.length || !args[i + 1].matches("\\d+"))) {
          o.setup = DEFAULT_SETUP_CONNECTIONS;
          continue;
        }
        String name;
        String value;
        int eq = a.indexOf('=');
        if (a.startsWith("--") && eq > 0) {
          name = a.substring(2, eq);
          value = a.substring(eq + 1);
        } else if (a.startsWith("--")) {
          name = a.substring(2);
          if (i + 1 >= args.length) {
            throw new IllegalArgumentException("missing value for " + a);
          }
          value = args[++i];
        } else {
          throw new IllegalArgumentException("unexpected argument '" + a + "'");
        }
        switch (name) {
          case "pairs" -> o.pairs = intArg(name, value, 1, 100_000);
          case "rate" -> o.rate = intArg(name, value, 1, 10_000);
          case "seconds" -> o.seconds = intArg(name, value, 1, 3_600);
          case "warmup" -> o.warmup = intArg(name, value, 0, 3_600);
          case "idle" -> o.idle = intArg(name, value, 0, 1_000_000);
          case "idle-room-size" -> o.idleRoomSize = intArg(name, value, 1, 50);
          case "payload" -> o.payload = intArg(name, value, 350, 60_000);
          case "concurrency" -> o.concurrency = intArg(name, value, 1, 10_000);
          case "drain-ms" -> o.drainMs = intArg(name, value, 0, 60_000);
          case "histo" -> o.histo = intArg(name, value, 0, 1000);
          case "jar" -> o.jar = value;
          case "server-jvm-opts" -> o.serverJvmOpts = value;
          case "nodes" -> o.nodes = intArg(name, value, 1, 8);
          case "redis-server" -> o.redisServer = value;
          case "setup" -> o.setup = intArg(name, value, 1, 100_000);
          case "idle-cpu-seconds" -> o.idleCpuSeconds = intArg(name, value, 1, 600);
          case "step-rate" -> o.stepRate = intArg(name, value, 100, 1_000_000);
          case "max-rate" -> o.maxRate = intArg(name, value, 100, 2_000_000);
          case "overload-factor" -> o.overloadFactor = intArg(name, value, 2, 8);
          case "step-warmup" -> o.stepWarmup = intArg(name, value, 0, 60);
          case "step-seconds" -> o.stepSeconds = intArg(name, value, 1, 60);
          case "client-loops" -> o.clientLoops = intArg(name, value, 1, 64);
          case "server-cpus" -> o.serverCpus = cpuList(name, value);
          case "server-cpu-quota" -> o.serverCpuQuota = fraction(name, value, 0.05, 1.0);
          case "generator-cpus" -> o.generatorCpus = cpuList(name, value);
          default -> throw new IllegalArgumentException("unknown option --" + name);
        }
      }
      if (o.setup > 0 && o.saturate) {
        throw new IllegalArgumentException("--setup and --saturate are separate runs");
      }
      if ((o.floor ? 1 : 0) + (o.nodeRelay ? 1 : 0) + (o.peerjs ? 1 : 0) + (o.peerDataServer ? 1 : 0)
          + (o.tutorialServer ? 1 : 0) > 1) {
        throw new IllegalArgumentException("--floor, --node-relay, --peerjs, --peer-data-server and --tutorial-server"
            + " are separate runs");
      }
      if (o.socketIo && o.direct) {
        throw new IllegalArgumentException("--socket-io and --direct are separate runs");
      }
      if ((o.socketIo || o.direct) && (o.floor || o.nodeRelay || o.peerjs)) {
        throw new IllegalArgumentException((o.socketIo ? "--socket-io" : "--direct") + " needs Switchboard or its"
            + " own peer server: the other servers do not speak it");
      }
      if ((o.setup > 0 || o.saturate || o.pin || o.floor || o.nodeRelay || o.peerjs || o.socketIo || o.direct)
          && (o.nodes > 1 || o.resume)) {
        throw new IllegalArgumentException("--setup, --saturate, --pin, --floor, --node-relay, --peerjs, --socket-io and"
            + " --direct run one node without --resume");
      }
      if (o.waitReplica && (o.nodes < 2 || !o.resume)) {
        throw new IllegalArgumentException("--wait-replica needs --resume and --nodes 2 or more");
      }
      if (o.redisCluster && o.nodes < 2) {
        throw new IllegalArgumentException("--redis-cluster needs --nodes 2 or more");
      }
      if (o.serverJvmOpts == null) {
        o.serverJvmOpts = shippedServerJvmOpts();
      }
      return o;
    }

    private static double fraction(String name, String value, double min, double max) {
      double v;
      try {
        v = Double.parseDouble(value.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--" + name + " wants a number, got '" + value + "'");
      }
      if (!(v >= min && v <= max)) {
        throw new IllegalArgumentException("--" + name + " must be in " + min + ".." + max + ", got " + v);
      }
      return v;
    }

    private static String cpuList(String name, String value) {
      if (!value.matches("\\d+([-,]\\d+)*")) {
        throw new IllegalArgumentException("--" + name + " wants a CPU list as taskset -c takes it (0, 1-3, 1,3), got '"
            + value + "'");
      }
      return value;
    }

    private static int intArg(String name, String value, int min, int max) {
      int v;
      try {
        v = Integer.parseInt(value.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--" + name + " wants an integer, got '" + value + "'");
      }
      if (v < min || v > max) {
        throw new IllegalArgumentException("--" + name + " must be in " + min + ".." + max + ", got " + v);
      }
      return v;
    }

    List<String> serverJvmOptList() {
      String s = serverJvmOpts.trim();
      return s.isEmpty() ? List.of() : Arrays.asList(s.split("\\s+"));
    }
  }

  /** Thrown for a failure that ends the run with a clear message (no stack trace). */
  static final class BenchFailure extends Exception {
    BenchFailure(String message) {
      super(message);
    }
  }

  public static void main(String[] args) {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      System.err.print(USAGE);
      System.exit(2);
      return;
    }
    if (o.help) {
      System.out.print(USAGE);
      System.exit(0);
      return;
    }
    int code;
    try {
      code = new RelayBenchmark(o).run();
    } catch (BenchFailure e) {
      System.err.println("BENCHMARK FAILED: " + e.getMessage());
      code = 1;
    } catch (Throwable t) {
      System.err.println("BENCHMARK FAILED: " + t);
      t.printStackTrace();
      code = 1;
    }
    System.out.flush();
    System.err.flush();
    System.exit(code);
  }

  private final Options o;
  private final long t0 = System.nanoTime();
  private final LongAdder sentAdder = new LongAdder();
  private final LongAdder receivedAdder = new LongAdder();
  private final LongAdder measuredSentAdder = new LongAdder();
  private final LongAdder measuredDeliveredAdder = new LongAdder();

  /** Node 0: the only server in the default mode; the one the idle phase measures. */
  private ServerProcess server;
  /** From the first server's start to the last one answering /health/ready. */
  private double readySeconds;
  /** The server's CPU limit under --saturate --server-cpu-quota; removed once it has exited. */
  private CpuQuota serverQuota;
  /** All server processes, node 0 first. */
  private final List<ServerProcess> servers = new ArrayList<>();
  /** The private redis-server of the cross-node mode; null with one node. */
  private RedisProcess redis;
  /** --wait-replica: the replica of {@link #redis}; null otherwise. */
  private RedisProcess replica;
  private long replicaTicksInWindow = -1;
  // With --redis-cluster, instead of 'redis'.
  private ClusterFixture cluster;
  private Shards shards;
  private long redisCommandsInWindow = -1;
  // Command name -> {calls, usec} executed in the measured window (INFO commandstats).
  private Map<String, long[]> redisCommandStatsInWindow = Map.of();
  private Vertx vertx;
  // One per source address (SOURCE_ADDRESSES), chosen by the peer's index.
  private WebSocketClient[] clients;
  private BenchLoop[] loops;
  /** --saturate: the loop of the well-behaved pairs, kept apart so that their numbers are their own. */
  private BenchLoop quietLoop;
  private final List<BenchPeer> quietPeers = new ArrayList<>();
  private final List<BenchPeer> loadPeers = new ArrayList<>();
  private final List<BenchPeer> idlePeers = new ArrayList<>();
  private long clockTicks;
  /** --node-relay, --peerjs: the node executable's absolute path, and "node vX, PACKAGE Y" for the report headers. */
  private String nodeExecutable;
  private String nodeServerRuntime;

  /** The Node.js server this run measures instead of the jar, or null. */
  private NodeServer nodeServer() {
    return o.nodeRelay ? NODE_RELAY : o.peerjs ? PEERJS : o.peerDataServer ? PEER_DATA_SERVER
        : o.tutorialServer ? TUTORIAL_SERVER : null;
  }

  RelayBenchmark(Options o) {
    this.o = o;
  }

  private void log(String msg) {
    System.out.printf(Locale.ROOT, "[bench %6.1fs] %s%n", (System.nanoTime() - t0) / 1e9, msg);
  }

  int run() throws Exception {
    Path jar = Path.of(o.jar);
    if (!Files.isRegularFile(jar)) {
      throw new BenchFailure("server jar not found: " + jar.toAbsolutePath() + " (build it with mvn -DskipTests package)");
    }
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path logDir = jar.toAbsolutePath().getParent();
    if (nodeServer() != null) {
      prepareNodeServer(nodeServer(), logDir, stamp); // bounded on its own, before the run's time budget starts
    }
    startWatchdog();
    int totalConns = plannedConnections();
    long fdNeeded = totalConns + 256L;
    long fdLimit = ServerProcess.openFilesLimit("self");
    if (fdLimit >= 0 && fdLimit < fdNeeded) {
      throw new BenchFailure("the open-files limit (ulimit -n) is " + fdLimit + " but this run needs about "
          + fdNeeded + " file descriptors in the benchmark and as many in the server (" + totalConns
          + " sockets): raise it (ulimit -n " + Math.max(fdNeeded, 20_000) + ") or lower --pairs/--idle");
    }
    int[] ports = FreePorts.ephemeralRange();
    if (ports != null && totalConns + 500 > ports[1] - ports[0] + 1) {
      throw new BenchFailure("this run opens " + totalConns + " sockets from 127.0.0.1 to one port, but the ephemeral"
          + " port range (/proc/sys/net/ipv4/ip_local_port_range) has only " + (ports[1] - ports[0] + 1)
          + " ports: lower --pairs/--idle");
    }
    clockTicks = ServerProcess.clockTicksPerSecond();
    if (o.pinned()) {
      pinSelf(o.generatorCpus);
    }

    if (o.redisCluster) {
      cluster = ClusterFixture.start();
      ClusterFixture c = cluster;
      Runtime.getRuntime().addShutdownHook(new Thread(c::close, "bench-kill-cluster"));
      log("Redis Cluster: masters " + cluster.masterPorts() + ", seeds " + cluster.seedUrls());
    } else if (o.nodes > 1) {
      int redisPort = FreePorts.next();
      Path redisLog = logDir.resolve("bench-redis-" + stamp + ".log");
      try {
        redis = RedisProcess.start(o.redisServer, redisPort, redisLog);
      } catch (java.io.IOException e) {
        throw new BenchFailure("--nodes " + o.nodes + " needs redis-server: could not start '" + o.redisServer + "': "
            + e.getMessage());
      }
      RedisProcess r = redis;
      Runtime.getRuntime().addShutdownHook(new Thread(r::close, "bench-kill-redis"));
      log("redis-server pid " + r.pid + ": " + String.join(" ", r.command) + " (output: " + redisLog + ")");
      if (o.waitReplica) {
        Path replicaLog = logDir.resolve("bench-redis-replica-" + stamp + ".log");
        try {
          replica = RedisProcess.start(o.redisServer, FreePorts.next(), replicaLog,
              List.of("--replicaof", "127.0.0.1", Integer.toString(redisPort)));
        } catch (java.io.IOException e) {
          throw new BenchFailure("--wait-replica: could not start the replica: " + e.getMessage());
        }
        RedisProcess rr = replica;
        Runtime.getRuntime().addShutdownHook(new Thread(rr::close, "bench-kill-redis-replica"));
        log("redis replica pid " + rr.pid + ": " + String.join(" ", rr.command) + " (output: " + replicaLog + ")");
      }
    }
    try {
      return runWithRedis(jar, totalConns, stamp, logDir);
    } finally {
      if (replica != null) {
        replica.close();
        log("redis replica stopped" + (replica.alive() ? " (STILL ALIVE?)" : ", exit code "
            + replica.process.exitValue()));
      }
      if (redis != null) {
        redis.close();
        log("redis-server stopped" + (redis.alive() ? " (STILL ALIVE?)" : ", exit code " + redis.process.exitValue()));
      }
      if (cluster != null) {
        cluster.close();
        log("Redis Cluster stopped");
      }
    }
  }

  /**
   * --node-relay, --peerjs: checks that node runs, and runs {@code npm ci} in the server's directory
   * when its {@code node_modules} lacks the pinned package.
   */
  private void prepareNodeServer(NodeServer ns, Path logDir, String stamp) throws BenchFailure, InterruptedException {
    Path dir = ns.dir().toAbsolutePath();
    if (!Files.isRegularFile(dir.resolve(ns.script())) || !Files.isRegularFile(dir.resolve("package-lock.json"))) {
      throw new BenchFailure(ns.option() + ": " + ns.script() + " and package-lock.json not found in " + dir
          + "; run the benchmark from the project's root");
    }
    String[] node = runTool(List.of("node", "-p", "process.execPath + ' ' + process.version"), dir, 15, null,
        ns.option() + " needs Node.js (node and npm on PATH)").trim().split(" ");
    if (node.length != 2) {
      throw new BenchFailure(ns.option() + ": unexpected answer from node: " + String.join(" ", node));
    }
    nodeExecutable = node[0];
    Path installedJson = dir.resolve("node_modules").resolve(ns.pinnedPackage()).resolve("package.json");
    String pinned = packageVersion(ns, dir.resolve("package.json"), true);
    String installed = packageVersion(ns, installedJson, false);
    if (!pinned.equals(installed)) {
      Path npmLog = logDir.resolve("bench-npm-ci-" + stamp + ".log");
      log(ns.option() + ": " + (installed == null ? "no node_modules" : "node_modules has " + ns.pinnedPackage() + " "
          + installed + ", not the pinned " + pinned) + "; running npm ci --no-audit --no-fund in " + dir
          + " (at most " + NPM_CI_SECONDS + " s, output: " + npmLog + ")");
      runTool(List.of("npm", "ci", "--no-audit", "--no-fund"), dir, NPM_CI_SECONDS, npmLog,
          ns.option() + " needs npm on PATH (and the npm registry) to install the server's dependencies");
      installed = packageVersion(ns, installedJson, false);
      if (!pinned.equals(installed)) {
        throw new BenchFailure(ns.option() + ": after npm ci, node_modules has " + ns.pinnedPackage() + " " + installed
            + ", not " + pinned + "; see " + npmLog);
      }
    }
    nodeServerRuntime = "node " + node[1] + ", " + ns.pinnedPackage() + " " + installed;
    log(ns.option() + ": " + nodeExecutable + " (" + nodeServerRuntime + ")");
  }

  /** The server's package version pinned in a package.json ({@code pinned}) or installed; null if absent. */
  private static String packageVersion(NodeServer ns, Path packageJson, boolean pinned) throws BenchFailure {
    if (!Files.isRegularFile(packageJson)) {
      if (pinned) {
        throw new BenchFailure(ns.option() + ": " + packageJson + " not found");
      }
      return null;
    }
    try {
      io.vertx.core.json.JsonObject j = new io.vertx.core.json.JsonObject(Files.readString(packageJson));
      return pinned ? j.getJsonObject("dependencies").getString(ns.pinnedPackage()) : j.getString("version");
    } catch (java.io.IOException | RuntimeException e) {
      throw new BenchFailure(ns.option() + ": cannot read the " + ns.pinnedPackage() + " version from " + packageJson
          + ": " + e);
    }
  }

  /**
   * Runs {@code cmd} in {@code dir}, at most {@code timeoutS} seconds, its output to {@code logFile}
   * (a temporary file if null); returns the output, or fails with {@code what} and the output's tail.
   */
  private static String runTool(List<String> cmd, Path dir, int timeoutS, Path logFile, String what)
      throws BenchFailure, InterruptedException {
    Path out = logFile;
    try {
      if (out == null) {
        out = Files.createTempFile("bench-tool-", ".txt");
      }
      Process p;
      try {
        p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(out.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      } catch (java.io.IOException e) {
        throw new BenchFailure(what + ": cannot run " + cmd.get(0) + ": " + e.getMessage());
      }
      boolean done = p.waitFor(timeoutS, TimeUnit.SECONDS);
      if (!done) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
      String text = Files.readString(out);
      if (!done || p.exitValue() != 0) {
        String[] lines = text.split("\\R");
        String tail = String.join("\n", Arrays.asList(lines).subList(Math.max(0, lines.length - 15), lines.length));
        throw new BenchFailure(what + ": '" + String.join(" ", cmd) + "' "
            + (done ? "exited with code " + p.exitValue() : "did not finish in " + timeoutS + " s") + ":\n" + tail);
      }
      return text;
    } catch (java.io.IOException e) {
      throw new BenchFailure(what + ": " + e);
    } finally {
      if (logFile == null && out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (java.io.IOException e) {
          // a temporary file left behind
        }
      }
    }
  }

  /** Sockets the run opens at most, all to one server port. */
  private int plannedConnections() {
    if (o.setup > 0) {
      return o.setup;
    }
    if (o.saturate) {
      return 2 * Math.max(o.pairs, heavyPairsFor(o.overloadFactor * o.maxRate)) + 2 * QUIET_PAIRS;
    }
    return 2 * o.pairs + o.idle;
  }

  /** --wait-replica: until the replica answers and has synchronised with the master (at most 10 s). */
  private void awaitReplica() throws BenchFailure, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    if (replica.awaitReady(Duration.ofSeconds(10))) {
      while (System.nanoTime() < deadline) {
        try {
          if (replica.replicating()) {
            log("redis replica in sync with the master");
            return;
          }
        } catch (java.io.IOException e) {
          // not answering yet
        }
        Thread.sleep(50);
      }
    }
    throw new BenchFailure("--wait-replica: the replica did not sync with the master within 10 s; last lines of "
        + replica.log + ":\n" + replica.logTail(20));
  }

  /**
   * Puts every thread of this JVM on the CPUs {@code cpus} ({@code taskset -a -p}); threads
   * started later inherit it. A failure is reported, not fatal: the numbers are then of a shared
   * machine.
   */
  private void pinSelf(String cpus) throws InterruptedException {
    long pid = ProcessHandle.current().pid();
    try {
      Process p = new ProcessBuilder("taskset", "-a", "-p", "-c", cpus, Long.toString(pid))
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        log("WARNING: could not pin the load generator to CPUs " + cpus + ": " + out);
        return;
      }
      log("load generator (pid " + pid + ", all threads) pinned to CPUs " + cpus + " with taskset -a -p");
    } catch (java.io.IOException e) {
      log("WARNING: could not run taskset to pin the load generator: " + e.getMessage());
    }
  }

  private int runWithRedis(Path jar, int totalConns, String stamp, Path logDir) throws Exception {
    if (redis != null && !redis.awaitReady(Duration.ofSeconds(10))) {
      throw new BenchFailure("redis-server " + (redis.alive() ? "did not answer PING within 10 s" : "exited with code "
          + redis.process.exitValue()) + "; last lines of " + redis.log + ":\n" + redis.logTail(20));
    }
    if (replica != null) {
      awaitReplica();
    }
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOST", "127.0.0.1");
    env.put("LOG_LEVEL", "WARN");
    env.put("MAX_CONNECTIONS", Integer.toString(totalConns + 1_000));
    if (!o.saturate) {
      env.put("RATE_LIMIT_PER_SECOND", Integer.toString(Math.max(1_000, o.rate * 10)));
      env.put("RATE_LIMIT_BURST", Integer.toString(Math.max(2_000, o.rate * 20)));
      env.put("FLOOD_CLOSE_AFTER", "1000000");
    }
    if (o.pinned()) {
      env.put("EVENT_LOOPS", "1");
    }
    env.put("IDLE_TIMEOUT_SECONDS", "3600");
    env.put("PING_INTERVAL_SECONDS", "1800");
    env.put("MAX_PEERS_PER_ROOM", Integer.toString(Math.max(50, o.idleRoomSize)));
    if (o.nodes > 1) {
      // Two cold nodes, Redis and the load generator share this machine's cores: when the load
      // starts, a node's loop fell 250 ms behind in 3 of 16 runs and shed a quarter of the pairs,
      // which measures the machine, not the cost per cross-node relay this mode is for.
      env.put("SHED_LAG_MS", "0");
    }
    // BENCH_SERVER_X=v in the benchmark's environment sets X=v for the server (e.g. EVENT_LOOPS).
    System.getenv().forEach((k, v) -> {
      if (k.startsWith("BENCH_SERVER_")) {
        env.put(k.substring("BENCH_SERVER_".length()), v);
      }
    });
    env.put("SHUTDOWN_GRACE_SECONDS", "2");
    // No load balancer to wait for: stop within the 5 s the benchmark gives the server.
    env.put("DRAIN_DELAY_SECONDS", "0");
    if (redis != null) {
      env.put("REDIS_URL", "redis://127.0.0.1:" + redis.port);
      env.put("REDIS_KEY_PREFIX", "bench-" + stamp);
    }
    if (o.waitReplica) {
      env.put("REDIS_WAIT_REPLICAS", "1");
    }
    if (cluster != null) {
      env.put("REDIS_MODE", "cluster");
      env.put("REDIS_URL", String.join(",", cluster.seedUrls()));
      env.put("REDIS_KEY_PREFIX", "bench-" + stamp);
      if (!o.resume) {
        // Nobody resumes: no resume bookkeeping either, unless BENCH_SERVER_RESUME_WINDOW_SECONDS asks.
        env.putIfAbsent("RESUME_WINDOW_SECONDS", "0");
      }
    }

    try {
      for (int k = 0; k < o.nodes; k++) {
        int port = FreePorts.next();
        Map<String, String> nodeEnv = new LinkedHashMap<>();
        nodeEnv.put("PORT", Integer.toString(port));
        nodeEnv.putAll(env);
        if (o.nodes > 1) {
          nodeEnv.put("NODE_ID", "bench-n" + k);
        }
        Path serverLog = logDir.resolve("bench-server-" + stamp + (o.nodes > 1 ? "-n" + k : "") + ".log");
        List<String> launcher = o.pinned() ? List.of("taskset", "-c", o.serverCpus) : List.of();
        ServerProcess s = nodeServer() != null
            ? ServerProcess.startNonJvm(launcher, List.of(nodeExecutable, nodeServer().script()),
                nodeServer().dir().toAbsolutePath(), nodeEnv, serverLog, port)
            : ServerProcess.start(launcher, o.serverJvmOptList(), serverProgram(jar), nodeEnv, serverLog, port);
        servers.add(s);
        Runtime.getRuntime().addShutdownHook(new Thread(s::close, "bench-kill-server-" + k));
        String who = o.nodes > 1 ? "server " + k : "server";
        log(who + " pid " + s.pid + ": " + String.join(" ", s.command));
        log(who + " env: " + nodeEnv + (o.floor ? " (FloorRelay reads only PORT and HOST)"
            : nodeServer() != null ? " (the Node.js server reads only PORT and HOST)" : ""));
        log(who + " output: " + serverLog);
      }
      server = servers.get(0);
      return runAgainstServer(server.port);
    } finally {
      closeClient();
      for (ServerProcess s : servers) {
        s.close();
        log((o.nodes > 1 ? "server " + servers.indexOf(s) : "server") + " stopped"
            + (s.alive() ? " (STILL ALIVE?)" : ", exit code " + s.process.exitValue()));
      }
      if (serverQuota != null) {
        serverQuota.close();
      }
    }
  }

  /** {@code -jar JAR}, or with --floor the FloorRelay from the classes this benchmark runs from. */
  private List<String> serverProgram(Path jar) throws BenchFailure {
    if (!o.floor) {
      return List.of("-jar", jar.toAbsolutePath().toString());
    }
    Path testClasses;
    try {
      testClasses = Path.of(FloorRelay.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException | RuntimeException e) {
      throw new BenchFailure("--floor: cannot tell where FloorRelay.class comes from: " + e);
    }
    return List.of("-cp", testClasses + java.io.File.pathSeparator + jar.toAbsolutePath(), FloorRelay.class.getName());
  }

  private void startWatchdog() {
    long stepS = o.stepWarmup + o.stepSeconds + o.drainMs / 1000 + 5;
    long budgetS = 150L + plannedConnections() / 50 + (o.setup > 0 ? 30
        : o.saturate ? (o.maxRate / o.stepRate + 2) * stepS
        : o.warmup + o.seconds);
    Thread w = new Thread(() -> {
      try {
        Thread.sleep(budgetS * 1000);
        System.err.println("BENCHMARK FAILED: still running after its time budget of " + budgetS + " s; aborting");
        System.exit(3); // the shutdown hook kills the server
      } catch (InterruptedException e) {
        // not reached: daemon thread
      }
    }, "bench-watchdog");
    w.setDaemon(true);
    w.start();
  }

  private int runAgainstServer(int port) throws Exception {
    long readyStart = System.nanoTime();
    for (ServerProcess sp : servers) {
      // As long as Kubernetes' start-up probe allows (k8s/base/deployment.yaml): a node that warms
      // up first (WARMUP_CONNECTIONS) takes seconds to get ready.
      if (!sp.awaitReady(Duration.ofSeconds(60))) {
        String state = sp.alive() ? "is running but /health/ready did not answer 200 within 60 s"
            : "exited with code " + sp.process.exitValue();
        throw new BenchFailure("server pid " + sp.pid + " " + state + "; last lines of " + sp.log + ":\n"
            + sp.logTail(30));
      }
    }
    readySeconds = (System.nanoTime() - readyStart) / 1e9;
    log(String.format(Locale.ROOT, "server ready after %.1f s; open-files limit: bench %d, server %d",
        readySeconds, ServerProcess.openFilesLimit("self"),
        ServerProcess.openFilesLimit(Long.toString(server.pid))));

    startClient(port);
    if (o.setup > 0) {
      return runSetup();
    }
    if (o.saturate) {
      return runSaturate();
    }

    // ---- 1. pairs ----
    long setupStart = System.nanoTime();
    setupPairs(o.pairs, "bench", loops, loadPeers);
    log(String.format(Locale.ROOT, "%d pairs connected and joined in %.1f s", o.pairs, (System.nanoTime() - setupStart) / 1e9));

    // ---- 2. load ----
    LoadResult load = runLoad();

    // ---- 3. Redis memory of sessions in their gap ----
    String gaps = o.resume && redis != null ? probeGaps() : null;

    // ---- 4. idle connections ----
    IdleResult idle = o.idle > 0 ? runIdle() : null;

    // ---- 5. report ----
    Snapshot after = snapshot();
    printSummary(load, idle, after);
    if (gaps != null) {
      System.out.println(gaps);
    }
    if (idle != null && idle.failed > 0) {
      System.err.println("BENCHMARK FAILED: " + idle.failed + " of " + idle.requested
          + " idle connections could not be opened and joined; first: " + idle.firstFailure);
      return 1;
    }
    return 0;
  }

  /** Events each partner sends to a peer in its gap during the probe. */
  private static final int GAP_EVENTS = 10;

  /**
   * What a resumable session in its gap costs Redis: cuts the TCP connection (no close frame) of
   * one peer of half the pairs, then has each one's partner send it {@link #GAP_EVENTS} relays,
   * and reads Redis's used_memory before, after the cut and after the relays.
   */
  private String probeGaps() throws Exception {
    List<BenchPeer> cut = new ArrayList<>();
    for (int i = 1; i < loadPeers.size(); i += 4) {
      cut.add(loadPeers.get(i));
    }
    long before = redis.usedMemory();
    for (BenchPeer p : cut) {
      p.cutByBench = true;
      onLoop(p.loop, () -> ((io.vertx.core.internal.http.WebSocketInternal) p.ws).channelHandlerContext().close());
    }
    Thread.sleep(1500);
    long inGap = redis.usedMemory();
    char[] pad = new char[o.payload];
    Arrays.fill(pad, 'x');
    for (BenchPeer p : cut) {
      BenchPeer partner = p.partner;
      StringBuilder sb = new StringBuilder();
      onLoop(partner.loop, () -> {
        for (int k = 0; k < GAP_EVENTS; k++) {
          long seq = partner.seq++;
          partner.ws.writeTextMessage(partner.message(sb, seq, System.nanoTime(), false, o.payload, pad));
        }
        return null;
      });
    }
    Thread.sleep(1500);
    long buffered = redis.usedMemory();
    int n = cut.size();
    return String.format(Locale.ROOT, "redis memory of sessions in their gap (%d peers cut without a close frame):"
        + " %+.0f bytes per peer on entering the gap; %+.0f bytes per peer with %d relays of %d bytes kept"
        + " for it (%.0f bytes per kept relay)",
        n, (double) (inGap - before) / n, (double) (buffered - before) / n, GAP_EVENTS, o.payload,
        (double) (buffered - inGap) / ((double) n * GAP_EVENTS));
  }

  // ------------------------------------------------------------------------------------------
  // Client side

  private void startClient(int port) throws Exception {
    int contextCount = o.clientLoops() + (o.saturate ? 1 : 0);
    // Native epoll when the jar has it (the server prefers it too): less client CPU on the shared cores.
    vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(contextCount).setPreferNativeTransport(true));
    ConcurrentLinkedQueue<Context> contexts = new ConcurrentLinkedQueue<>();
    vertx.deployVerticle(() -> new VerticleBase() {
      @Override
      public Future<?> start() {
        contexts.add(context);
        return Future.succeededFuture();
      }
    }, new DeploymentOptions().setInstances(contextCount)).toCompletionStage().toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    BenchLoop[] all = new BenchLoop[contextCount];
    int i = 0;
    for (Context c : contexts) {
      CompletableFuture<String> name = new CompletableFuture<>();
      c.runOnContext(v -> name.complete(Thread.currentThread().getName()));
      all[i] = new BenchLoop(i, c, name.get(10, TimeUnit.SECONDS), sentAdder, receivedAdder,
          measuredSentAdder, measuredDeliveredAdder, o.protocol());
      i++;
    }
    loops = Arrays.copyOf(all, o.clientLoops());
    quietLoop = o.saturate ? all[o.clientLoops()] : null;
    List<String> threads = Arrays.stream(all).map(l -> l.threadName).toList();
    if (threads.stream().distinct().count() < threads.size()) {
      log("WARNING: client contexts share event loop threads: " + threads);
    }
    clients = new WebSocketClient[SOURCE_ADDRESSES];
    for (int a = 0; a < SOURCE_ADDRESSES; a++) {
      clients[a] = vertx.createWebSocketClient(new WebSocketClientOptions()
          .setDefaultHost("127.0.0.1")
          .setDefaultPort(port)
          .setLocalAddress("127.0.0." + (a + 1))
          .setMaxConnections(plannedConnections() + 100)
          .setConnectTimeout(10_000));
    }
    log("client: Vert.x with " + o.clientLoops() + " event loops for the load "
        + Arrays.stream(loops).map(l -> l.threadName).toList() + ", "
        + (vertx.isNativeTransportEnabled() ? "native" : "NIO") + " transport"
        + (quietLoop == null ? "" : "; the quiet pairs on a third (" + quietLoop.threadName + ")"));
  }

  /**
   * Loopback addresses the peers connect from, in turn. From one address, the kernel's search for
   * a free source port in connect() grows long once most of its even ports are taken (Linux
   * tries those first): past 10,000 sockets it, not the server, set the connect latency, for
   * every server alike, while the server sat idle.
   */
  private static final int SOURCE_ADDRESSES = 4;

  private CompletableFuture<Void> connectAndJoin(BenchPeer p) {
    p.loop.context.runOnContext(v -> {
      p.connectStartNs = System.nanoTime();
      if (o.peerjs || o.direct) {
        // PeerJS and tutorial clients choose their ids; the partner's is known before either connects.
        p.selfId = "b" + p.index;
        if (p.partner != null) {
          p.learnPartner("b" + p.partner.index);
        }
      }
      if (o.socketIo && p.partner != null && p.partner.selfId != null) {
        // Its partner joined first and will hear of it from the server (CONNECT); with peer-data
        // it would learn the partner's id from the partner's first offer.
        p.learnPartner(p.partner.selfId);
      }
      String uri = o.peerjs ? "/peerjs?key=peerjs&id=" + p.selfId + "&token=t" + p.index
          : o.socketIo ? "/socket.io/?EIO=3&transport=websocket"
          : o.direct ? "/direct"
          : o.resume ? "/ws?resume=1" : "/ws";
      // Handlers before the handshake: a server's first message may come in the same segment as
      // its 101, before a connect's answer would reach this thread.
      ClientWebSocket ws = clients[p.index % SOURCE_ADDRESSES].webSocket();
      p.ws = ws;
      ws.textMessageHandler(p::onText);
      ws.closeHandler(x -> p.loop.onClose(p));
      ws.exceptionHandler(e -> p.loop.onException(p, e));
      ws.connect(new WebSocketConnectOptions()
              .setHost("127.0.0.1").setPort(p.node != null ? p.node.port : server.port)
              .setURI(uri))
          .onComplete(ar -> {
            if (ar.failed()) {
              p.joined.completeExceptionally(ar.cause());
              return;
            }
            // A PeerJS client is set up once it has its OPEN; a Socket.IO client joins once
            // the server has connected it to the main namespace.
            if (o.direct) {
              ws.writeTextMessage(p.directLogin());
            } else if (o.protocol() == BenchLoop.Protocol.NATIVE) {
              ws.writeTextMessage("{\"type\":\"join\",\"room\":\"" + p.room + "\",\"id\":\"join\"}");
            }
          });
    });
    return p.joined;
  }

  /**
   * Adds {@code count} pairs to {@code into}, each in its own room {@code roomPrefix-N}, its two
   * peers on alternate loops of {@code on}.
   */
  private void setupPairs(int count, String roomPrefix, BenchLoop[] on, List<BenchPeer> into) throws Exception {
    Semaphore inFlight = new Semaphore(o.concurrency);
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    AtomicInteger failed = new AtomicInteger();
    List<CompletableFuture<Void>> all = new ArrayList<>();
    int firstNew = into.size();
    int firstPair = firstNew / 2;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60 + count / 20);
    for (int i = firstPair; i < firstPair + count; i++) {
      if (!inFlight.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        throw new BenchFailure("set-up of the pairs timed out after " + (i - firstPair) + " of " + count + " pairs"
            + firstOf(failures));
      }
      if (failed.get() > 0 && failed.get() >= Math.max(10, (i - firstPair) / 10)) {
        break; // the server is refusing; stop hammering it
      }
      requireServerAlive("during set-up");
      BenchPeer a = new BenchPeer(2 * i, on[i % on.length], roomPrefix + "-" + i);
      BenchPeer b = new BenchPeer(2 * i + 1, on[(i + 1) % on.length], roomPrefix + "-" + i);
      a.numbered = o.resume;
      b.numbered = o.resume;
      // Cross-node mode: the two peers of a pair on different nodes (i mod N and i+1 mod N).
      a.node = servers.get(i % servers.size());
      b.node = servers.get((i + 1) % servers.size());
      a.partner = b;
      b.partner = a;
      into.add(a);
      into.add(b);
      CompletableFuture<Void> f = connectAndJoin(a)
          .thenCompose(x -> connectAndJoin(b))
          .thenCompose(x -> CompletableFuture.allOf(a.partnerKnown, b.partnerKnown))
          .orTimeout(20, TimeUnit.SECONDS);
      final int pair = i;
      // Collect the whenComplete stage, so that the counters are final once all have completed.
      all.add(f.whenComplete((x, e) -> {
        inFlight.release();
        if (e != null) {
          failed.incrementAndGet();
          failures.add("pair " + pair + ": " + rootCause(e));
        }
      }));
    }
    try {
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
          .get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      // counted in failures
    } catch (TimeoutException e) {
      throw new BenchFailure("set-up of the pairs did not finish in time" + firstOf(failures));
    }
    if (failed.get() > 0 || all.size() < count) {
      throw new BenchFailure(failed.get() + " of " + all.size() + " pairs could not be set up" + firstOf(failures)
          + problems());
    }
    for (int i = firstNew; i < into.size(); i += 2) {
      BenchPeer a = into.get(i);
      BenchPeer b = into.get(i + 1);
      if (!a.partnerId.equals(b.selfId) || !b.partnerId.equals(a.selfId)) {
        throw new BenchFailure("room " + a.room + ": peer ids do not match: A is " + a.selfId + " and was told B is "
            + a.partnerId + "; B is " + b.selfId + " and was told A is " + a.partnerId);
      }
    }
  }

  private static String firstOf(ConcurrentLinkedQueue<String> failures) {
    StringBuilder sb = new StringBuilder();
    int n = 0;
    for (String f : failures) {
      sb.append(n == 0 ? "; first failures:\n  " : "\n  ").append(f);
      if (++n == 5) {
        break;
      }
    }
    return sb.toString();
  }

  private String problems() {
    StringBuilder sb = new StringBuilder();
    for (BenchLoop l : loops) {
      if (l.firstProblem != null) {
        sb.append("\n  loop ").append(l.index).append(": ").append(l.firstProblem);
      }
    }
    return sb.toString();
  }

  private static String rootCause(Throwable e) {
    Throwable c = e;
    while (c.getCause() != null && c.getCause() != c) {
      c = c.getCause();
    }
    return c instanceof TimeoutException ? "timed out after 20 s" : c.toString();
  }

  /** Runs {@code body} on the loop's event-loop thread and returns its result (bounded wait). */
  private static <T> T onLoop(BenchLoop loop, Supplier<T> body) throws Exception {
    CompletableFuture<T> f = new CompletableFuture<>();
    loop.context.runOnContext(v -> {
      try {
        f.complete(body.get());
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f.get(10, TimeUnit.SECONDS);
  }

  private void closeClient() {
    if (vertx == null) {
      return;
    }
    try {
      if (loops != null) {
        for (BenchLoop l : loops) {
          onLoop(l, () -> l.closingAll = true);
        }
      }
      if (quietLoop != null) {
        onLoop(quietLoop, () -> quietLoop.closingAll = true);
      }
    } catch (Exception e) {
      // closing anyway
    }
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    } catch (Exception e) {
      log("client Vert.x did not close cleanly: " + e);
    }
    vertx = null;
  }

  // ------------------------------------------------------------------------------------------
  // Load phase

  private static Map<String, long[]> commandStatsDelta(Map<String, long[]> before, Map<String, long[]> after) {
    Map<String, long[]> delta = new TreeMap<>();
    after.forEach((command, now) -> {
      long[] then = before.getOrDefault(command, new long[2]);
      if (now[0] > then[0]) {
        delta.put(command, new long[] {now[0] - then[0], now[1] - then[1]});
      }
    });
    return delta;
  }

  record LoadResult(long windowNs, long[] serverTicks, long redisTicks, long benchTicks, long otherTicks, long benchGcs, long benchGcMs,
      Snapshot snap, long drainNs) {}

  private static long[] benchGc() {
    long n = 0;
    long ms = 0;
    for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionCount());
      ms += Math.max(0, gc.getCollectionTime());
    }
    return new long[] {n, ms};
  }

  // The generator's own pauses delay what it receives, so they count in the latency it reports:
  // the collector's name tells a reader whether they were stop-the-world ones (performance.md).
  private static String benchCollectors() {
    return String.join(" + ", java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
        .map(java.lang.management.GarbageCollectorMXBean::getName).toList());
  }

  /** Peers that send at one rate from their own loops; the first group of a run is the one reported. */
  record LoadGroup(BenchLoop[] loops, List<BenchPeer> peers, double ratePerPeer) {}

  private LoadResult runLoad() throws Exception {
    return runLoad(List.of(new LoadGroup(loops, loadPeers, o.rate)), o.warmup, o.seconds);
  }

  private LoadResult runLoad(List<LoadGroup> groups, int warmupS, int seconds) throws Exception {
    long startNs = System.nanoTime() + 300_000_000L;
    long measureStartNs = startNs + TimeUnit.SECONDS.toNanos(warmupS);
    long measureEndNs = measureStartNs + TimeUnit.SECONDS.toNanos(seconds);
    char[] pad = new char[o.payload];
    Arrays.fill(pad, 'x');
    List<BenchLoop> allLoops = new ArrayList<>();
    for (LoadGroup g : groups) {
      int n = g.peers.size();
      double periodNs = 1e9 / g.ratePerPeer;
      for (int k = 0; k < n; k++) {
        BenchPeer p = g.peers.get(k);
        p.prepareMessages();
        p.baseNs = startNs + (long) (k * periodNs / n);
        p.nextSendNs = p.baseNs;
        p.seqBase = p.seq;
      }
      for (BenchLoop l : g.loops) {
        allLoops.add(l);
        List<BenchPeer> mine = g.peers.stream().filter(p -> p.loop == l).toList();
        onLoop(l, () -> {
          l.measureStartNs = measureStartNs;
          l.measureEndNs = measureEndNs;
          l.periodNs = periodNs;
          l.payload = o.payload;
          l.pad = pad;
          l.senders.clear();
          l.senders.addAll(mine);
          l.timerId = vertx.setPeriodic(1, id -> l.tick());
          return null;
        });
      }
      log(String.format(Locale.ROOT, "load: %d peers x %.2f msg/s = %.0f msg/s offered; warm-up %d s, then %d s measured",
          n, g.ratePerPeer, n * g.ratePerPeer, warmupS, seconds));
    }

    long nextProgress = startNs + 5_000_000_000L;
    long[] serverTicks0 = new long[servers.size()];
    long redisTicks0 = 0;
    Map<String, long[]> redisStats0 = Map.of();
    long redisCommands0 = 0;
    long benchTicks0 = 0;
    Map<Long, Long> others0 = Map.of();
    long[] gc0 = {0, 0};
    long wall0 = 0;
    boolean started = false;
    while (true) {
      long target = started ? Math.min(nextProgress, measureEndNs) : Math.min(nextProgress, measureStartNs);
      sleepUntil(target);
      requireServerAlive("during the load");
      long now = System.nanoTime();
      if (!started && now >= measureStartNs) {
        serverTicks0 = serverTicks();
        redisTicks0 = redis == null ? 0 : redis.cpuTicks();
        replicaTicksInWindow = replica == null ? -1 : -replica.cpuTicks();
        redisCommands0 = redis == null ? 0 : redis.commandsProcessed();
        redisStats0 = redis == null ? Map.of() : redis.commandStats();
        shards = cluster == null ? null : Shards.start(cluster);
        benchTicks0 = ServerProcess.selfCpuTicks();
        others0 = ServerProcess.otherProcessTicks(measuredPids());
        gc0 = benchGc();
        wall0 = System.nanoTime();
        started = true;
        log("measured window starts");
      }
      if (started && now >= measureEndNs) {
        break;
      }
      if (now >= nextProgress) {
        log(String.format(Locale.ROOT, "%s: sent %d, received %d", now < measureStartNs ? "warm-up" : "measuring",
            sentAdder.sum(), receivedAdder.sum()));
        nextProgress += 5_000_000_000L;
      }
    }
    long[] serverTicks1 = serverTicks();
    long redisTicks1 = redis == null ? 0 : redis.cpuTicks();
    if (replica != null) {
      replicaTicksInWindow += replica.cpuTicks();
    }
    redisCommandsInWindow = redis == null ? -1 : redis.commandsProcessed() - redisCommands0;
    redisCommandStatsInWindow = redis == null ? Map.of() : commandStatsDelta(redisStats0, redis.commandStats());
    if (shards != null) {
      shards.end();
    }
    long benchTicks1 = ServerProcess.selfCpuTicks();
    long otherTicks = ServerProcess.otherTicksDelta(others0, ServerProcess.otherProcessTicks(measuredPids()));
    long[] gc1 = benchGc();
    long wall1 = System.nanoTime();
    for (BenchLoop l : allLoops) {
      // A last tick first: it sends whatever was scheduled before the end but not yet sent (a late
      // timer), so every measured message is sent; nothing scheduled after the end is.
      onLoop(l, () -> {
        l.tick();
        return vertx.cancelTimer(l.timerId);
      });
    }
    long drainStart = System.nanoTime();
    long drainDeadline = drainStart + TimeUnit.MILLISECONDS.toNanos(o.drainMs);
    while (System.nanoTime() < drainDeadline && measuredDeliveredAdder.sum() < measuredSentAdder.sum()) {
      Thread.sleep(20);
    }
    long drainNs = System.nanoTime() - drainStart;
    Snapshot snap = snapshot(groups.get(0).loops);
    log(String.format(Locale.ROOT, "window over; drained for %.2f s: measured sent %d, delivered %d",
        drainNs / 1e9, snap.sentMeasured, snap.deliveredMeasured));
    long[] serverDelta = new long[servers.size()];
    for (int k = 0; k < serverDelta.length; k++) {
      serverDelta[k] = serverTicks1[k] - serverTicks0[k];
    }
    return new LoadResult(wall1 - wall0, serverDelta, redis == null ? -1 : redisTicks1 - redisTicks0,
        benchTicks1 - benchTicks0,
        otherTicks, gc1[0] - gc0[0], gc1[1] - gc0[1], snap, drainNs);
  }

  private void sleepUntil(long targetNs) throws InterruptedException {
    while (true) {
      long left = targetNs - System.nanoTime();
      if (left <= 0) {
        return;
      }
      if (left > 2_000_000) {
        Thread.sleep(Math.min(1000, (left - 1_000_000) / 1_000_000));
      } else {
        java.util.concurrent.locks.LockSupport.parkNanos(left);
      }
    }
  }

  private void requireServerAlive(String when) throws BenchFailure {
    for (ServerProcess sp : servers) {
      if (!sp.alive()) {
        throw new BenchFailure("server pid " + sp.pid + " died " + when + " (exit code " + sp.process.exitValue()
            + "); last lines of " + sp.log + ":\n" + sp.logTail(30));
      }
    }
    if (redis != null && !redis.alive()) {
      throw new BenchFailure("redis-server pid " + redis.pid + " died " + when + " (exit code "
          + redis.process.exitValue() + "); last lines of " + redis.log + ":\n" + redis.logTail(20));
    }
  }

  private long[] serverTicks() throws java.io.IOException {
    long[] t = new long[servers.size()];
    for (int k = 0; k < t.length; k++) {
      t[k] = servers.get(k).cpuTicks();
    }
    return t;
  }

  /** The processes whose CPU is reported on its own: the servers, redis-server and the benchmark. */
  private long[] measuredPids() {
    List<Long> pids = new ArrayList<>();
    servers.forEach(sp -> pids.add(sp.pid));
    if (redis != null) {
      pids.add(redis.pid);
    }
    if (replica != null) {
      pids.add(replica.pid);
    }
    if (cluster != null) {
      for (String seed : cluster.seedUrls()) {
        pids.add(cluster.pid(Integer.parseInt(seed.substring(seed.lastIndexOf(':') + 1))));
      }
    }
    pids.add(ProcessHandle.current().pid());
    return pids.stream().mapToLong(Long::longValue).toArray();
  }

  /** Everything counted so far, merged over both loops (read on the loops' own threads). */
  static final class Snapshot extends Counters {
    final List<String> problems = new ArrayList<>();
  }

  private Snapshot snapshot() throws Exception {
    return snapshot(loops);
  }

  private static Snapshot snapshot(BenchLoop... of) throws Exception {
    Snapshot s = new Snapshot();
    for (BenchLoop l : of) {
      onLoop(l, () -> {
        s.add(l);
        if (l.firstProblem != null) {
          s.problems.add(l.firstProblem);
        }
        return null;
      });
    }
    return s;
  }

  // ------------------------------------------------------------------------------------------
  // Idle connections

  record IdleResult(int requested, int joined, int failed, String firstFailure, long rssBeforeKiB, long rssAfterKiB,
      long heapBeforeKiB, long heapAfterKiB, double openSeconds, List<String> histo) {}

  private IdleResult runIdle() throws Exception {
    requireServerAlive("before the idle phase");
    log(server.jvm ? "idle phase: full GC in the server, then RSS and heap before"
        : "idle phase: RSS before (no GC: not a JVM)");
    server.fullGc(1500);
    long rssBefore = server.statusKiB("VmRSS");
    long heapBefore = server.heapUsedKiB();
    log(String.format(Locale.ROOT, "before: RSS %.1f MiB, heap in use %s", rssBefore / 1024.0, heap(heapBefore)));
    Map<String, long[]> histoBefore = o.histo > 0 ? server.classHistogram() : Map.of();

    OpenResult opened = openIdle(0, o.idle, null);
    log(String.format(Locale.ROOT, "%d of %d idle connections joined in %.1f s; settling 2 s%s",
        opened.joined, o.idle, opened.seconds, server.jvm ? ", then full GC" : ""));
    Thread.sleep(2000);
    requireServerAlive("during the idle phase");
    server.fullGc(1500);
    long rssAfter = server.statusKiB("VmRSS");
    long heapAfter = server.heapUsedKiB();
    log(String.format(Locale.ROOT, "after: RSS %.1f MiB, heap in use %s", rssAfter / 1024.0, heap(heapAfter)));
    List<String> histo = new ArrayList<>();
    if (o.histo > 0 && opened.joined > 0) {
      Map<String, long[]> histoAfter = server.classHistogram();
      int c = opened.joined;
      histoAfter.entrySet().stream()
          .map(e -> {
            long[] b = histoBefore.getOrDefault(e.getKey(), new long[2]);
            return Map.entry(e.getKey(), new long[] {e.getValue()[0] - b[0], e.getValue()[1] - b[1]});
          })
          .filter(e -> e.getValue()[1] > 0)
          .sorted((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]))
          .limit(o.histo)
          .forEach(e -> histo.add(String.format(Locale.ROOT, "%8.0f B %7.2f objects  %s",
              e.getValue()[1] / (double) c, e.getValue()[0] / (double) c, e.getKey())));
    }
    return new IdleResult(o.idle, opened.joined, o.idle - opened.joined, opened.firstFailure, rssBefore, rssAfter,
        heapBefore, heapAfter, opened.seconds, histo);
  }

  record OpenResult(int joined, String firstFailure, double seconds) {}

  /**
   * Opens idle connections {@code from..to-1}, joined in rooms of --idle-room-size, with
   * --concurrency handshakes in flight. With {@code connectNs}, stores at {@code k - from} the time
   * from the start of connection k's TCP connect to its {@code joined} reply (-1 if it failed).
   */
  private OpenResult openIdle(int from, int to, long[] connectNs) throws Exception {
    Semaphore inFlight = new Semaphore(o.concurrency);
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger joined = new AtomicInteger();
    List<CompletableFuture<Void>> all = new ArrayList<>();
    if (connectNs != null) {
      Arrays.fill(connectNs, -1);
    }
    long openStart = System.nanoTime();
    long deadline = openStart + TimeUnit.SECONDS.toNanos(60 + (to - from) / 100);
    for (int k = from; k < to; k++) {
      if (!inFlight.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        failures.add("timed out opening idle connection " + k);
        break;
      }
      if (failed.get() >= Math.max(10, (k - from) / 10)) {
        inFlight.release();
        break; // the server is refusing; stop hammering it
      }
      BenchPeer p = new BenchPeer(100_000_000 + k, loops[k % loops.length], "idle-" + (k / o.idleRoomSize));
      idlePeers.add(p);
      final int idx = k;
      CompletableFuture<Void> f = connectAndJoin(p).orTimeout(20, TimeUnit.SECONDS);
      all.add(f.whenComplete((x, e) -> {
        long doneNs = System.nanoTime();
        inFlight.release();
        if (e == null) {
          joined.incrementAndGet();
          if (connectNs != null) {
            connectNs[idx - from] = doneNs - p.connectStartNs;
          }
        } else {
          failed.incrementAndGet();
          failures.add("idle connection " + idx + ": " + rootCause(e));
        }
      }));
    }
    try {
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
          .get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // counted below
    }
    return new OpenResult(joined.get(), failures.peek(), (System.nanoTime() - openStart) / 1e9);
  }

  /** What is measured, for the report headers. */
  private String subject() {
    return o.floor ? "FloorRelay (bare Netty relay, one event loop: the floor)"
        : nodeServer() != null ? nodeServer().subject()
        : o.socketIo ? "Switchboard (peer-data over Socket.IO, /socket.io/)"
        : o.direct ? "Switchboard (the tutorial's login protocol, /direct)"
        : "Switchboard";
  }

  /** The server's runtime for the report headers: its JVM options, or node's and its package's versions. */
  private String runtimeText() {
    if (nodeServer() != null) {
      return nodeServerRuntime;
    }
    return "jvm opts " + (o.serverJvmOpts.isBlank() ? "(none)" : o.serverJvmOpts.trim());
  }

  /** A heap figure of the report: in MiB, "n/a" when unknown, "n/a (not a JVM)" for the node relay. */
  private String heap(long kib) {
    return server != null && !server.jvm ? NOT_A_JVM : mib(kib);
  }

  private static final String NOT_A_JVM = "n/a (not a JVM)";

  // ------------------------------------------------------------------------------------------
  // --setup: connection set-up cost on a fresh server

  private static final int SETUP_BATCH = 5_000;

  /** {p50, p99, max} of the non-negative values of {@code ns}; zeros when there are none. */
  private static long[] connectPercentiles(long[] ns) {
    long[] v = Arrays.stream(ns).filter(x -> x >= 0).sorted().toArray();
    if (v.length == 0) {
      return new long[3];
    }
    return new long[] {v[rank(50, v.length)], v[rank(99, v.length)], v[v.length - 1]};
  }

  private static int rank(double pct, int n) {
    return Math.max(0, Math.min(n - 1, (int) Math.ceil(pct / 100.0 * n) - 1));
  }

  private double cpuSeconds(long ticks) {
    return (double) ticks / clockTicks;
  }

  private static long openFiles(String pidOrSelf) {
    try (var fds = Files.list(Path.of("/proc/" + pidOrSelf + "/fd"))) {
      return fds.count();
    } catch (java.io.IOException | RuntimeException e) {
      return -1;
    }
  }

  private int runSetup() throws Exception {
    int n = o.setup;
    double startupCpuS = cpuSeconds(server.cpuTicks());
    long rssFresh = server.statusKiB("VmRSS");
    server.fullGc(1500);
    long heapFresh = server.heapUsedKiB();
    long rssFreshGc = server.statusKiB("VmRSS");
    long anonFresh = server.statusKiB("RssAnon");
    long fileFresh = server.statusKiB("RssFile");
    log(server.jvm ? String.format(Locale.ROOT, "fresh server: CPU %.2f s since start, RSS %s; after a full GC heap"
        + " in use %s, RSS %s", startupCpuS, mib(rssFresh), mib(heapFresh), mib(rssFreshGc))
        : String.format(Locale.ROOT, "fresh server: CPU %.2f s since start, RSS %s; full GC and heap in use %s",
            startupCpuS, mib(rssFresh), NOT_A_JVM));

    List<String> batchLines = new ArrayList<>();
    long[] connectNs = new long[n];
    int joined = 0;
    String firstFailure = null;
    long ticksStart = server.cpuTicks();
    Map<String, Long> byKindStart = server.jvm ? server.cpuTicksByThreadKind() : null;
    Map<Long, Long> othersStart = ServerProcess.otherProcessTicks(measuredPids());
    long setupWall0 = System.nanoTime();
    for (int from = 0, batch = 1; from < n; from += SETUP_BATCH, batch++) {
      int to = Math.min(n, from + SETUP_BATCH);
      long[] batchNs = new long[to - from];
      long t0 = server.cpuTicks();
      OpenResult r = openIdle(from, to, batchNs);
      long t1 = server.cpuTicks();
      requireServerAlive("during set-up batch " + batch);
      System.arraycopy(batchNs, 0, connectNs, from, batchNs.length);
      joined += r.joined;
      long[] pct = connectPercentiles(batchNs);
      String label = batch == 1 ? " (cold)" : batch == 3 ? " (warm)" : "";
      String line = String.format(Locale.ROOT,
          "batch %d%s: connections %d-%d, %d joined in %.1f s; server CPU %.2f s = %.0f µs per connection;"
              + " connect->joined p50=%s p99=%s max=%s",
          batch, label, from + 1, to, r.joined, r.seconds, cpuSeconds(t1 - t0),
          r.joined == 0 ? 0.0 : cpuSeconds(t1 - t0) * 1e6 / r.joined, ms(pct[0]), ms(pct[1]), ms(pct[2]));
      batchLines.add(line);
      log(line);
      if (r.joined < to - from) {
        firstFailure = r.firstFailure;
        break; // the server refuses or the client ran out of something: the later batches would not be comparable
      }
    }
    long setupTicks = server.cpuTicks() - ticksStart;
    Map<String, Long> byKindEnd = server.jvm ? server.cpuTicksByThreadKind() : null;
    double othersSetupCores = cpuSeconds(ServerProcess.otherTicksDelta(othersStart,
        ServerProcess.otherProcessTicks(measuredPids()))) / ((System.nanoTime() - setupWall0) / 1e9);
    long rssAll = server.statusKiB("VmRSS");
    long anonAll = server.statusKiB("RssAnon");
    long fileAll = server.statusKiB("RssFile");
    long benchFds = openFiles("self");
    long serverFds = openFiles(Long.toString(server.pid));
    log(String.format(Locale.ROOT, "%d of %d joined; RSS %s without GC; open files: bench %d, server %d%s",
        joined, n, mib(rssAll), benchFds, serverFds, server.jvm ? "; full GC next" : ""));
    server.fullGc(1500);
    long heapAll = server.heapUsedKiB();
    long rssAllGc = server.statusKiB("VmRSS");

    log("idle CPU: " + o.idleCpuSeconds + " s with all connections open and silent");
    long i0 = server.cpuTicks();
    Map<Long, Long> othersIdle = ServerProcess.otherProcessTicks(measuredPids());
    long w0 = System.nanoTime();
    Thread.sleep(o.idleCpuSeconds * 1000L);
    long idleTicks = server.cpuTicks() - i0;
    double idleWindowS = (System.nanoTime() - w0) / 1e9;
    double othersIdleCores = cpuSeconds(ServerProcess.otherTicksDelta(othersIdle,
        ServerProcess.otherProcessTicks(measuredPids()))) / idleWindowS;
    requireServerAlive("during the idle CPU window");
    Snapshot after = snapshot();

    long[] all = connectPercentiles(connectNs);
    double per = joined == 0 ? 0 : 1.0 / joined;
    StringBuilder out = new StringBuilder();
    out.append('\n');
    out.append(String.format(Locale.ROOT, "%s connection set-up  (server pid %d, %s)%n", subject(),
        server.pid, runtimeText()));
    out.append(server.jvm
        ? String.format(Locale.ROOT, "fresh server: ready %.1f s after start, CPU %.2f s since start, RSS %s; after"
            + " a full GC: heap in use %s, RSS %s%n", readySeconds, startupCpuS, mib(rssFresh), mib(heapFresh),
            mib(rssFreshGc))
        : String.format(Locale.ROOT, "fresh server: ready %.1f s after start, CPU %.2f s since start, RSS %s; full GC"
            + " and heap in use: %s%n", readySeconds, startupCpuS, mib(rssFresh), NOT_A_JVM));
    out.append(String.format(Locale.ROOT, "%d idle connections requested, rooms of %d, %d handshakes in flight,"
        + " batches of %d (CPU per connection = %s):%n", n, o.idleRoomSize, o.concurrency, SETUP_BATCH,
        switch (o.protocol()) {
          case PEERJS -> "handshake + OPEN; PeerJS has no rooms";
          case SOCKET_IO -> "handshake + Engine.IO open + Socket.IO connect + CONNECT's echo";
          case DIRECT -> "handshake + login reply; the tutorial's protocol has no rooms";
          case NATIVE -> "handshake + welcome + join reply";
        }));
    batchLines.forEach(l -> out.append("  ").append(l).append('\n'));
    out.append(String.format(Locale.ROOT, "all %d joined: server CPU %.2f s = %.0f µs per connection;"
        + " connect->joined p50=%s p99=%s max=%s%n", joined, cpuSeconds(setupTicks),
        cpuSeconds(setupTicks) * 1e6 * per, ms(all[0]), ms(all[1]), ms(all[2])));
    if (byKindStart != null && joined > 0) {
      out.append("  of which, per connection:");
      for (String kind : ServerProcess.THREAD_KINDS) {
        out.append(String.format(Locale.ROOT, " %s %.0f µs;", kind,
            cpuSeconds(byKindEnd.get(kind) - byKindStart.get(kind)) * 1e6 * per));
      }
      out.append('\n');
    }
    // From the RSS after the first GC: that GC's own page touches are not the connections'.
    out.append(String.format(Locale.ROOT, "  RSS without a GC (what a pod memory limit sees): %s -> %s = %.1f KiB"
        + " per connection%n", mib(rssFreshGc), mib(rssAll), (rssAll - rssFreshGc) * per));
    // Under memory pressure the kernel can drop file-backed pages (the executable, libraries, a
    // mapped cache) and read them again; anonymous ones only go with the process.
    out.append(String.format(Locale.ROOT, "    of which anonymous (heap, stacks, malloc; stays without swap) %s -> %s,"
        + " file-backed (executable, libraries, mapped files; the kernel may drop them) %s -> %s%n",
        mib(anonFresh), mib(anonAll), mib(fileFresh), mib(fileAll)));
    out.append(server.jvm
        ? String.format(Locale.ROOT, "  after a full GC: live heap %s -> %s = %s per connection; RSS %s%n",
            mib(heapFresh), mib(heapAll), heapFresh < 0 || heapAll < 0 ? "n/a"
                : String.format(Locale.ROOT, "%.1f KiB", (heapAll - heapFresh) * per), mib(rssAllGc))
        : "  after a full GC: live heap " + NOT_A_JVM + "\n");
    double idleCpuS = cpuSeconds(idleTicks);
    out.append(String.format(Locale.ROOT, "idle: server CPU %.2f s over %.1f s with %d connections open and silent"
        + " = %.2f %% of one core%n", idleCpuS, idleWindowS, joined, 100 * idleCpuS / idleWindowS));
    out.append(String.format(Locale.ROOT, "other processes: %.0f %% of one core during set-up, %.0f %% during the idle"
        + " window; the machine has %d cores%n", 100 * othersSetupCores, 100 * othersIdleCores,
        Runtime.getRuntime().availableProcessors()));
    if (Math.max(othersSetupCores, othersIdleCores) > OTHERS_BUSY) {
      out.append("  WARNING: other processes were busy: the CPU and latency figures are disturbed; rerun on a quiet"
          + " machine\n");
    }
    out.append(String.format(Locale.ROOT, "open files at the end of set-up: bench %d (limit %d), server %d (limit %d)%n",
        benchFds, ServerProcess.openFilesLimit("self"), serverFds,
        ServerProcess.openFilesLimit(Long.toString(server.pid))));
    List<String> anomalies = socketAnomalies(after);
    printReport(out, anomalies, after);
    if (joined < n) {
      System.err.println("BENCHMARK FAILED: " + (n - joined) + " of " + n
          + " connections could not be opened and joined; first: " + firstFailure);
      return 1;
    }
    return 0;
  }

  // ------------------------------------------------------------------------------------------
  // --saturate: the highest relay rate one server event loop sustains

  /** A heavy peer's rate stays well under the default RATE_LIMIT_PER_SECOND (50), so per-client limits never shed. */
  private static final int HEAVY_PEER_MAX_RATE = 40;
  /** Well-behaved pairs at 1 msg/s per peer during the overload step. */
  private static final int QUIET_PAIRS = 20;
  private static final long P99_LIMIT_NS = 10_000_000L;
  /** Generator CPU (fraction of its one core) above which a step may show the generator's limit. */
  private static final double GENERATOR_BUSY = 0.85;
  /** CPU of other processes (fraction of one core) above which a step is disturbed, as in the load mode. */
  private static final double OTHERS_BUSY = 0.2;
  /** The first step also warms up the JITs of both processes: at least this long. */
  private static final int FIRST_STEP_MIN_WARMUP_S = 5;

  /** Pairs that carry {@code totalRate} msg/s with no peer above {@link #HEAVY_PEER_MAX_RATE}. */
  private static int heavyPairsFor(int totalRate) {
    return (totalRate + 2 * HEAVY_PEER_MAX_RATE - 1) / (2 * HEAVY_PEER_MAX_RATE);
  }

  record StepResult(int offered, int pairs, double ratePerPeer, LoadResult load, Snapshot quiet) {
    long lost() {
      return load.snap().sentMeasured - load.snap().deliveredMeasured;
    }

    boolean sustained() {
      return lost() == 0 && load.snap().latency.percentileNanos(99) <= P99_LIMIT_NS
          && load.snap().unexpectedCloses == 0 && load.snap().errors.isEmpty();
    }
  }

  private StepResult runStep(int rate, int warmupS, boolean withQuiet) throws Exception {
    int pairs = Math.max(o.pairs, heavyPairsFor(rate));
    if (loadPeers.size() / 2 < pairs) {
      int more = pairs - loadPeers.size() / 2;
      long t = System.nanoTime();
      setupPairs(more, "bench", loops, loadPeers);
      log(String.format(Locale.ROOT, "%d more pairs set up in %.1f s (%d in all)", more, (System.nanoTime() - t) / 1e9,
          pairs));
    }
    List<LoadGroup> groups = new ArrayList<>();
    double ratePerPeer = rate / (double) loadPeers.size();
    groups.add(new LoadGroup(loops, loadPeers, ratePerPeer));
    List<BenchLoop> reset = new ArrayList<>(Arrays.asList(loops));
    if (withQuiet) {
      groups.add(new LoadGroup(new BenchLoop[] {quietLoop}, quietPeers, 1));
      reset.add(quietLoop);
    }
    for (BenchLoop l : reset) {
      onLoop(l, () -> {
        l.reset();
        l.firstProblem = null;
        return null;
      });
    }
    LoadResult load = runLoad(groups, warmupS, o.stepSeconds);
    return new StepResult(rate, pairs, ratePerPeer, load, withQuiet ? snapshot(quietLoop) : null);
  }

  private boolean generatorBusy(StepResult r) {
    return cpuSeconds(r.load.benchTicks()) / (r.load.windowNs() / 1e9) > GENERATOR_BUSY;
  }

  private String stepLine(StepResult r) {
    Snapshot s = r.load.snap();
    double windowS = r.load.windowNs() / 1e9;
    MicrosHistogram h = s.latency;
    return String.format(Locale.ROOT,
        "%7d msg/s offered (%d pairs, %.1f/s per peer): delivered %.0f/s, lost %d; one-way p50=%s p99=%s"
            + " p99.9=%s max=%s; server CPU %.0f %%; generator CPU %.0f %%, schedule lag p99=%s max=%s;"
            + " other processes %.0f %%",
        r.offered, r.pairs, r.ratePerPeer, s.receivedInWindow / windowS, r.lost(), ms(h.percentileNanos(50)),
        ms(h.percentileNanos(99)), ms(h.percentileNanos(99.9)), ms(h.maxNanos()),
        100 * cpuSeconds(r.load.serverTicks()[0]) / windowS, 100 * cpuSeconds(r.load.benchTicks()) / windowS,
        ms(s.lag.percentileNanos(99)), ms(s.lag.maxNanos()), 100 * cpuSeconds(r.load.otherTicks()) / windowS)
        + (generatorBusy(r) ? "  GENERATOR BUSY" : "")
        + (cpuSeconds(r.load.otherTicks()) / windowS > OTHERS_BUSY ? "  MACHINE BUSY" : "");
  }

  /** Seconds of load before a --server-cpu-quota is applied, long enough for the JIT to finish. */
  private static final int QUOTA_WARMUP_S = 20;

  private int runSaturate() throws Exception {
    log("saturation: server with EVENT_LOOPS=1 on CPUs " + o.serverCpus + ", this generator on CPUs " + o.generatorCpus
        + "; steps of " + o.stepRate
        + " msg/s up to " + o.maxRate);
    if (o.serverCpuQuota > 0) {
      // Warm up unlimited first: under a quota the JIT's compiler threads would eat the quota
      // that the steps are meant to measure.
      log("warming up without the CPU limit: one unmeasured step of " + QUOTA_WARMUP_S + " s at " + o.stepRate + " msg/s");
      runStep(o.stepRate, QUOTA_WARMUP_S, false);
      serverQuota = CpuQuota.limit(server.pid, o.serverCpuQuota);
      log(String.format(Locale.ROOT, "server pid %d limited to %.2f of one CPU (cgroup CFS quota, 10 ms period)",
          server.pid, o.serverCpuQuota));
    }
    List<String> lines = new ArrayList<>();
    StepResult best = null;
    String stoppedBecause = "reached --max-rate " + o.maxRate;
    for (int rate = o.stepRate; rate <= o.maxRate; rate += o.stepRate) {
      requireServerAlive("before step " + rate);
      StepResult r = runStep(rate, rate == o.stepRate ? Math.max(o.stepWarmup, FIRST_STEP_MIN_WARMUP_S) : o.stepWarmup,
          false);
      String line = stepLine(r);
      lines.add(line);
      log("step: " + line);
      if (!r.sustained()) {
        List<String> why = socketAnomalies(r.load.snap());
        stoppedBecause = "the step at " + rate + " msg/s failed: p99 " + ms(r.load.snap().latency.percentileNanos(99))
            + ", lost " + r.lost() + (why.isEmpty() ? "" : "; " + String.join("; ", why))
            + (generatorBusy(r) ? " (the generator was busy too: this may be its limit, not the server's)" : "");
        break;
      }
      best = r;
    }

    int overloadRate = o.overloadFactor * (best != null ? best.offered : o.stepRate);
    setupPairs(QUIET_PAIRS, "quiet", new BenchLoop[] {quietLoop}, quietPeers);
    long rssStart = server.statusKiB("VmRSS");
    long heapStart = server.heapUsedKiB();
    log(String.format(Locale.ROOT, "overload step at %d msg/s, %d quiet pairs at 1 msg/s alongside; RSS %s",
        overloadRate, QUIET_PAIRS, mib(rssStart)));
    StepResult over = runStep(overloadRate, o.stepWarmup, true);
    long rssEnd = server.statusKiB("VmRSS");
    long rssPeak = server.statusKiB("VmHWM");
    long heapEnd = server.heapUsedKiB();
    requireServerAlive("after the overload step");

    StringBuilder out = new StringBuilder();
    out.append('\n');
    out.append(String.format(Locale.ROOT, "%s saturation of one event loop  (server pid %d under taskset -c %s%s,"
        + " EVENT_LOOPS=1, %s; generator pid %d on CPUs %s with %d client event loops)%n", subject(),
        server.pid, o.serverCpus, o.serverCpuQuota > 0
            ? String.format(Locale.ROOT, ", limited to %.2f of one CPU by a CFS quota", o.serverCpuQuota) : "",
        runtimeText(), ProcessHandle.current().pid(), o.generatorCpus, o.clientLoops()));
    out.append(String.format(Locale.ROOT, "payload %d B; each step %d s warm-up (the first at least %d s) + %d s"
        + " measured; a step is sustained when p99 <= 10 ms and nothing is lost; CPU in %% of one core (other"
        + " processes share both cores: more than a few %% there disturbs the step); GENERATOR BUSY: this JVM used"
        + " more than %.0f %% of its core, so the step may show the generator's limit; MACHINE BUSY: other"
        + " processes used more than %.0f %% of a core, rerun on a quiet machine%n", o.payload, o.stepWarmup,
        FIRST_STEP_MIN_WARMUP_S, o.stepSeconds, 100 * GENERATOR_BUSY, 100 * OTHERS_BUSY));
    out.append(o.floor ? "FloorRelay has no limits at all.\n" : o.nodeRelay ? "The node relay has no limits at all.\n"
        : o.peerjs ? "The PeerJS server's socket and heartbeat limits were raised above the run's.\n"
        : o.peerDataServer ? "peer-data-server has no limits; its Socket.IO heartbeat was raised above the run's.\n"
        : o.tutorialServer ? "The tutorial's server has no limits at all.\n"
        : String.format(Locale.ROOT,
        "server per-client limits are the defaults (RATE_LIMIT_PER_SECOND=%s, RATE_LIMIT_BURST=%s,"
            + " FLOOD_CLOSE_AFTER=%s, WRITE_QUEUE_MAX_BYTES=%s);%n  heavy peers send at most %d msg/s each, so the"
            + " per-client rate limit is not what sheds%n",
        io.switchboard.config.SwitchboardConfig.Setting.RATE_LIMIT_PER_SECOND.defaultValue,
        io.switchboard.config.SwitchboardConfig.Setting.RATE_LIMIT_BURST.defaultValue,
        io.switchboard.config.SwitchboardConfig.Setting.FLOOD_CLOSE_AFTER.defaultValue,
        io.switchboard.config.SwitchboardConfig.Setting.WRITE_QUEUE_MAX_BYTES.defaultValue, HEAVY_PEER_MAX_RATE));
    lines.forEach(l -> out.append("  ").append(l).append('\n'));
    out.append("stopped: ").append(stoppedBecause).append('\n');
    out.append(best == null ? "highest sustained step: none (even the first step failed)\n"
        : String.format(Locale.ROOT, "highest sustained step: %d msg/s (p99 %s, server CPU %.0f %% of its core)%n",
            best.offered, ms(best.load.snap().latency.percentileNanos(99)),
            100 * cpuSeconds(best.load.serverTicks()[0]) / (best.load.windowNs() / 1e9)));
    out.append(String.format(Locale.ROOT, "overload at %d msg/s:%n  %s%n", overloadRate, stepLine(over)));
    Snapshot heavy = over.load.snap();
    out.append(String.format(Locale.ROOT, "  heavy clients: error frames %s, sockets closed by the server %d"
        + " (close codes %s), sends skipped because the socket had closed or the partner had left %d%n", heavy.errors,
        heavy.unexpectedCloses, heavy.closeCodes, heavy.closedSkips));
    out.append(String.format(Locale.ROOT, "  server RSS %s at the start, %s at the end (peak since start %s);"
        + " heap in use %s%n", mib(rssStart), mib(rssEnd), mib(rssPeak),
        server.jvm ? mib(heapStart) + " -> " + mib(heapEnd) : NOT_A_JVM));
    Snapshot q = over.quiet;
    MicrosHistogram qh = q.latency;
    MicrosHistogram late = q.latencyLastHalf;
    out.append(String.format(Locale.ROOT, "  %d quiet pairs at 1 msg/s meanwhile: sent %d, delivered %d, lost %d;"
        + " one-way p50=%s p99=%s max=%s (sent in the window's second half: p50=%s p99=%s max=%s); error frames %s,"
        + " closes %d %s%n", QUIET_PAIRS, q.sentMeasured,
        q.deliveredMeasured, q.sentMeasured - q.deliveredMeasured, ms(qh.percentileNanos(50)),
        ms(qh.percentileNanos(99)), ms(qh.maxNanos()), ms(late.percentileNanos(50)), ms(late.percentileNanos(99)),
        ms(late.maxNanos()), q.errors, q.unexpectedCloses, q.closeCodes));
    out.append("  what shed the load: ").append(whatShed(over, heavy)).append('\n');
    for (String p : heavy.problems) {
      out.append("  first problem seen (heavy): ").append(p).append('\n');
    }
    for (String p : q.problems) {
      out.append("  first problem seen (quiet): ").append(p).append('\n');
    }
    appendServerLogs(out);
    System.out.print(out);
    System.out.flush();
    return 0;
  }

  /** The reader's answer to "who dropped what" in the overload step, from what the clients saw. */
  private String whatShed(StepResult over, Snapshot heavy) {
    List<String> causes = new ArrayList<>();
    long rateLimited = heavy.errors.getOrDefault("rate-limited", 0L);
    if (rateLimited > 0) {
      causes.add(rateLimited + " relays refused by the per-client rate limit (error rate-limited)");
    }
    long slow = heavy.closeCodes.getOrDefault("4001", 0L);
    if (slow > 0) {
      causes.add(slow + " receivers closed as slow consumers (4001: their outbound queue passed"
          + " WRITE_QUEUE_MAX_BYTES), the relays queued for them dropped");
    }
    long overloaded = heavy.closeCodes.getOrDefault("1013", 0L);
    if (overloaded > 0) {
      causes.add(overloaded + " sockets closed as the heaviest senders of an overloaded event loop (1013), what they"
          + " had sent and the loop had not read yet dropped");
    }
    long flooding = heavy.closeCodes.getOrDefault("4008", 0L);
    if (flooding > 0) {
      causes.add(flooding + " senders closed for flooding (4008)");
    }
    heavy.errors.forEach((code, count) -> {
      if (!code.equals("rate-limited")) {
        causes.add(count + " error frames " + code);
      }
    });
    double windowS = over.load.windowNs() / 1e9;
    double serverCpu = cpuSeconds(over.load.serverTicks()[0]) / windowS;
    double generatorCpu = cpuSeconds(over.load.benchTicks()) / windowS;
    double othersCpu = cpuSeconds(over.load.otherTicks()) / windowS;
    String cpu = String.format(Locale.ROOT, " (server at %.0f %% of its core, generator at %.0f %% of its own%s%s)",
        100 * serverCpu, 100 * generatorCpu, generatorBusy(over) ? ": the generator is near saturation too, so part"
            + " of the limit may be the generator's" : "", othersCpu > OTHERS_BUSY ? String.format(Locale.ROOT,
            "; other processes took %.0f %% of a core from the two", 100 * othersCpu) : "");
    if (causes.isEmpty()) {
      return over.lost() == 0
          ? "nothing: every relay arrived, at the latencies above" + cpu
          : "no policy of the server: " + over.lost() + " relays had not arrived " + o.drainMs + " ms after the"
              + " window (still queued in socket buffers or the event loop's backlog, or dropped unannounced)" + cpu;
    }
    return String.join("; ", causes) + (over.lost() > 0 ? "; " + over.lost() + " measured relays lost in all" : "")
        + cpu;
  }

  // ------------------------------------------------------------------------------------------
  // Report

  private static String mib(long kib) {
    return kib < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", kib / 1024.0);
  }

  private static String ms(long ns) {
    double v = ns / 1e6;
    if (v < 10) {
      return String.format(Locale.ROOT, "%.3f ms", v);
    }
    return String.format(Locale.ROOT, "%.1f ms", v);
  }

  private void printSummary(LoadResult load, IdleResult idle, Snapshot after) {
    Snapshot s = load.snap;
    // The CPU samples are taken by the main thread at the window's edges, give or take a few ms
    // (more on a busy machine); per-message CPU scales the message count to that sampled span.
    double windowS = load.windowNs / 1e9;
    long lost = s.sentMeasured - s.deliveredMeasured;
    double serverCpuS = (double) Arrays.stream(load.serverTicks).sum() / clockTicks;
    // Messages counted against the CPU samples' span (see above).
    double msgsInSpan = s.receivedInWindow * windowS / o.seconds;
    double benchCpuS = (double) load.benchTicks / clockTicks;
    StringBuilder out = new StringBuilder();
    out.append('\n');
    if (servers.size() == 1) {
      out.append(String.format(Locale.ROOT, "%s relay benchmark  (server pid %d, %s)%n", subject(),
          server.pid, runtimeText()));
    } else {
      String through = cluster != null
          ? "a Redis Cluster, masters " + cluster.masterPorts() + " with a replica each"
          : "redis-server pid " + redis.pid + " on 127.0.0.1:" + redis.port;
      out.append(String.format(Locale.ROOT,
          "Switchboard relay benchmark, cross-node  (%d server processes, pids %s, jvm opts %s; %s)%n"
              + "every pair's two peers are on different nodes: every relay crosses nodes through a Redis %s%n",
          servers.size(), servers.stream().map(sp -> Long.toString(sp.pid)).toList(),
          o.serverJvmOpts.isBlank() ? "(none)" : o.serverJvmOpts.trim(), through,
          cluster != null ? "SPUBLISH" : "PUBLISH"));
    }
    out.append(String.format(Locale.ROOT,
        "pairs=%d rate=%d/s per peer (%d msg/s offered) payload=%d B warmup=%d s measured=%d s%n",
        o.pairs, o.rate, 2L * o.pairs * o.rate, o.payload, o.warmup, o.seconds));
    out.append(String.format(Locale.ROOT,
        "sent=%d delivered=%d lost=%d  achieved=%.1f msg/s sent, %.1f msg/s received in the window"
            + "  schedule lag: p99=%s max=%s (max incl. warm-up %s)%n",
        s.sentMeasured, s.deliveredMeasured, lost, s.sentMeasured / (double) o.seconds,
        s.receivedInWindow / windowS, ms(s.lag.percentileNanos(99)), ms(s.lag.maxNanos()), ms(s.maxLagAllNs)));
    MicrosHistogram h = s.latency;
    out.append(String.format(Locale.ROOT, "latency one-way%s: p50=%s p90=%s p99=%s p99.9=%s max=%s (mean %s, n=%d)%n",
        servers.size() > 1 ? " (node -> Redis -> node)" : "",
        ms(h.percentileNanos(50)), ms(h.percentileNanos(90)), ms(h.percentileNanos(99)),
        ms(h.percentileNanos(99.9)), ms(h.maxNanos()), ms((long) h.meanNanos()), h.count()));
    if (servers.size() > 1) {
      for (int k = 0; k < servers.size(); k++) {
        double cpu = (double) load.serverTicks[k] / clockTicks;
        out.append(String.format(Locale.ROOT,
            "server %d CPU (pid %d): %.2f s over %.1f s (%.0f %% of one core) = %.1f µs per relayed message%n",
            k, servers.get(k).pid, cpu, windowS, 100 * cpu / windowS,
            s.receivedInWindow == 0 ? 0.0 : cpu * 1e6 / msgsInSpan));
      }
    }
    out.append(String.format(Locale.ROOT,
        "%s: %.2f s over %.1f s (%.0f %% of one core) = %.1f µs per relayed message (%d msgs received in"
            + " the window; /proc ticks of 1/%d s)%n",
        servers.size() > 1 ? "servers' CPU, summed" : "server CPU",
        serverCpuS, windowS, 100 * serverCpuS / windowS,
        s.receivedInWindow == 0 ? 0.0 : serverCpuS * 1e6 / msgsInSpan,
        s.receivedInWindow, clockTicks));
    if (redis != null) {
      double redisCpuS = (double) load.redisTicks / clockTicks;
      out.append(String.format(Locale.ROOT,
          "redis-server CPU (pid %d): %.2f s over %.1f s (%.0f %% of one core) = %.2f µs per relayed message"
              + " (one PUBLISH each, plus heartbeats and reaps)%n",
          redis.pid, redisCpuS, windowS, 100 * redisCpuS / windowS,
          s.receivedInWindow == 0 ? 0.0 : redisCpuS * 1e6 / msgsInSpan));
      if (replica != null) {
        double replicaCpuS = (double) replicaTicksInWindow / clockTicks;
        out.append(String.format(Locale.ROOT,
            "redis replica CPU (pid %d): %.2f s over %.1f s (%.0f %% of one core) = %.2f µs per relayed message"
                + " (the nodes ran with REDIS_WAIT_REPLICAS=1)%n",
            replica.pid, replicaCpuS, windowS, 100 * replicaCpuS / windowS,
            s.receivedInWindow == 0 ? 0.0 : replicaCpuS * 1e6 / msgsInSpan));
      }
      out.append(String.format(Locale.ROOT,
          "redis-server commands: %d in the window = %.2f per relayed message (a script's own calls count, as in INFO stats)%n",
          redisCommandsInWindow, s.receivedInWindow == 0 ? 0.0 : redisCommandsInWindow / msgsInSpan));
      if (s.receivedInWindow > 0 && !redisCommandStatsInWindow.isEmpty()) {
        out.append("redis-server time executing commands, per relayed message (INFO commandstats; a script's time"
            + " includes its own calls; the rest of its CPU is I/O and its event loop):");
        redisCommandStatsInWindow.entrySet().stream()
            .sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]))
            .forEach(e -> out.append(String.format(Locale.ROOT, " %s %.2f calls %.2f µs;", e.getKey(),
                e.getValue()[0] / msgsInSpan, e.getValue()[1] / msgsInSpan)));
        out.append(System.lineSeparator());
      }
    }
    if (shards != null && s.receivedInWindow > 0) {
      out.append(shards.report(msgsInSpan, windowS, clockTicks));
    }
    double otherCpuS = (double) load.otherTicks / clockTicks;
    int cores = Runtime.getRuntime().availableProcessors();
    out.append(String.format(Locale.ROOT,
        "bench CPU: %.2f s over %.1f s (%.0f %% of one core, %d GCs taking %d ms, %s); other processes: %.0f %% of one"
            + " core; the machine has %d cores%n",
        benchCpuS, windowS, 100 * benchCpuS / windowS, load.benchGcs, load.benchGcMs, benchCollectors(),
        100 * otherCpuS / windowS, cores));
    if (otherCpuS / windowS > 0.2) {
      out.append(String.format(Locale.ROOT, "  WARNING: other processes used %.0f %% of a core during the window: the"
          + " latency, lag and CPU figures are disturbed; rerun on a quiet machine%n", 100 * otherCpuS / windowS));
    }
    if (idle != null) {
      int rooms = (idle.requested + o.idleRoomSize - 1) / o.idleRoomSize;
      double rssPer = idle.joined == 0 ? 0 : (idle.rssAfterKiB - idle.rssBeforeKiB) / (double) idle.joined;
      String heapPart = !server.jvm ? "heap in use after GC " + NOT_A_JVM
          : idle.heapBeforeKiB < 0 || idle.heapAfterKiB < 0 ? "heap in use n/a"
          : String.format(Locale.ROOT, "heap in use after GC %s -> %s = %.1f KiB per connection",
              mib(idle.heapBeforeKiB), mib(idle.heapAfterKiB),
              idle.joined == 0 ? 0 : (idle.heapAfterKiB - idle.heapBeforeKiB) / (double) idle.joined);
      out.append(String.format(Locale.ROOT,
          "idle connections: %d joined (%d rooms of %d, opened in %.1f s, measured after the load phase with the"
              + " %d load sockets still open);%n"
              + "  RSS %s -> %s %s = %.1f KiB per connection; %s%n",
          idle.joined, rooms, o.idleRoomSize, idle.openSeconds, loadPeers.size(),
          mib(idle.rssBeforeKiB), mib(idle.rssAfterKiB), server.jvm ? "after GC" : "(no GC forced: not a JVM)",
          rssPer, heapPart));
      out.append(server.jvm
          ? "  (RSS growth counts every page touched for the first time, including heap the handshakes' garbage"
              + " reached;\n   heap-in-use growth after a full GC is the Java objects each connection keeps)\n"
          : "  (RSS growth counts every page touched for the first time, including V8 heap the handshakes' garbage"
              + " reached)\n");
      if (o.histo > 0 && !server.jvm) {
        out.append("  heap growth per idle connection by class: " + NOT_A_JVM + "\n");
      }
      if (!idle.histo.isEmpty()) {
        out.append("  heap growth per idle connection by class (jcmd GC.class_histogram):\n");
        idle.histo.forEach(l -> out.append("    ").append(l).append('\n'));
      }
      if (idle.failed > 0) {
        out.append(String.format(Locale.ROOT, "  WARNING: %d idle connections failed; first: %s%n", idle.failed,
            idle.firstFailure));
      }
    }
    // Anomalies, over the whole run (load + idle phases).
    List<String> anomalies = new ArrayList<>();
    if (lost > 0) {
      anomalies.add(lost + " measured messages lost");
    }
    anomalies.addAll(socketAnomalies(after));
    if (s.writeQueueFullSeen > 0) {
      anomalies.add("client write queue full " + s.writeQueueFullSeen + " times");
    }
    if (s.tickCapHits > 0) {
      anomalies.add("sender hit its per-tick cap " + s.tickCapHits + " times (fell far behind schedule)");
    }
    long sentAfterWindow = after.sentTotal - s.sentTotal;
    if (sentAfterWindow != 0) {
      anomalies.add(sentAfterWindow + " messages sent after the window (should be 0)");
    }
    printReport(out, anomalies, after);
  }

  /** Ends a report with its anomalies, the clients' first problems and the server's log, and prints it. */
  private void printReport(StringBuilder out, List<String> anomalies, Snapshot after) {
    out.append("anomalies: ").append(anomalies.isEmpty() ? "none" : String.join("; ", anomalies)).append('\n');
    for (String p : after.problems) {
      out.append("  first problem seen: ").append(p).append('\n');
    }
    appendServerLogs(out);
    System.out.print(out);
    System.out.flush();
  }

  /** What went wrong on the client sockets, whatever the mode. */
  private static List<String> socketAnomalies(Counters after) {
    List<String> anomalies = new ArrayList<>();
    if (after.errors.size() > 0) {
      anomalies.add("error frames " + after.errors);
    }
    if (after.unexpectedCloses > 0) {
      anomalies.add(after.unexpectedCloses + " sockets closed by the server, close codes " + after.closeCodes);
    }
    if (after.socketExceptions > 0) {
      anomalies.add(after.socketExceptions + " socket exceptions");
    }
    if (after.peerLeft > 0) {
      anomalies.add(after.peerLeft + " peer-left notifications");
    }
    if (after.outOfOrder > 0) {
      anomalies.add(after.outOfOrder + " out-of-order deliveries");
    }
    if (after.duplicates > 0) {
      anomalies.add(after.duplicates + " duplicate deliveries");
    }
    if (after.dataMismatch > 0 || after.badEnvelope > 0) {
      anomalies.add(after.dataMismatch + " data mismatches, " + after.badEnvelope + " bad envelopes (sampled check)");
    }
    if (after.unexpectedFrames > 0) {
      anomalies.add(after.unexpectedFrames + " unexpected frames");
    }
    if (after.writeFailures > 0) {
      anomalies.add(after.writeFailures + " client write failures");
    }
    if (after.closedSkips > 0) {
      anomalies.add(after.closedSkips + " sends skipped because the peer's socket had closed or its partner had left");
    }
    return anomalies;
  }

  private void appendServerLogs(StringBuilder out) {
    for (ServerProcess sp : servers) {
      long warnLines = sp.logLinesContaining("WARN");
      long errorLines = sp.logLinesContaining("ERROR");
      out.append(String.format(Locale.ROOT, "server log: %s (%d lines with WARN, %d with ERROR)%n", sp.log,
          warnLines, errorLines));
      for (String line : sp.logLinesMatching(List.of("WARN", "ERROR", "Exception"), 5)) {
        out.append("  ").append(BenchLoop.abbreviate(line)).append('\n');
      }
      if (sp.logLinesMatching(List.of("][aot]"), 100).stream().anyMatch(l -> l.contains("error"))) {
        out.append("  WARNING: the server did not use its AOT cache (the cache is tied to the class path its"
            + " training run had): its start-up and set-up figures are not the image's\n");
      }
    }
  }
}
