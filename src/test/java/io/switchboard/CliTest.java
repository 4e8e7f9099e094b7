package io.switchboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.config.SwitchboardConfig.Setting;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The command-line options, run in-process on a given environment (CommandLineIT runs them on
 * the real jar): what each prints and its exit code.
 */
class CliTest {
  private record Run(int exitCode, String out, String err) {}

  private static Run run(Map<String, String> env, String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Cli.run(List.of(args), env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void helpListsEverySettingWithItsDefaultAndTheReadmesMeaning() {
    Run help = run(Map.of(), "--help");
    assertEquals(0, help.exitCode());
    assertEquals("", help.err());
    for (Setting setting : Setting.values()) {
      assertTrue(help.out().contains("  " + setting.name() + " "), setting + " in --help:\n" + help.out());
    }
    // Meanings come from the README's table, packed into the build output.
    assertTrue(help.out().contains("sockets per node; the next upgrade gets HTTP 503"), help.out());
    assertTrue(help.out().contains("default: 10000"), help.out());
    assertTrue(help.out().contains("--check-config"), help.out());
    assertTrue(!help.out().contains("`"), "plain text, not Markdown");
  }

  @Test
  void versionPrintsTheBuildsVersionAndCommit() {
    Run version = run(Map.of(), "--version");
    assertEquals(0, version.exitCode());
    BuildInfo build = BuildInfo.current();
    assertEquals("switchboard " + build.version() + " (commit " + build.commit() + ")", version.out().strip());
    assertTrue(build.version().matches("\\d+\\.\\d+\\.\\d+.*"), "the Maven version: " + build.version());
    assertTrue(build.commit().equals("unknown") || build.commit().matches("[0-9a-f]{7,40}"), build.commit());
  }

  @Test
  void trainRunsItsWorkloadOnAnEmbeddedLoopbackNodeWhateverTheEnvironmentSays() {
    // A Redis URL and a port that are not there: the training uses neither.
    Run train = run(Map.of("REDIS_URL", "redis://127.0.0.1:1", "PORT", "1"), "--train");
    assertEquals(0, train.exitCode(), train.err());
    assertTrue(train.out().startsWith("trained: 2000 connections, 20 relays each, 1000 resumes"), train.out());
  }

  @Test
  void checkConfigAcceptsAGoodEnvironment() {
    Run ok = run(Map.of("MAX_CONNECTIONS", "500", "REDIS_URL", "redis://redis:6379", "NODE_ID", "a"), "--check-config");
    assertEquals(0, ok.exitCode(), ok.err());
    assertTrue(ok.out().startsWith("configuration OK: node a on 0.0.0.0:8080"), ok.out());
    assertTrue(ok.out().contains("backplane redis") && ok.out().contains("MAX_CONNECTIONS 500"), ok.out());
    assertEquals("", ok.err());
  }

  @Test
  void checkConfigNamesEveryBadVariableAndExits2() {
    Run bad = run(Map.of("MAX_CONNECTIONS", "lots", "DRAIN_DELAY_SECONDS", "900", "REDIS_URL", "http://redis"),
        "--check-config");
    assertEquals(2, bad.exitCode());
    assertEquals("", bad.out());
    for (String variable : List.of("MAX_CONNECTIONS", "DRAIN_DELAY_SECONDS", "REDIS_URL")) {
      assertTrue(bad.err().contains("invalid configuration: " + variable + " must be"), variable + ":\n" + bad.err());
    }
    assertTrue(bad.err().contains("3 problems: the server would not start"), bad.err());
  }

  @Test
  void checkConfigReportsAConflictOnceAndStops() {
    // The ping interval must be below the idle timeout; at its default (20) it still is not.
    Run bad = run(Map.of("IDLE_TIMEOUT_SECONDS", "10"), "--check-config");
    assertEquals(2, bad.exitCode());
    assertTrue(bad.err().contains("PING_INTERVAL_SECONDS"), bad.err());
  }

  @Test
  void checkConfigWarnsAboutAMisspeltSettingWithoutFailing() {
    Run typo = run(Map.of("AUTH_JWT_SECRT", "x", "NODE_OPTIONS", "--max-old-space-size=1"), "--check-config");
    assertEquals(0, typo.exitCode());
    assertTrue(typo.err().contains("warning: AUTH_JWT_SECRT is not a Switchboard setting"), typo.err());
    assertTrue(!typo.err().contains("NODE_OPTIONS"), "other software's variables are not flagged: " + typo.err());
  }

  @Test
  void anUnknownOptionOrTwoOptionsAreAUsageError() {
    Run unknown = run(Map.of(), "--serve");
    assertEquals(2, unknown.exitCode());
    assertTrue(unknown.err().contains("unknown option: --serve") && unknown.err().contains("Usage:"), unknown.err());
    assertEquals(2, run(Map.of(), "--help", "--version").exitCode());
  }
}
