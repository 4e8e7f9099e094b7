package io.switchboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.config.SwitchboardConfig.Setting;
import io.switchboard.support.NodeProcess;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The real jar's command line: {@code --help}, {@code --version} and {@code --check-config} print
 * and exit without starting a server, and a running node's JSON log lines carry its node id.
 */
class CommandLineIT {
  private record Run(int exitCode, String out, String err) {}

  private static Run java(Map<String, String> env, String... args) throws IOException, InterruptedException {
    String jar = System.getProperty("switchboard.jar", "target/switchboard.jar");
    assertTrue(new File(jar).isFile(), "run after 'mvn package': missing " + jar);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path out = Files.createTempFile("cli", ".out");
    Path err = Files.createTempFile("cli", ".err");
    try {
      ProcessBuilder builder = new ProcessBuilder(java, "-Xmx64m", "-jar", jar)
          .redirectOutput(out.toFile()).redirectError(err.toFile());
      builder.command().addAll(List.of(args));
      // Only what the test sets: the test JVM's own environment must not leak settings in.
      for (Setting s : Setting.values()) {
        builder.environment().remove(s.name());
      }
      builder.environment().putAll(env);
      Process process = builder.start();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("java -jar " + String.join(" ", args) + " did not exit within 30 s (a server started?)");
      }
      return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  @Test
  void helpPrintsTheSettingsAndExitsWithoutStartingAServer() throws Exception {
    // The port is taken: a server starting anyway would fail to bind and exit 1.
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Run help = java(Map.of("HOST", "127.0.0.1", "PORT", Integer.toString(taken.getLocalPort())), "--help");
      assertEquals(0, help.exitCode(), help.err());
      for (Setting setting : Setting.values()) {
        assertTrue(help.out().contains(setting.name()), setting + " missing from --help");
      }
      assertTrue(help.out().contains("sockets per node"), "meanings from the README packed into the jar");
      assertFalse(help.out().contains("listening"), help.out());
      assertEquals("", help.err());
    }
  }

  @Test
  void versionPrintsTheVersionTheBuildRecorded() throws Exception {
    Run version = java(Map.of(), "--version");
    assertEquals(0, version.exitCode(), version.err());
    BuildInfo build = BuildInfo.current();
    assertEquals("switchboard " + build.version() + " (commit " + build.commit() + ")", version.out().strip());
  }

  @Test
  void checkConfigExits0Or2() throws Exception {
    Run ok = java(Map.of("REDIS_URL", "redis://127.0.0.1:6379"), "--check-config");
    assertEquals(0, ok.exitCode(), ok.err());
    assertTrue(ok.out().startsWith("configuration OK"), ok.out());
    Run bad = java(Map.of("PORT", "eighty", "TLS_CERT_FILE", "/nonexistent/cert.pem"), "--check-config");
    assertEquals(2, bad.exitCode(), bad.out());
    assertTrue(bad.err().contains("PORT"), bad.err());
    assertTrue(bad.err().contains("TLS_CERT_FILE"), bad.err());
  }

  @Test
  void jsonLogLinesCarryTheNodeAsAField() throws Exception {
    ObjectMapper json = new ObjectMapper();
    Path log;
    try (NodeProcess node = NodeProcess.start("cli-json-node", Map.of("LOG_FORMAT", "json", "DRAIN_DELAY_SECONDS", "0"), NodeProcess.logDirectory())) {
      log = node.log();
      node.terminate();
      node.awaitExit(java.time.Duration.ofSeconds(30));
    }
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    assertTrue(lines.size() >= 2, "start-up and shutdown lines: " + lines);
    for (String line : lines) {
      // Every line, the first included: nothing but JSON reaches stdout (no launcher banner).
      JsonNode entry = json.readTree(line);
      assertEquals("cli-json-node", entry.path("node").asText(), line);
      assertTrue(entry.path("message").isTextual() && entry.path("level").isTextual(), line);
    }
    assertTrue(lines.get(0).contains("listening"), lines.get(0));
  }

  @Test
  void aNodeWarmsUpOnALoopbackNodeOfItsOwnBeforeItListensAndThenServesAsUsual() throws Exception {
    // Authentication and a Redis that is not there: the warm-up's own node uses neither, so its
    // clients are not refused and nothing reaches outside.
    Map<String, String> env = Map.of("WARMUP_CONNECTIONS", "200", "DRAIN_DELAY_SECONDS", "0",
        "AUTH_JWT_SECRET", "a-secret-of-at-least-thirty-two-bytes!!", "MAX_CONNECTIONS_PER_IP", "1");
    Path log;
    try (NodeProcess node = NodeProcess.start("cli-warm-node", env, NodeProcess.logDirectory())) {
      log = node.log();
      assertEquals(200, node.readyStatus());
      // The node itself still applies what the warm-up left out.
      try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), node.port())) {
        socket.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
            + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String status = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
            StandardCharsets.US_ASCII)).readLine();
        assertEquals("HTTP/1.1 401 Unauthorized", status, "no token, no socket");
      }
      node.terminate();
      assertEquals(0, node.awaitExit(java.time.Duration.ofSeconds(30)));
    }
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    int warming = indexOf(lines, "warming up: 200 connections");
    int warmed = indexOf(lines, "warmed up in");
    int listening = indexOf(lines, "listening on");
    assertTrue(warming >= 0 && warming < warmed && warmed < listening, String.join("\n", lines));
    // One peer of each of the 100 pairs drops its socket halfway and resumes.
    assertTrue(lines.get(warmed).contains("(100 sessions resumed)"), lines.get(warmed));
    assertTrue(lines.stream().noneMatch(l -> l.contains("warm-up did not finish")), String.join("\n", lines));
  }

  private static int indexOf(List<String> lines, String text) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains(text)) {
        return i;
      }
    }
    return -1;
  }
}
