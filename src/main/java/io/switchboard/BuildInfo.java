package io.switchboard;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version and git commit this build was made from, as the Maven build wrote them into
 * {@code build-info.properties}: served by {@code GET /version}, {@code --version} and the
 * {@code switchboard_build_info} gauge. The commit is {@code unknown} for builds without a git
 * repository (docs/operations.md, Version).
 */
public record BuildInfo(String version, String commit) {
  private static final String RESOURCE = "build-info.properties";
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
    return new BuildInfo(properties.getProperty("version", "unknown"), properties.getProperty("commit", "unknown"));
  }
}
