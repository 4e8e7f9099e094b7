package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.signaling.port.Backplane;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.Tls;
import java.nio.file.Files;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Everything {@link RedisClusterBackplaneTest} runs, on a cluster whose nodes require a password
 * and serve TLS on the ports they announce (replication, the cluster bus and MIGRATE over TLS
 * too), the nodes on {@code rediss://} seeds trusting its certificate; and a node that does not
 * trust it does not start.
 */
class RedisClusterTlsTest extends RedisClusterBackplaneTest {

  @BeforeAll
  static void serveTls() throws Exception {
    tls = Tls.selfSigned(Files.createTempDirectory("switchboard-cluster-tls"));
  }

  @Test
  void theSeedsAreTlsUrls() {
    assertTrue(cluster.seedUrls().stream().allMatch(url -> url.startsWith("rediss://")), cluster.seedUrls().toString());
  }

  @Test
  void aNodeThatDoesNotTrustTheCertificateDoesNotStart() {
    // No CA file: the JVM's default trust store, which knows nothing of a self-signed certificate.
    Backplane node = node(cluster.seedUrls(), "untrusting", "");
    Exception failed = assertThrows(Exception.class, () -> await(node.start(new IgnoringListener())));
    // The client names each seed's failure in its message: the handshake, not an outage or a timeout.
    String message = String.valueOf(failed.getMessage());
    assertTrue(message.contains("SSLHandshakeException") && message.contains("PKIX"), failed.toString());
  }
}
