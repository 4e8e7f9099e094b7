package io.switchboard.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every setting of a Switchboard node, read once from environment variables at start-up.
 *
 * <p>Immutable and validated: an instance that exists is usable. {@link #fromEnv(Map)} throws
 * {@link ConfigException} naming the first bad variable. The variables, their defaults and their
 * meaning are listed in the README and {@code docs/operations.md}; {@link Setting} is the single
 * source of those names.
 */
public record SwitchboardConfig(
    String host,
    int port,
    String nodeId,
    int eventLoops,
    Transport transport,
    int maxMessageBytes,
    int maxFrameBytesHard,
    int maxRoomsPerConnection,
    int maxPeersPerRoom,
    int rateLimitPerSecond,
    int rateLimitBurst,
    int floodCloseAfter,
    int idleTimeoutSeconds,
    int pingIntervalSeconds,
    int maxConnections,
    Set<String> allowedOrigins,
    boolean permessageDeflate,
    int writeQueueMaxBytes,
    int shutdownGraceSeconds,
    int drainDelaySeconds,
    boolean socketIoDisconnectOnDrop,
    LogFormat logFormat,
    String logLevel,
    RedisMode redisMode,
    String redisUrl,
    String redisSentinelMaster,
    String redisTlsCaFile,
    String redisKeyPrefix,
    ClusterLayout redisClusterLayout,
    int nodeHeartbeatMillis,
    int nodeTimeoutMillis,
    int redisTimeoutMillis,
    Tls tls,
    Auth auth,
    Ice ice,
    ClientLimits clientLimits,
    int adminPort,
    String adminApiKey,
    int handshakeTimeoutMillis,
    int maxPendingHandshakesPerIp,
    Resume resume,
    int shedLagMillis,
    int warmupConnections) {

  /** How log lines are written. */
  public enum LogFormat { JSON, TEXT }

  /** Which Netty transport carries sockets ({@code TRANSPORT}); either falls back to NIO off Linux. */
  public enum Transport { EPOLL, IO_URING }

  /** How the Redis backplane finds its Redis ({@code REDIS_MODE}). */
  public enum RedisMode { STANDALONE, SENTINEL, CLUSTER }

  /**
   * Where a Redis Cluster's keys go ({@code REDIS_CLUSTER_LAYOUT}, docs/clustering.md, "Two
   * layouts"): spread over every master by room and by session, or all in the prefix's slot.
   */
  public enum ClusterLayout { SPREAD, ONE_SLOT }

  /** The environment variables, with their defaults as text (empty = unset). */
  public enum Setting {
    HOST("0.0.0.0"),
    PORT("8080"),
    NODE_ID(""),
    EVENT_LOOPS(""),
    TRANSPORT("epoll"),
    MAX_MESSAGE_BYTES("65536"),
    MAX_FRAME_BYTES_HARD("1048576"),
    MAX_ROOMS_PER_CONNECTION("16"),
    MAX_PEERS_PER_ROOM("50"),
    RATE_LIMIT_PER_SECOND("50"),
    RATE_LIMIT_BURST("100"),
    FLOOD_CLOSE_AFTER("100"),
    IDLE_TIMEOUT_SECONDS("60"),
    PING_INTERVAL_SECONDS("20"),
    MAX_CONNECTIONS("10000"),
    ALLOWED_ORIGINS(""),
    WS_PERMESSAGE_DEFLATE("false"),
    WRITE_QUEUE_MAX_BYTES("1048576"),
    SHED_LAG_MS("250"),
    WARMUP_CONNECTIONS("0"),
    SHUTDOWN_GRACE_SECONDS("10"),
    DRAIN_DELAY_SECONDS("5"),
    SOCKETIO_DISCONNECT_ON_DROP("true"),
    LOG_FORMAT("json"),
    LOG_LEVEL("INFO"),
    REDIS_MODE("standalone"),
    REDIS_URL(""),
    REDIS_SENTINEL_MASTER(""),
    REDIS_TLS_CA_FILE(""),
    REDIS_KEY_PREFIX("sb"),
    // Empty: one-slot on a Redis Cluster with REDIS_WAIT_REPLICAS above 0, else spread.
    REDIS_CLUSTER_LAYOUT(""),
    NODE_HEARTBEAT_MS("1000"),
    NODE_TIMEOUT_MS("5000"),
    REDIS_TIMEOUT_MS("2000"),
    REDIS_WAIT_REPLICAS("0"),
    TLS_CERT_FILE(""),
    TLS_KEY_FILE(""),
    AUTH_JWT_SECRET(""),
    AUTH_JWT_PUBLIC_KEY_FILE(""),
    AUTH_JWT_ALGORITHM(""),
    AUTH_JWT_ISSUER(""),
    AUTH_JWT_AUDIENCE(""),
    AUTH_JWT_LEEWAY_SECONDS("30"),
    AUTH_EXPIRY_GRACE_SECONDS("60"),
    STUN_URLS(""),
    TURN_URLS(""),
    TURN_SECRET(""),
    TURN_TTL_SECONDS("86400"),
    CONNECTIONS_PER_IP_PER_SECOND("0"),
    CONNECTIONS_PER_IP_BURST("20"),
    MAX_CONNECTIONS_PER_IP("0"),
    CLIENT_IP_HEADER(""),
    ADMIN_PORT(""),
    ADMIN_API_KEY(""),
    HANDSHAKE_TIMEOUT_MS("10000"),
    MAX_PENDING_HANDSHAKES_PER_IP("256"),
    RESUME_WINDOW_SECONDS("30"),
    RESUME_BUFFER_MAX_EVENTS("1000"),
    RESUME_BUFFER_MAX_BYTES("1048576");

    public final String defaultValue;

    Setting(String defaultValue) {
      this.defaultValue = defaultValue;
    }
  }

  public SwitchboardConfig {
    require(port >= 0 && port <= 65535, Setting.PORT, "a TCP port 0-65535");
    require(nodeId.matches("[A-Za-z0-9._-]{1,64}"), Setting.NODE_ID, "1-64 of A-Z a-z 0-9 . _ -");
    require(eventLoops >= 1 && eventLoops <= 256, Setting.EVENT_LOOPS, "an integer 1-256");
    require(maxMessageBytes >= 1024, Setting.MAX_MESSAGE_BYTES, "an integer >= 1024");
    require(maxFrameBytesHard >= maxMessageBytes, Setting.MAX_FRAME_BYTES_HARD,
        "an integer >= MAX_MESSAGE_BYTES (" + maxMessageBytes + ")");
    require(maxRoomsPerConnection >= 1, Setting.MAX_ROOMS_PER_CONNECTION, "an integer >= 1");
    require(maxPeersPerRoom >= 2, Setting.MAX_PEERS_PER_ROOM, "an integer >= 2");
    require(rateLimitPerSecond >= 1, Setting.RATE_LIMIT_PER_SECOND, "an integer >= 1");
    require(rateLimitBurst >= 1, Setting.RATE_LIMIT_BURST, "an integer >= 1");
    require(floodCloseAfter >= 1, Setting.FLOOD_CLOSE_AFTER, "an integer >= 1");
    require(idleTimeoutSeconds >= 1, Setting.IDLE_TIMEOUT_SECONDS, "an integer >= 1");
    require(pingIntervalSeconds >= 1 && pingIntervalSeconds < idleTimeoutSeconds,
        Setting.PING_INTERVAL_SECONDS, "an integer >= 1 and below IDLE_TIMEOUT_SECONDS");
    require(maxConnections >= 1, Setting.MAX_CONNECTIONS, "an integer >= 1");
    require(writeQueueMaxBytes >= 1024, Setting.WRITE_QUEUE_MAX_BYTES, "an integer >= 1024");
    require(shedLagMillis == 0 || shedLagMillis >= 50 && shedLagMillis <= 60_000, Setting.SHED_LAG_MS,
        "0 (never shed) or an integer 50-60000");
    require(warmupConnections >= 0 && warmupConnections <= 100_000 && warmupConnections % 2 == 0,
        Setting.WARMUP_CONNECTIONS, "an even integer 0-100000");
    require(shutdownGraceSeconds >= 0, Setting.SHUTDOWN_GRACE_SECONDS, "an integer >= 0");
    require(drainDelaySeconds >= 0 && drainDelaySeconds <= 300, Setting.DRAIN_DELAY_SECONDS, "an integer 0-300");
    require(logLevel.matches("TRACE|DEBUG|INFO|WARN|ERROR|OFF"), Setting.LOG_LEVEL,
        "one of TRACE, DEBUG, INFO, WARN, ERROR, OFF");
    List<String> urls = urls(redisUrl);
    require(urls.stream().allMatch(url -> url.matches("rediss?://[^\\s,]+")), Setting.REDIS_URL,
        "a redis:// or rediss:// URL, e.g. redis://:password@redis:6379/0, or for REDIS_MODE=sentinel "
            + "the sentinels' URLs separated by commas, or for REDIS_MODE=cluster the seed nodes' URLs");
    require(redisMode != RedisMode.STANDALONE || urls.size() <= 1, Setting.REDIS_URL,
        "one URL when REDIS_MODE is standalone (several URLs are the sentinels of REDIS_MODE=sentinel)");
    require(redisMode != RedisMode.SENTINEL || !urls.isEmpty(), Setting.REDIS_URL,
        "set when REDIS_MODE is sentinel: the sentinels' URLs separated by commas");
    require(redisMode != RedisMode.CLUSTER || !urls.isEmpty(), Setting.REDIS_URL,
        "set when REDIS_MODE is cluster: one or more seed nodes' URLs separated by commas");
    require(redisMode != RedisMode.SENTINEL || redisSentinelMaster.matches("[A-Za-z0-9._-]{1,64}"),
        Setting.REDIS_SENTINEL_MASTER,
        "the name the sentinels monitor the master under (1-64 of A-Z a-z 0-9 . _ -) when REDIS_MODE is sentinel");
    require(redisMode == RedisMode.SENTINEL || redisSentinelMaster.isEmpty(), Setting.REDIS_SENTINEL_MASTER,
        "unset unless REDIS_MODE is sentinel");
    require(redisTlsCaFile.isEmpty() || java.nio.file.Files.isReadable(java.nio.file.Path.of(redisTlsCaFile)),
        Setting.REDIS_TLS_CA_FILE, "a readable PEM file of CA certificates, got '" + redisTlsCaFile + "'");
    require(redisKeyPrefix.matches("[A-Za-z0-9._-]{1,32}"), Setting.REDIS_KEY_PREFIX, "1-32 of A-Z a-z 0-9 . _ -");
    require(nodeHeartbeatMillis >= 100, Setting.NODE_HEARTBEAT_MS, "an integer >= 100");
    require(nodeTimeoutMillis >= 2 * nodeHeartbeatMillis, Setting.NODE_TIMEOUT_MS,
        "an integer >= 2 x NODE_HEARTBEAT_MS (" + 2 * nodeHeartbeatMillis + ")");
    require(redisTimeoutMillis >= 100, Setting.REDIS_TIMEOUT_MS, "an integer >= 100");
    require(adminPort == ADMIN_OFF || adminPort >= 0 && adminPort <= 65535, Setting.ADMIN_PORT,
        "a TCP port 0-65535, or unset for no server API");
    require(adminPort <= 0 || adminPort != port, Setting.ADMIN_PORT, "a port other than PORT (" + port + ")");
    require(adminApiKey.isEmpty() || adminApiKey.matches("[\\x21-\\x7e]{" + MIN_ADMIN_API_KEY_CHARS + ",}"),
        Setting.ADMIN_API_KEY, "at least " + MIN_ADMIN_API_KEY_CHARS + " printable ASCII characters, no spaces");
    // A key with nowhere to use it would make an operator believe the API is on.
    require(adminApiKey.isEmpty() || adminPort != ADMIN_OFF, Setting.ADMIN_API_KEY,
        "unset when ADMIN_PORT is unset: the server API only listens on ADMIN_PORT");
    require(handshakeTimeoutMillis >= 100 && handshakeTimeoutMillis <= 300_000, Setting.HANDSHAKE_TIMEOUT_MS,
        "an integer 100-300000");
    require(maxPendingHandshakesPerIp >= 0, Setting.MAX_PENDING_HANDSHAKES_PER_IP, "an integer >= 0");
    require(resume.windowSeconds() >= 0 && resume.windowSeconds() <= 3600, Setting.RESUME_WINDOW_SECONDS,
        "an integer 0-3600 (0 turns resume off)");
    require(resume.waitReplicas() >= 0 && resume.waitReplicas() <= 16, Setting.REDIS_WAIT_REPLICAS, "an integer 0-16");
    require(resume.waitReplicas() == 0 || !redisUrl.isEmpty() && resume.enabled(),
        Setting.REDIS_WAIT_REPLICAS, "0 unless REDIS_URL is set and resume is on "
            + "(it makes session writes wait for the replicas)");
    require(resume.maxEvents() >= 16, Setting.RESUME_BUFFER_MAX_EVENTS, "an integer >= 16");
    require(resume.maxBytes() >= maxMessageBytes, Setting.RESUME_BUFFER_MAX_BYTES,
        "an integer >= MAX_MESSAGE_BYTES (" + maxMessageBytes + ")");
    allowedOrigins = Set.copyOf(allowedOrigins);
  }

  /** {@link #adminPort} when {@code ADMIN_PORT} is unset: no admin port, /metrics on {@code PORT}. */
  public static final int ADMIN_OFF = -1;
  /** Shortest {@code ADMIN_API_KEY}: 128 bits as hex, or more as base64. */
  static final int MIN_ADMIN_API_KEY_CHARS = 32;

  /** True when ADMIN_PORT is set: the server API and /metrics listen there, not on PORT. */
  public boolean adminEnabled() {
    return adminPort != ADMIN_OFF;
  }

  /** The configuration with every default: one node, in-memory backplane, port 8080. */
  public static SwitchboardConfig defaults() {
    return fromEnv(Map.of());
  }

  /**
   * Reads the configuration from {@code env} (normally {@code System.getenv()}); variables not
   * present take their default. Blank values count as unset.
   *
   * @throws ConfigException naming the first variable whose value is not accepted
   */
  public static SwitchboardConfig fromEnv(Map<String, String> env) {
    Function<Setting, String> get = s -> {
      String v = env.get(s.name());
      return v == null || v.isBlank() ? s.defaultValue : v.trim();
    };
    String nodeId = get.apply(Setting.NODE_ID);
    if (nodeId.isEmpty()) {
      nodeId = "node-" + java.util.UUID.randomUUID().toString().substring(0, 8);
    }
    String loops = get.apply(Setting.EVENT_LOOPS);
    int eventLoops = loops.isEmpty() ? defaultEventLoops(Runtime.getRuntime().availableProcessors())
        : integer(Setting.EVENT_LOOPS, loops);
    return new SwitchboardConfig(
        get.apply(Setting.HOST),
        integer(Setting.PORT, get.apply(Setting.PORT)),
        nodeId,
        eventLoops,
        transport(get.apply(Setting.TRANSPORT)),
        integer(Setting.MAX_MESSAGE_BYTES, get.apply(Setting.MAX_MESSAGE_BYTES)),
        integer(Setting.MAX_FRAME_BYTES_HARD, get.apply(Setting.MAX_FRAME_BYTES_HARD)),
        integer(Setting.MAX_ROOMS_PER_CONNECTION, get.apply(Setting.MAX_ROOMS_PER_CONNECTION)),
        integer(Setting.MAX_PEERS_PER_ROOM, get.apply(Setting.MAX_PEERS_PER_ROOM)),
        integer(Setting.RATE_LIMIT_PER_SECOND, get.apply(Setting.RATE_LIMIT_PER_SECOND)),
        integer(Setting.RATE_LIMIT_BURST, get.apply(Setting.RATE_LIMIT_BURST)),
        integer(Setting.FLOOD_CLOSE_AFTER, get.apply(Setting.FLOOD_CLOSE_AFTER)),
        integer(Setting.IDLE_TIMEOUT_SECONDS, get.apply(Setting.IDLE_TIMEOUT_SECONDS)),
        integer(Setting.PING_INTERVAL_SECONDS, get.apply(Setting.PING_INTERVAL_SECONDS)),
        integer(Setting.MAX_CONNECTIONS, get.apply(Setting.MAX_CONNECTIONS)),
        origins(get.apply(Setting.ALLOWED_ORIGINS)),
        bool(Setting.WS_PERMESSAGE_DEFLATE, get.apply(Setting.WS_PERMESSAGE_DEFLATE)),
        integer(Setting.WRITE_QUEUE_MAX_BYTES, get.apply(Setting.WRITE_QUEUE_MAX_BYTES)),
        integer(Setting.SHUTDOWN_GRACE_SECONDS, get.apply(Setting.SHUTDOWN_GRACE_SECONDS)),
        integer(Setting.DRAIN_DELAY_SECONDS, get.apply(Setting.DRAIN_DELAY_SECONDS)),
        bool(Setting.SOCKETIO_DISCONNECT_ON_DROP, get.apply(Setting.SOCKETIO_DISCONNECT_ON_DROP)),
        logFormat(get.apply(Setting.LOG_FORMAT)),
        get.apply(Setting.LOG_LEVEL).toUpperCase(Locale.ROOT),
        redisMode(get.apply(Setting.REDIS_MODE)),
        get.apply(Setting.REDIS_URL),
        get.apply(Setting.REDIS_SENTINEL_MASTER),
        get.apply(Setting.REDIS_TLS_CA_FILE),
        get.apply(Setting.REDIS_KEY_PREFIX),
        clusterLayout(get.apply(Setting.REDIS_CLUSTER_LAYOUT), redisMode(get.apply(Setting.REDIS_MODE)),
            integer(Setting.REDIS_WAIT_REPLICAS, get.apply(Setting.REDIS_WAIT_REPLICAS))),
        integer(Setting.NODE_HEARTBEAT_MS, get.apply(Setting.NODE_HEARTBEAT_MS)),
        integer(Setting.NODE_TIMEOUT_MS, get.apply(Setting.NODE_TIMEOUT_MS)),
        integer(Setting.REDIS_TIMEOUT_MS, get.apply(Setting.REDIS_TIMEOUT_MS)),
        SecuritySettings.tls(get),
        SecuritySettings.auth(get),
        SecuritySettings.ice(get),
        SecuritySettings.clientLimits(get),
        adminPort(get.apply(Setting.ADMIN_PORT)),
        get.apply(Setting.ADMIN_API_KEY),
        integer(Setting.HANDSHAKE_TIMEOUT_MS, get.apply(Setting.HANDSHAKE_TIMEOUT_MS)),
        integer(Setting.MAX_PENDING_HANDSHAKES_PER_IP, get.apply(Setting.MAX_PENDING_HANDSHAKES_PER_IP)),
        new Resume(integer(Setting.RESUME_WINDOW_SECONDS, get.apply(Setting.RESUME_WINDOW_SECONDS)),
            integer(Setting.RESUME_BUFFER_MAX_EVENTS, get.apply(Setting.RESUME_BUFFER_MAX_EVENTS)),
            integer(Setting.RESUME_BUFFER_MAX_BYTES, get.apply(Setting.RESUME_BUFFER_MAX_BYTES)),
            integer(Setting.REDIS_WAIT_REPLICAS, get.apply(Setting.REDIS_WAIT_REPLICAS))),
        integer(Setting.SHED_LAG_MS, get.apply(Setting.SHED_LAG_MS)),
        integer(Setting.WARMUP_CONNECTIONS, get.apply(Setting.WARMUP_CONNECTIONS)));
  }

  /**
   * Session resume (docs/protocol.md, "Resume"): how long a dropped session stays a member of its
   * rooms ({@code RESUME_WINDOW_SECONDS}, 0 = off), the bounds of its buffer of events, and how
   * many Redis replicas must have a session write before it counts ({@code REDIS_WAIT_REPLICAS}).
   */
  public record Resume(int windowSeconds, int maxEvents, int maxBytes, int waitReplicas) {
    public boolean enabled() {
      return windowSeconds > 0;
    }

    public long windowMillis() {
      return windowSeconds * 1000L;
    }
  }

  /**
   * {@code TLS_CERT_FILE} and {@code TLS_KEY_FILE}: PEM files that, both set, turn on https and
   * wss on {@code PORT}; both empty, plain http and ws.
   */
  public record Tls(String certFile, String keyFile) {
    public boolean enabled() {
      return !certFile.isEmpty();
    }
  }

  /**
   * Token authentication ({@code AUTH_JWT_*}, docs/security.md). Off when {@link #algorithm} is
   * empty. {@code key} is the HS256 secret, or the public key as a normalised PEM for RS256/ES256.
   * {@code audience} is empty when any audience is accepted, {@code issuer} empty when any issuer is.
   */
  public record Auth(String algorithm, String key, String issuer, List<String> audience, int leewaySeconds,
      int expiryGraceSeconds) {
    public static final Auth OFF = new Auth("", "", "", List.of(), 30, 60);

    public Auth {
      audience = List.copyOf(audience);
    }

    public boolean enabled() {
      return !algorithm.isEmpty();
    }

    /** Never the key: configuration may end up in a log. */
    @Override
    public String toString() {
      return "Auth[algorithm=" + (enabled() ? algorithm : "off") + ", issuer=" + issuer + ", audience=" + audience
          + ", leewaySeconds=" + leewaySeconds + ", expiryGraceSeconds=" + expiryGraceSeconds + "]";
    }
  }

  /**
   * The ICE servers handed to clients ({@code STUN_URLS}, {@code TURN_URLS}, {@code TURN_SECRET},
   * {@code TURN_TTL_SECONDS}): STUN URLs as they are, TURN URLs with time-limited credentials
   * derived from the shared secret (the TURN REST scheme of coturn's {@code use-auth-secret}).
   */
  public record Ice(List<String> stunUrls, List<String> turnUrls, String turnSecret, int turnTtlSeconds) {
    public static final Ice NONE = new Ice(List.of(), List.of(), "", 86400);

    public Ice {
      stunUrls = List.copyOf(stunUrls);
      turnUrls = List.copyOf(turnUrls);
    }

    public boolean turnEnabled() {
      return !turnSecret.isEmpty();
    }

    /** Whether clients are given any ICE server at all. */
    public boolean configured() {
      return !stunUrls.isEmpty() || turnEnabled();
    }

    /** Never the secret. */
    @Override
    public String toString() {
      return "Ice[stunUrls=" + stunUrls + ", turnUrls=" + turnUrls + ", turnSecret=" + (turnEnabled() ? "set" : "unset")
          + ", turnTtlSeconds=" + turnTtlSeconds + "]";
    }
  }

  /**
   * Per-client-address limits on new connections: a token bucket of {@code perSecond} refilled
   * connections with {@code burst} capacity (off when {@code perSecond} is 0), and at most
   * {@code maxConcurrent} open at once (off when 0). {@code addressHeader} names the header a
   * trusted proxy puts the client's address in; empty means the TCP peer address.
   */
  public record ClientLimits(int perSecond, int burst, int maxConcurrent, String addressHeader) {
    public static final ClientLimits OFF = new ClientLimits(0, 20, 0, "");

    public boolean enabled() {
      return perSecond > 0 || maxConcurrent > 0;
    }
  }

  /**
   * Every setting, with the password of {@code REDIS_URL} and {@code ADMIN_API_KEY} masked:
   * configuration may end up in a log.
   */
  @Override
  public String toString() {
    StringBuilder out = new StringBuilder("SwitchboardConfig[");
    java.lang.reflect.RecordComponent[] parts = SwitchboardConfig.class.getRecordComponents();
    for (int i = 0; i < parts.length; i++) {
      Object value;
      try {
        value = parts[i].getAccessor().invoke(this);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      if (parts[i].getName().equals("redisUrl")) {
        value = redisUrls().stream().map(SwitchboardConfig::withoutPassword).collect(Collectors.joining(","));
      } else if (parts[i].getName().equals("adminApiKey")) {
        value = adminApiKey.isEmpty() ? "unset" : "set";
      }
      out.append(i == 0 ? "" : ", ").append(parts[i].getName()).append('=').append(value);
    }
    return out.append(']').toString();
  }

  /** {@code url} with the password of its user info, if any, replaced by {@code ***}. */
  static String withoutPassword(String url) {
    return url.replaceFirst("^(rediss?://[^:/@]*):[^@/]*@", "$1:***@");
  }

  /**
   * The URLs of {@code REDIS_URL}, blanks around commas dropped: the Redis server in standalone
   * mode, the sentinels in sentinel mode.
   */
  public List<String> redisUrls() {
    return urls(redisUrl);
  }

  private static List<String> urls(String commaSeparated) {
    return commaSeparated.isEmpty() ? List.of()
        : Arrays.stream(commaSeparated.split(",", -1)).map(String::trim).toList();
  }

  /** True when REDIS_URL selects the Redis backplane (a cluster of nodes). */
  public boolean clustered() {
    return !redisUrl.isEmpty();
  }

  /**
   * Half the cores, at least one. A relay whose sender and receiver sit on different event loops
   * costs a cross-thread wake-up (about 5 µs of CPU per message in the benchmark), and the kernel's
   * TCP work for each write runs on the writing thread anyway; so fewer loops than cores relay
   * more cheaply at the loads a signaling node sees, leaving the other cores to the kernel, GC
   * and JIT. docs/performance.md has the measurements.
   */
  static int defaultEventLoops(int cores) {
    return Math.max(1, cores / 2);
  }

  /** True when any Origin may open a socket. */
  public boolean allowsAnyOrigin() {
    return allowedOrigins.isEmpty();
  }

  private static void require(boolean ok, Setting setting, String expected) {
    if (!ok) {
      throw new ConfigException(setting.name(), expected);
    }
  }

  private static Transport transport(String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "epoll" -> Transport.EPOLL;
      case "io_uring" -> Transport.IO_URING;
      default -> throw new ConfigException(Setting.TRANSPORT.name(), "epoll or io_uring, got '" + value + "'");
    };
  }

  // A replica wait follows a session's writes on one connection to one master, so on a Redis
  // Cluster it needs every key in one slot.
  private static ClusterLayout clusterLayout(String value, RedisMode mode, int waitReplicas) {
    boolean waits = mode == RedisMode.CLUSTER && waitReplicas > 0;
    ClusterLayout layout = switch (value.toLowerCase(Locale.ROOT)) {
      case "" -> waits ? ClusterLayout.ONE_SLOT : ClusterLayout.SPREAD;
      case "spread" -> ClusterLayout.SPREAD;
      case "one-slot" -> ClusterLayout.ONE_SLOT;
      default -> throw new ConfigException(Setting.REDIS_CLUSTER_LAYOUT.name(),
          "spread or one-slot, got '" + value + "'");
    };
    if (!value.isEmpty() && mode != RedisMode.CLUSTER) {
      throw new ConfigException(Setting.REDIS_CLUSTER_LAYOUT.name(), "unset unless REDIS_MODE is cluster");
    }
    if (waits && layout == ClusterLayout.SPREAD) {
      throw new ConfigException(Setting.REDIS_CLUSTER_LAYOUT.name(),
          "one-slot (or unset) when REDIS_WAIT_REPLICAS is above 0: a replica wait needs every key in one slot");
    }
    return layout;
  }

  private static RedisMode redisMode(String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "standalone" -> RedisMode.STANDALONE;
      case "sentinel" -> RedisMode.SENTINEL;
      case "cluster" -> RedisMode.CLUSTER;
      default -> throw new ConfigException(Setting.REDIS_MODE.name(), "standalone, sentinel or cluster, got '" + value + "'");
    };
  }

  private static int integer(Setting setting, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new ConfigException(setting.name(), "an integer, got '" + value + "'");
    }
  }

  // Unset is off; a negative value must not read as unset.
  private static int adminPort(String value) {
    if (value.isEmpty()) {
      return ADMIN_OFF;
    }
    int port = integer(Setting.ADMIN_PORT, value);
    if (port < 0) {
      throw new ConfigException(Setting.ADMIN_PORT.name(), "a TCP port 0-65535, or unset for no server API");
    }
    return port;
  }

  private static boolean bool(Setting setting, String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "true", "1", "yes" -> true;
      case "false", "0", "no" -> false;
      default -> throw new ConfigException(setting.name(), "true or false, got '" + value + "'");
    };
  }

  private static LogFormat logFormat(String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "json" -> LogFormat.JSON;
      case "text" -> LogFormat.TEXT;
      default -> throw new ConfigException(Setting.LOG_FORMAT.name(), "json or text, got '" + value + "'");
    };
  }

  private static Set<String> origins(String value) {
    List<String> parts = Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    for (String origin : parts) {
      if (!origin.matches("https?://[^/\\s]+")) {
        throw new ConfigException(Setting.ALLOWED_ORIGINS.name(),
            "a comma-separated list of origins like https://app.example.com, got '" + origin + "'");
      }
    }
    return parts.stream().map(o -> o.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
  }
}
