package io.switchboard;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * The version and git commit this build was made from: served by {@code GET /version},
 * {@code --version} and the {@code switchboard_build_info} gauge. The Maven build writes the
 * version into {@code build-info.properties}, and the commit into {@code git-commit} when it runs
 * in a git checkout; elsewhere the commit is the properties' {@code commit} ({@code -Dswitchboard.commit},
 * {@code unknown} by default; docs/operations.md, Version).
 */
public record BuildInfo(String version, String commit) {
  private static final String RESOURCE = "build-info.properties";
  private static final String GIT_COMMIT = "git-commit";
  private static final BuildInfo CURRENT = load();

  /** This build's. */
  public static BuildInfo current() {
    return CURRENT;
  }

  /** The body of {@code GET /version}. */
  public JsonObject toJson() {
    return new JsonObject().put("version", version).put("commit", commit);
  }

  private static BuildInfo load() {
    Properties properties = new Properties();
    try (InputStream in = BuildInfo.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        // Compiled without Maven's resource step (an IDE's own build): say so instead of failing.
        return new BuildInfo("unknown", "unknown");
      }
      properties.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + RESOURCE, e);
    }
    String commit = gitCommit();
    return new BuildInfo(properties.getProperty("version", "unknown"),
        commit.isEmpty() ? properties.getProperty("commit", "unknown") : commit);
  }

  private static String gitCommit() {
    try (InputStream in = BuildInfo.class.getResourceAsStream(GIT_COMMIT)) {
      return in == null ? "" : new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + GIT_COMMIT, e);
    }
  }
}
