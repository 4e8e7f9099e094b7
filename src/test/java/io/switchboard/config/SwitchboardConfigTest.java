package io.switchboard.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Reading and validating the environment: defaults, and a ConfigException naming each bad variable. */
class SwitchboardConfigTest {

  @Test
  void usesDocumentedDefaultsWhenNothingIsSet() {
    SwitchboardConfig c = SwitchboardConfig.fromEnv(Map.of());
    assertEquals("0.0.0.0", c.host());
    assertEquals(8080, c.port());
    assertTrue(c.nodeId().matches("node-[0-9a-f]{8}"), c.nodeId());
    assertEquals(Math.max(1, Runtime.getRuntime().availableProcessors() / 2), c.eventLoops());
    assertEquals(65536, c.maxMessageBytes());
    assertEquals(1048576, c.maxFrameBytesHard());
    assertEquals(16, c.maxRoomsPerConnection());
    assertEquals(50, c.maxPeersPerRoom());
    assertEquals(50, c.rateLimitPerSecond());
    assertEquals(100, c.rateLimitBurst());
    assertEquals(100, c.floodCloseAfter());
    assertEquals(60, c.idleTimeoutSeconds());
    assertEquals(20, c.pingIntervalSeconds());
    assertEquals(10000, c.maxConnections());
    assertTrue(c.allowedOrigins().isEmpty());
    assertTrue(c.allowsAnyOrigin());
    assertFalse(c.permessageDeflate());
    assertEquals(1048576, c.writeQueueMaxBytes());
    assertEquals(10, c.shutdownGraceSeconds());
    assertEquals(5, c.drainDelaySeconds());
    assertEquals(SwitchboardConfig.LogFormat.JSON, c.logFormat());
    assertEquals("INFO", c.logLevel());
    assertEquals(SwitchboardConfig.defaults().port(), c.port());
    // Security: all off, so the default stays one command.
    assertFalse(c.tls().enabled());
    assertFalse(c.auth().enabled());
    assertEquals(30, c.auth().leewaySeconds());
    assertEquals(60, c.auth().expiryGraceSeconds());
    assertFalse(c.ice().configured());
    assertEquals(86400, c.ice().turnTtlSeconds());
    assertFalse(c.clientLimits().enabled());
    assertEquals(20, c.clientLimits().burst());
  }

  @Test
  void readsTheSecuritySettings() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("switchboard-config");
    java.nio.file.Path pem = dir.resolve("key.pem");
    java.security.KeyPairGenerator rsa = java.security.KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    java.nio.file.Files.writeString(pem, "issued by the test\n-----BEGIN PUBLIC KEY-----\n"
        + java.util.Base64.getMimeEncoder().encodeToString(rsa.generateKeyPair().getPublic().getEncoded())
        + "\n-----END PUBLIC KEY-----\n");
    Map<String, String> env = new HashMap<>();
    env.put("TLS_CERT_FILE", pem.toString());
    env.put("TLS_KEY_FILE", pem.toString());
    env.put("AUTH_JWT_PUBLIC_KEY_FILE", pem.toString());
    env.put("AUTH_JWT_ISSUER", "https://issuer.example");
    env.put("AUTH_JWT_AUDIENCE", "a, b");
    env.put("AUTH_JWT_LEEWAY_SECONDS", "5");
    env.put("AUTH_EXPIRY_GRACE_SECONDS", "0");
    env.put("STUN_URLS", "stun:s.example:3478");
    env.put("TURN_URLS", "turn:t.example:3478,turns:t.example:5349");
    env.put("TURN_SECRET", "0123456789abcdef");
    env.put("TURN_TTL_SECONDS", "600");
    env.put("CONNECTIONS_PER_IP_PER_SECOND", "5");
    env.put("CONNECTIONS_PER_IP_BURST", "7");
    env.put("MAX_CONNECTIONS_PER_IP", "9");
    env.put("CLIENT_IP_HEADER", "X-Forwarded-For");
    SwitchboardConfig c = SwitchboardConfig.fromEnv(env);
    assertTrue(c.tls().enabled());
    assertEquals("RS256", c.auth().algorithm(), "inferred from the key");
    assertTrue(c.auth().key().startsWith("-----BEGIN PUBLIC KEY-----\n"), "normalised PEM");
    assertEquals("https://issuer.example", c.auth().issuer());
    assertEquals(java.util.List.of("a", "b"), c.auth().audience());
    assertEquals(5, c.auth().leewaySeconds());
    assertEquals(0, c.auth().expiryGraceSeconds());
    assertEquals(java.util.List.of("turn:t.example:3478", "turns:t.example:5349"), c.ice().turnUrls());
    assertEquals(600, c.ice().turnTtlSeconds());
    assertEquals(new SwitchboardConfig.ClientLimits(5, 7, 9, "X-Forwarded-For"), c.clientLimits());
    assertFalse(c.toString().contains("0123456789abcdef"), "the TURN secret is not in the config's text");

