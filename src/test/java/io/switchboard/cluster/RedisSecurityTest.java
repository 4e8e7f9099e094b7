package io.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.RedisFixture;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Redis backplane against a Redis that wants a password, and one that speaks only TLS. */
class RedisSecurityTest {
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private <T extends AutoCloseable> T track(T resource) {
    toClose.add(resource);
    return resource;
  }

  private void assertTwoNodesRelay(Map<String, String> env) {
    String prefix = RedisFixture.uniquePrefix();
    Map<String, String> a = new HashMap<>(env);
    a.putAll(Map.of("REDIS_KEY_PREFIX", prefix, "NODE_ID", "a"));
    Map<String, String> b = new HashMap<>(env);
    b.putAll(Map.of("REDIS_KEY_PREFIX", prefix, "NODE_ID", "b"));
    ServerFixture nodeA = track(ServerFixture.start(a));
    ServerFixture nodeB = track(ServerFixture.start(b));
    TestClient alice = nodeA.connect();
    TestClient bob = nodeB.connect();
    alice.join("secure", null);
    bob.join("secure", null);
    alice.next("peer-joined");
    bob.send("{\"type\":\"offer\",\"room\":\"secure\",\"to\":\"" + alice.peerId() + "\",\"data\":{\"sdp\":\"x\"}}");
    assertEquals(bob.peerId(), alice.next("offer").getString("from"));
  }

  @Test
  void relaysThroughARedisThatWantsAPassword() {
    RedisFixture redis = track(RedisFixture.withPassword("s3cret-pw"));
    assertTwoNodesRelay(Map.of("REDIS_URL", redis.uri()));
  }

  @Test
  void refusesToStartWithAWrongPassword() {
    RedisFixture redis = track(RedisFixture.withPassword("s3cret-pw"));
    String wrong = redis.uri().replace("s3cret-pw", "not-it");
    Throwable failure = assertThrows(Throwable.class,
        () -> track(ServerFixture.start(Map.of("REDIS_URL", wrong, "REDIS_TIMEOUT_MS", "500"))));
    assertTrue(String.valueOf(failure.getMessage()).contains("backplane did not start"), failure.toString());
  }

  @Test
  void relaysThroughARedisThatSpeaksOnlyTls() throws Exception {
    Path dir = Files.createTempDirectory("switchboard-tls");
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    // A self-signed certificate for 127.0.0.1, which is also the CA the nodes trust.
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", key.toString(), "-out", cert.toString(), "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1")
        .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
    assertTrue(openssl.waitFor(30, TimeUnit.SECONDS) && openssl.exitValue() == 0,
        "openssl failed: " + readQuietly(dir.resolve("openssl.log")));
    RedisFixture redis = track(RedisFixture.withTls(cert, key));
    assertTrue(redis.uri().startsWith("rediss://"));
    assertTwoNodesRelay(Map.of("REDIS_URL", redis.uri(), "REDIS_TLS_CA_FILE", cert.toString()));
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return e.toString();
    }
  }
}
