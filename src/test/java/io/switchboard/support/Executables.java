package io.switchboard.support;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/**
 * The outside programs tests run (node, npm, redis-server, chromium). A test that cannot have
 * one fails under {@code CI=true}, where .ci/run installs them all, and is skipped elsewhere.
 */
public final class Executables {
  private Executables() {}

  /** {@code name} on PATH, if it is there. */
  public static Optional<Path> find(String name) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** {@code name} on PATH, or {@link #unavailable} with {@code missingMessage}. */
  public static Path require(String name, String missingMessage) {
    return find(name).orElseGet(() -> unavailable(missingMessage));
  }

  /** Ends the test: a failure under {@code CI=true}, a skip elsewhere. Never returns. */
  public static <T> T unavailable(String message) {
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new AssertionError(message);
    }
    return Assumptions.abort(message);
  }
}
