package io.switchboard.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A certificate and its key (PEM), for the Redis fixtures' processes to serve TLS with. The
 * certificate is also the CA the processes trust, so that they can reach one another over TLS
 * (replication, the cluster bus) with a self-signed one; clients are not asked for certificates.
 */
public record Tls(Path cert, Path key) {
  /**
   * A new self-signed certificate for 127.0.0.1 (subject and IP SAN, so that hostname
   * verification passes), valid for a day, written into {@code dir}; clients trust it by taking
   * {@link #cert()} as their CA file.
   */
  public static Tls selfSigned(Path dir) {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    Path log = dir.resolve("openssl.log");
    try {
      Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
          "-keyout", key.toString(), "-out", cert.toString(), "-days", "1", "-subj", "/CN=127.0.0.1",
          "-addext", "subjectAltName=IP:127.0.0.1")
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!openssl.waitFor(30, TimeUnit.SECONDS) || openssl.exitValue() != 0) {
        openssl.destroyForcibly();
        throw new AssertionError("openssl failed:\n" + Files.readString(log, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new AssertionError("cannot run openssl", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    return new Tls(cert, key);
  }

  /** The {@code redis-server} options that serve TLS on {@code port} and replicate over TLS. */
  public List<String> serverArgs(int port) {
    return List.of("--tls-port", Integer.toString(port), "--tls-cert-file", cert.toString(),
        "--tls-key-file", key.toString(), "--tls-ca-cert-file", cert.toString(),
        "--tls-auth-clients", "no", "--tls-replication", "yes");
  }

  /** The same options as lines of a configuration file. */
  public String confLines(int port) {
    List<String> args = serverArgs(port);
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < args.size(); i += 2) {
      lines.append(args.get(i).substring(2)).append(' ').append(args.get(i + 1)).append('\n');
    }
    return lines.toString();
  }
}