    SwitchboardConfig hs = SwitchboardConfig.fromEnv(Map.of("AUTH_JWT_SECRET", "s".repeat(32)));
    assertEquals("HS256", hs.auth().algorithm());
    assertFalse(hs.toString().contains("s".repeat(32)), "the JWT secret is not in the config's text");
  }

  @Test
  void readsEveryVariable() {
    Map<String, String> env = new HashMap<>();
    env.put("HOST", "127.0.0.1");
    env.put("PORT", "0");
    env.put("NODE_ID", "edge-1");
    env.put("EVENT_LOOPS", "3");
    env.put("MAX_MESSAGE_BYTES", "2048");
    env.put("MAX_FRAME_BYTES_HARD", "4096");
    env.put("MAX_ROOMS_PER_CONNECTION", "4");
    env.put("MAX_PEERS_PER_ROOM", "2");
    env.put("RATE_LIMIT_PER_SECOND", "7");
    env.put("RATE_LIMIT_BURST", "9");
    env.put("FLOOD_CLOSE_AFTER", "11");
    env.put("IDLE_TIMEOUT_SECONDS", "5");
    env.put("PING_INTERVAL_SECONDS", "4");
    env.put("MAX_CONNECTIONS", "12");
    env.put("ALLOWED_ORIGINS", " https://A.example , http://b.example:8080 ");
    env.put("WS_PERMESSAGE_DEFLATE", "TRUE");
    env.put("WRITE_QUEUE_MAX_BYTES", "1024");
    env.put("SHUTDOWN_GRACE_SECONDS", "0");
    env.put("DRAIN_DELAY_SECONDS", "0");
    env.put("LOG_FORMAT", "Text");
    env.put("LOG_LEVEL", "debug");
    SwitchboardConfig c = SwitchboardConfig.fromEnv(env);
    assertEquals("127.0.0.1", c.host());
    assertEquals(0, c.port());
    assertEquals("edge-1", c.nodeId());
    assertEquals(3, c.eventLoops());
    assertEquals(2048, c.maxMessageBytes());
    assertEquals(4096, c.maxFrameBytesHard());
    assertEquals(4, c.maxRoomsPerConnection());
    assertEquals(2, c.maxPeersPerRoom());
    assertEquals(7, c.rateLimitPerSecond());
    assertEquals(9, c.rateLimitBurst());
    assertEquals(11, c.floodCloseAfter());
    assertEquals(5, c.idleTimeoutSeconds());
    assertEquals(4, c.pingIntervalSeconds());
    assertEquals(12, c.maxConnections());
    assertEquals(Set.of("https://a.example", "http://b.example:8080"), c.allowedOrigins());
    assertFalse(c.allowsAnyOrigin());
    assertTrue(c.permessageDeflate());
    assertEquals(1024, c.writeQueueMaxBytes());
    assertEquals(0, c.shutdownGraceSeconds());
    assertEquals(0, c.drainDelaySeconds());
    assertEquals(SwitchboardConfig.LogFormat.TEXT, c.logFormat());
    assertEquals("DEBUG", c.logLevel());
  }

  @Test
  void printsRedisUrlWithoutItsPassword() {
    String printed = SwitchboardConfig.fromEnv(Map.of("REDIS_URL", "redis://app:s3cret-pw@redis:6379/0")).toString();
    assertTrue(printed.contains("redisUrl=redis://app:***@redis:6379/0"), printed);
    assertFalse(printed.contains("s3cret-pw"), printed);
    assertEquals("rediss://:***@h:6380", SwitchboardConfig.withoutPassword("rediss://:pw@h:6380"));
    assertEquals("redis://h:6379", SwitchboardConfig.withoutPassword("redis://h:6379"));
  }

  @Test
  void transportIsEpollUnlessIoUringIsAskedFor() {
    assertEquals(SwitchboardConfig.Transport.EPOLL, SwitchboardConfig.fromEnv(Map.of()).transport());
    assertEquals(SwitchboardConfig.Transport.IO_URING, SwitchboardConfig.fromEnv(Map.of("TRANSPORT", "IO_URING")).transport());
    ConfigException bad = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(Map.of("TRANSPORT", "kqueue")));
    assertTrue(bad.getMessage().contains("TRANSPORT"), bad.getMessage());
  }

  @Test
  void readsSentinelModeWithEverySentinelsUrlAndMasksTheirPasswords() {
    SwitchboardConfig c = SwitchboardConfig.fromEnv(Map.of("REDIS_MODE", "sentinel",
        "REDIS_URL", "redis://:pw1@s1:26379, rediss://app:pw2@s2:26380/2,redis://s3:26379",
        "REDIS_SENTINEL_MASTER", "mymaster"));
    assertEquals(SwitchboardConfig.RedisMode.SENTINEL, c.redisMode());
    assertEquals(List.of("redis://:pw1@s1:26379", "rediss://app:pw2@s2:26380/2", "redis://s3:26379"), c.redisUrls());
    assertEquals("mymaster", c.redisSentinelMaster());
    assertTrue(c.clustered());
    String printed = c.toString();
    assertTrue(printed.contains("redisUrl=redis://:***@s1:26379,rediss://app:***@s2:26380/2,redis://s3:26379"), printed);
    assertFalse(printed.contains("pw1") || printed.contains("pw2"), printed);
    assertEquals(SwitchboardConfig.RedisMode.STANDALONE, SwitchboardConfig.defaults().redisMode());
  }

  @Test
  void sentinelModeNeedsTheSentinelsAndTheMastersName() {
    ConfigException noMaster = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(
        Map.of("REDIS_MODE", "sentinel", "REDIS_URL", "redis://s1:26379")));
    assertEquals("REDIS_SENTINEL_MASTER", noMaster.variable());
    ConfigException noUrl = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(
        Map.of("REDIS_MODE", "sentinel", "REDIS_SENTINEL_MASTER", "mymaster")));
    assertEquals("REDIS_URL", noUrl.variable());
    ConfigException emptyEntry = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(
        Map.of("REDIS_MODE", "sentinel", "REDIS_URL", "redis://s1:26379,,redis://s2:26379",
            "REDIS_SENTINEL_MASTER", "mymaster")));
    assertEquals("REDIS_URL", emptyEntry.variable());
  }

  @Test
  void clusterModeTakesSeedNodesWithResumeOnOrOff() {
    SwitchboardConfig cluster = SwitchboardConfig.fromEnv(Map.of("REDIS_MODE", "cluster",
        "REDIS_URL", "redis://n1:6379,redis://n2:6379", "RESUME_WINDOW_SECONDS", "0"));
    assertEquals(SwitchboardConfig.RedisMode.CLUSTER, cluster.redisMode());
    assertEquals(List.of("redis://n1:6379", "redis://n2:6379"), cluster.redisUrls());
    assertTrue(cluster.clustered());
    SwitchboardConfig resumable = SwitchboardConfig.fromEnv(Map.of("REDIS_MODE", "cluster", "REDIS_URL",
        "redis://n1:6379"));
    assertTrue(resumable.resume().enabled());
    ConfigException noUrl = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(
        Map.of("REDIS_MODE", "cluster", "RESUME_WINDOW_SECONDS", "0")));
    assertEquals("REDIS_URL", noUrl.variable());
  }

  @Test
  void aClusterSpreadsItsKeysUnlessOneSlotIsAskedForOrAReplicaWaitNeedsIt() {
    Map<String, String> cluster = Map.of("REDIS_MODE", "cluster", "REDIS_URL", "redis://n1:6379");
    assertEquals(SwitchboardConfig.ClusterLayout.SPREAD, SwitchboardConfig.fromEnv(cluster).redisClusterLayout());
    assertEquals(SwitchboardConfig.ClusterLayout.ONE_SLOT,
        SwitchboardConfig.fromEnv(with(cluster, "REDIS_CLUSTER_LAYOUT", "one-slot")).redisClusterLayout());
    assertEquals(SwitchboardConfig.ClusterLayout.ONE_SLOT,
        SwitchboardConfig.fromEnv(with(cluster, "REDIS_WAIT_REPLICAS", "1")).redisClusterLayout());
    assertEquals(SwitchboardConfig.ClusterLayout.SPREAD,
        SwitchboardConfig.fromEnv(with(cluster, "REDIS_CLUSTER_LAYOUT", "spread")).redisClusterLayout());
    for (Map<String, String> refused : List.of(
        with(with(cluster, "REDIS_WAIT_REPLICAS", "1"), "REDIS_CLUSTER_LAYOUT", "spread"),
        with(cluster, "REDIS_CLUSTER_LAYOUT", "sharded"),
        Map.of("REDIS_URL", "redis://r:6379", "REDIS_CLUSTER_LAYOUT", "one-slot"))) {
      ConfigException e = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(refused),
          refused.toString());
      assertEquals("REDIS_CLUSTER_LAYOUT", e.variable(), refused.toString());
    }
  }

  private static Map<String, String> with(Map<String, String> env, String name, String value) {
    Map<String, String> out = new java.util.HashMap<>(env);
    out.put(name, value);
    return out;
  }

  @Test
  void waitingForReplicasNeedsRedisAndResume() {
    assertEquals(0, SwitchboardConfig.defaults().resume().waitReplicas());
    SwitchboardConfig sentinel = SwitchboardConfig.fromEnv(Map.of("REDIS_MODE", "sentinel",
        "REDIS_URL", "redis://s1:26379", "REDIS_SENTINEL_MASTER", "mymaster", "REDIS_WAIT_REPLICAS", "1"));
    assertEquals(1, sentinel.resume().waitReplicas());
    SwitchboardConfig cluster = SwitchboardConfig.fromEnv(Map.of("REDIS_MODE", "cluster",
        "REDIS_URL", "redis://n1:6379,redis://n2:6379", "REDIS_WAIT_REPLICAS", "1"));
    assertEquals(1, cluster.resume().waitReplicas());
    for (Map<String, String> refused : List.of(
        Map.of("REDIS_WAIT_REPLICAS", "1"),
        Map.of("REDIS_URL", "redis://r:6379", "REDIS_WAIT_REPLICAS", "17"),
        Map.of("REDIS_URL", "redis://r:6379", "REDIS_WAIT_REPLICAS", "1", "RESUME_WINDOW_SECONDS", "0"),
        Map.of("REDIS_MODE", "cluster", "REDIS_URL", "redis://n1:6379", "REDIS_WAIT_REPLICAS", "1",
            "RESUME_WINDOW_SECONDS", "0"))) {
      ConfigException e = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(refused),
          refused.toString());
      assertEquals("REDIS_WAIT_REPLICAS", e.variable(), refused.toString());
    }
  }

  @Test
  void readsTheServerApiSettingsAndNeverPrintsTheKey() {
    SwitchboardConfig off = SwitchboardConfig.defaults();
    assertFalse(off.adminEnabled());
    assertEquals(SwitchboardConfig.ADMIN_OFF, off.adminPort());
    assertEquals("", off.adminApiKey());

    String key = "k".repeat(SwitchboardConfig.MIN_ADMIN_API_KEY_CHARS);
    SwitchboardConfig on = SwitchboardConfig.fromEnv(Map.of("ADMIN_PORT", "9090", "ADMIN_API_KEY", key));
    assertTrue(on.adminEnabled());
    assertEquals(9090, on.adminPort());
    assertEquals(key, on.adminApiKey());
    assertFalse(on.toString().contains(key), on.toString());
    assertTrue(on.toString().contains("adminApiKey=set"), on.toString());

    // Both random (tests), or a port without a key (the API then refuses every request).
    assertEquals(0, SwitchboardConfig.fromEnv(Map.of("PORT", "0", "ADMIN_PORT", "0")).adminPort());
    assertEquals("", SwitchboardConfig.fromEnv(Map.of("ADMIN_PORT", "9090")).adminApiKey());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      // variable at fault | the environment, as NAME=value pairs separated by ';'
      "ADMIN_PORT|ADMIN_PORT=abc",
      "ADMIN_PORT|ADMIN_PORT=70000",
      "ADMIN_PORT|ADMIN_PORT=-1",
      "ADMIN_PORT|ADMIN_PORT=8080",
      "ADMIN_PORT|PORT=9000;ADMIN_PORT=9000",
      "ADMIN_API_KEY|ADMIN_PORT=9090;ADMIN_API_KEY=short-key",
      "ADMIN_API_KEY|ADMIN_PORT=9090;ADMIN_API_KEY=kkkkkkkkkkkkkkkk kkkkkkkkkkkkkkkkkkkk",
      "ADMIN_API_KEY|ADMIN_API_KEY=kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"})
  void rejectsBadServerApiSettings(String variable, String pairs) {
    Map<String, String> env = new HashMap<>();
    for (String pair : pairs.split(";")) {
      String[] kv = pair.split("=", 2);
      env.put(kv[0], kv[1]);
    }
    ConfigException e = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(env));
    assertEquals(variable, e.variable());
    assertFalse(e.getMessage().contains("kkkkkkkk"), "never the key: " + e.getMessage());
  }

  @Test
  void treatsBlankValuesAsUnset() {
    SwitchboardConfig c = SwitchboardConfig.fromEnv(Map.of("PORT", "  ", "LOG_FORMAT", ""));
    assertEquals(8080, c.port());
    assertEquals(SwitchboardConfig.LogFormat.JSON, c.logFormat());
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', value = {
      "PORT|abc",
      "PORT|70000",
      "PORT|-1",
      "EVENT_LOOPS|0",
      "NODE_ID|bad id",
      "MAX_MESSAGE_BYTES|100",
      "MAX_PEERS_PER_ROOM|1",
      "MAX_ROOMS_PER_CONNECTION|0",
      "RATE_LIMIT_PER_SECOND|0",
      "RATE_LIMIT_BURST|x",
      "FLOOD_CLOSE_AFTER|0",
      "IDLE_TIMEOUT_SECONDS|0",
      "MAX_CONNECTIONS|0",
      "WRITE_QUEUE_MAX_BYTES|10",
      "SHUTDOWN_GRACE_SECONDS|-1",
      "DRAIN_DELAY_SECONDS|-1",
      "DRAIN_DELAY_SECONDS|301",
      "LOG_FORMAT|xml",
      "LOG_LEVEL|LOUD",
      "ALLOWED_ORIGINS|not-a-url",
      "ALLOWED_ORIGINS|https://ok.example,https://ok.example/path",
      "WS_PERMESSAGE_DEFLATE|maybe",
      "REDIS_URL|http://redis:6379",
      "REDIS_URL|redis://a:6379,redis://b:6379",
      "REDIS_MODE|replica",
      "REDIS_SENTINEL_MASTER|mymaster",
      "REDIS_TLS_CA_FILE|/no/such/ca.pem",
      "REDIS_KEY_PREFIX|has space",
      "NODE_HEARTBEAT_MS|10",
      "NODE_TIMEOUT_MS|1500",
      "REDIS_TIMEOUT_MS|0",
      "TLS_CERT_FILE|/no/such/cert.pem",
      "TLS_KEY_FILE|/no/such/key.pem",
      "AUTH_JWT_SECRET|too-short",
      "AUTH_JWT_PUBLIC_KEY_FILE|/no/such/key.pem",
      "AUTH_JWT_ALGORITHM|HS256",
      "AUTH_JWT_ISSUER|https://issuer.example",
      "AUTH_JWT_AUDIENCE|switchboard",
      "AUTH_JWT_LEEWAY_SECONDS|301",
      "AUTH_EXPIRY_GRACE_SECONDS|-1",
      "STUN_URLS|http://stun.example",
      "TURN_URLS|turn:t.example",
      "TURN_SECRET|0123456789abcdef",
      "TURN_TTL_SECONDS|10",
      "CONNECTIONS_PER_IP_PER_SECOND|-1",
      "CONNECTIONS_PER_IP_BURST|0",
      "MAX_CONNECTIONS_PER_IP|-1",
      "CLIENT_IP_HEADER|X Forwarded",
      "HANDSHAKE_TIMEOUT_MS|99",
      "HANDSHAKE_TIMEOUT_MS|300001",
      "MAX_PENDING_HANDSHAKES_PER_IP|-1",
      "WARMUP_CONNECTIONS|-2",
      "WARMUP_CONNECTIONS|101",
      "WARMUP_CONNECTIONS|100002"})
  void rejectsABadValueNamingTheVariable(String variable, String value) {
    ConfigException e = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(Map.of(variable, value)));
    assertEquals(variable, e.variable());
    assertTrue(e.getMessage().contains(variable), e.getMessage());
  }

  @ParameterizedTest(name = "PING_INTERVAL_SECONDS={0}, IDLE_TIMEOUT_SECONDS={1}")
  @CsvSource({"10,10", "11,10", "0,10"})
  void rejectsPingIntervalNotBelowIdleTimeout(String ping, String idle) {
    ConfigException e = assertThrows(ConfigException.class,
        () -> SwitchboardConfig.fromEnv(Map.of("PING_INTERVAL_SECONDS", ping, "IDLE_TIMEOUT_SECONDS", idle)));
    assertEquals("PING_INTERVAL_SECONDS", e.variable());
    assertTrue(e.getMessage().contains("PING_INTERVAL_SECONDS"), e.getMessage());
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      // variable at fault | the rest of the environment, as NAME=value pairs separated by ';'
      "AUTH_JWT_PUBLIC_KEY_FILE|AUTH_JWT_SECRET=ssssssssssssssssssssssssssssssss;AUTH_JWT_PUBLIC_KEY_FILE=pom.xml",
      "AUTH_JWT_PUBLIC_KEY_FILE|AUTH_JWT_PUBLIC_KEY_FILE=pom.xml",
      "AUTH_JWT_ALGORITHM|AUTH_JWT_SECRET=ssssssssssssssssssssssssssssssss;AUTH_JWT_ALGORITHM=RS256",
      "TLS_CERT_FILE|TLS_CERT_FILE=pom.xml",
      "TURN_SECRET|TURN_URLS=turn:t.example;TURN_SECRET=short"})
  void rejectsInconsistentSecuritySettings(String variable, String pairs) {
    Map<String, String> env = new HashMap<>();
    for (String pair : pairs.split(";")) {
      String[] kv = pair.split("=", 2);
      env.put(kv[0], kv[1]);
    }
    ConfigException e = assertThrows(ConfigException.class, () -> SwitchboardConfig.fromEnv(env));
    assertEquals(variable, e.variable());
    assertFalse(e.getMessage().contains("ssssssss"), "never the secret: " + e.getMessage());
  }

  @Test
  void rejectsHardFrameLimitBelowMessageLimit() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> SwitchboardConfig.fromEnv(Map.of("MAX_MESSAGE_BYTES", "8192", "MAX_FRAME_BYTES_HARD", "4096")));
    assertEquals("MAX_FRAME_BYTES_HARD", e.variable());
    assertTrue(e.getMessage().contains("MAX_FRAME_BYTES_HARD"), e.getMessage());
  }
}
