package io.switchboard.support;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a Node.js script of {@code src/test/node} as its own OS process, for tests that check the
 * server against client code it does not control (real npm packages such as peer-data).
 *
 * <p>{@code node} and {@code npm} are taken from PATH. When they are missing the test fails under
 * {@code CI=true}, saying how to install them, and is skipped elsewhere. The first run in a JVM
 * runs {@code npm ci} when {@code node_modules} is missing or older than
 * {@code package-lock.json}. Every run is bounded: a script still running at its timeout is
 * killed and the test fails. The script's stdout must be a single JSON object; it is returned
 * parsed, with the exit code and stderr for failure messages.
 */
public final class NodeScript {
  /** The npm project holding the scripts, relative to the Maven base directory. */
  public static final Path DIR =
      Path.of(System.getProperty("basedir", System.getProperty("user.dir")), "src", "test", "node");
  private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration KILL_WAIT = Duration.ofSeconds(5);
  private static final String INSTALL_ADVICE = "Install Node.js 18 or newer with npm"
      + " (Debian: apt-get install nodejs npm) and put node and npm on PATH.";

  private static Path node;
  /** Why {@code npm ci} failed, so that later tests of this JVM fail at once with the same reason. */
  private static String installFailure;

  /** What one run produced; {@code output} is null when stdout was empty (bad usage, a crash). */
  public record Result(int exitCode, JsonObject output, String stdout, String stderr) {
    /** The exit code, stdout and stderr, for assertion messages. */
    public String describe() {
      return "exit code " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }
  }

  private NodeScript() {
  }

  /**
   * Runs {@code node script config} in {@link #DIR}, {@code config} passed as one JSON argument,
   * and waits at most {@code timeout} for it to exit. Fails the test if it does not exit in time
   * or prints anything but one JSON object on stdout; a non-zero exit code is left to the caller.
   */
  public static Result run(String script, JsonObject config, Duration timeout) {
    return run(script, config, timeout, line -> { });
  }

  /**
   * As {@link #run(String, JsonObject, Duration)}, and hands each line the script writes on stderr
   * to {@code stderrLines} as it comes (on a thread of its own), for a test that must act at a
   * point the script announces, such as stopping a node once the script listens for the outcome.
   */
  public static Result run(String script, JsonObject config, Duration timeout, Consumer<String> stderrLines) {
    Path nodeBinary = prepare();
    Path out = null;
    try {
      out = Files.createTempFile("node-script", ".out");
      Process process = new ProcessBuilder(nodeBinary.toString(), script, config.encode())
          .directory(DIR.toFile())
          .redirectOutput(out.toFile())
          .start();
      StringBuilder stderr = new StringBuilder();
      Thread stderrReader = new Thread(() -> {
        try (BufferedReader lines = process.errorReader(StandardCharsets.UTF_8)) {
          for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            synchronized (stderr) {
              stderr.append(line).append('\n');
            }
            stderrLines.accept(line);
          }
        } catch (IOException e) {
          // The stream ends with the process; what was read is reported.
        }
      }, "node-stderr-" + process.pid());
      stderrReader.setDaemon(true);
      stderrReader.start();
      boolean exited = waitFor(process, timeout);
      joinQuietly(stderrReader);
      String stdout = Files.readString(out, StandardCharsets.UTF_8);
      String err;
      synchronized (stderr) {
        err = stderr.toString();
      }
      if (!exited) {
        throw new AssertionError("node " + script + " did not exit within " + timeout.toMillis()
            + " ms and was killed\n--- stdout\n" + stdout + "\n--- stderr\n" + err);
      }
      return new Result(process.exitValue(), parse(stdout, script, err), stdout, err);
    } catch (IOException e) {
      throw new AssertionError("cannot run node " + script, e);
    } finally {
      deleteQuietly(out);
    }
  }

  private static void joinQuietly(Thread reader) {
    try {
      reader.join(KILL_WAIT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static JsonObject parse(String stdout, String script, String stderr) {
    String trimmed = stdout.strip();
    if (trimmed.isEmpty()) {
      return null;
    }
    if (trimmed.contains("\n")) {
      throw new AssertionError("node " + script + " printed more than one line on stdout\n--- stdout\n"
          + stdout + "\n--- stderr\n" + stderr);
    }
    try {
      return new JsonObject(trimmed);
    } catch (DecodeException | ClassCastException e) {
      throw new AssertionError("node " + script + " printed no JSON object on stdout: " + e.getMessage()
          + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr);
    }
  }

  /** Finds node and npm and installs the npm dependencies, once per JVM; returns node. */
  private static synchronized Path prepare() {
    if (installFailure != null) {
      throw new AssertionError(installFailure);
    }
    if (node != null) {
      return node;
    }
    Path nodeBinary = requireOnPath("node");
    Path npm = requireOnPath("npm");
    if (!Files.isRegularFile(DIR.resolve("package-lock.json"))) {
      throw new AssertionError("no package-lock.json in " + DIR + " (tests must run from the project directory)");
    }
    if (installNeeded()) {
      try {
        install(npm);
      } catch (AssertionError e) {
        installFailure = e.getMessage();
        throw e;
      }
    }
    node = nodeBinary;
    return node;
  }

  // npm writes node_modules/.package-lock.json last, so its age is that of the last complete
  // install, and an interrupted one leaves it missing.
  private static boolean installNeeded() {
    Path stamp = DIR.resolve("node_modules").resolve(".package-lock.json");
    if (!Files.isRegularFile(stamp)) {
      return true;
    }
    try {
      FileTime installed = Files.getLastModifiedTime(stamp);
      return installed.compareTo(Files.getLastModifiedTime(DIR.resolve("package-lock.json"))) < 0;
    } catch (IOException e) {
      return true;
    }
  }

  private static void install(Path npm) {
    List<String> command = List.of(npm.toString(), "ci", "--no-audit", "--no-fund");
    Path log = null;
    try {
      log = Files.createTempFile("npm-ci", ".log");
      Process process = new ProcessBuilder(command)
          .directory(DIR.toFile())
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      boolean exited = waitFor(process, INSTALL_TIMEOUT);
      String output = Files.readString(log, StandardCharsets.UTF_8);
      if (!exited) {
        throw new AssertionError("'npm ci' in " + DIR + " did not finish within " + INSTALL_TIMEOUT.toMinutes()
            + " minutes and was killed\n" + output);
      }
      if (process.exitValue() != 0) {
        throw new AssertionError("'npm ci' in " + DIR + " failed with exit code " + process.exitValue()
            + "\n" + output);
      }
    } catch (IOException e) {
      throw new AssertionError("cannot run 'npm ci' in " + DIR, e);
    } finally {
      deleteQuietly(log);
    }
  }

  /** Waits for {@code process} to exit; at the timeout kills it (by its own handle) and returns false. */
  private static boolean waitFor(Process process, Duration timeout) {
    try {
      if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return true;
      }
      process.destroyForcibly().waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      return false;
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for process " + process.pid(), e);
    }
  }

  /**
   * The {@code node} binary on PATH, for tests that run Node themselves; missing, it fails the
   * test under {@code CI=true} and skips it elsewhere.
   */
  public static Path nodeBinary() {
    return requireOnPath("node");
  }

  private static Path requireOnPath(String name) {
    return Executables.require(name,
        "Tests with real npm clients need " + name + ", which is not on PATH. " + INSTALL_ADVICE);
  }

  private static void deleteQuietly(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // A temp file left behind is harmless.
      }
    }
  }
}
