package io.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS_CERT_FILE and TLS_KEY_FILE turn on wss:// and https:// on the same port: with a self-signed
 * certificate made by openssl at test time, a client that trusts it talks wss and https; a plain
 * ws:// client gets nowhere.
 */
class TlsTest {
  private static Path cert;
  private static Path key;

  @BeforeAll
  static void makeCertificate() throws Exception {
    Path dir = Files.createTempDirectory("switchboard-tls");
    cert = dir.resolve("cert.pem");
    key = dir.resolve("key.pem");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", key.toString(), "-out", cert.toString(), "-days", "1", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1")
        .redirectErrorStream(true).redirectOutput(dir.resolve("openssl.log").toFile()).start();
    assertTrue(openssl.waitFor(30, TimeUnit.SECONDS) && openssl.exitValue() == 0,
        "openssl failed: " + Files.readString(dir.resolve("openssl.log")));
  }

  @Test
  void servesWssAndHttpsOnTheSamePort() throws Exception {
    try (ServerFixture f = ServerFixture.start(Map.of("TLS_CERT_FILE", cert.toString(), "TLS_KEY_FILE", key.toString(),
        "STUN_URLS", "stun:stun.example.org"))) {
      WebSocketClient wss = f.clientVertx().createWebSocketClient(new WebSocketClientOptions()
          .setSsl(true)
          .setTrustOptions(new PemTrustOptions().addCertPath(cert.toString()))
          .setVerifyHost(true));
      TestClient a = f.track(TestClient.open(wss, TestClient.options(f.port(), "/ws", null), "tls-a"));
      TestClient b = f.track(TestClient.open(wss, TestClient.options(f.port(), "/ws", null), "tls-b"));
      a.welcome();
      b.welcome();
      a.join("secure");
      b.join("secure");
      a.next("peer-joined");
      b.send("{\"type\":\"offer\",\"room\":\"secure\",\"to\":\"" + a.peerId() + "\",\"data\":{\"sdp\":\"v=0\"}}");
      assertEquals(new JsonObject().put("sdp", "v=0"), a.next("offer").getJsonObject("data"));

      HttpClient https = HttpClient.newBuilder().sslContext(trusting(cert)).connectTimeout(TestClient.WAIT).build();
      HttpResponse<String> live = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + f.port() + "/health/live"))
          .timeout(TestClient.WAIT).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, live.statusCode());
      HttpResponse<String> ice = https.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + f.port() + "/ice-servers"))
          .timeout(TestClient.WAIT).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ice.statusCode());

      // Plain ws:// on the TLS port is not a WebSocket handshake the server can read.
      assertThrows(Throwable.class, () -> TestClient.open(f.webSocketClient(), TestClient.options(f.port(), "/ws", null), "plain"));
      // A client that does not trust the certificate refuses the connection.
      WebSocketClient untrusting = f.clientVertx().createWebSocketClient(new WebSocketClientOptions().setSsl(true));
      assertThrows(Throwable.class, () -> TestClient.open(untrusting, TestClient.options(f.port(), "/ws", null), "untrusting"));
    }
  }

  private static SSLContext trusting(Path pem) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    try (InputStream in = Files.newInputStream(pem)) {
      store.setCertificateEntry("switchboard", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, tmf.getTrustManagers(), null);
    return context;
  }
}
