package io.switchboard.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A network namespace of the test's own for headless Chromium, joined to the host by a veth
 * pair: Chromium gathers no ICE candidates on loopback, and outside a namespace it would use the
 * machine's real address. The browser gets {@link #browserAddress()}, the host end
 * {@link #hostAddress()}, where the servers under test listen; WebRTC traffic between pages
 * stays inside the namespace.
 *
 * <p>{@link #create()} first deletes what a crashed earlier run left (namespaces and veths named
 * after a process that no longer exists), so set-up is idempotent; {@link #close()} deletes the
 * namespace, which removes the veth pair with it. Needs root and {@code /usr/bin/chromium}:
 * without them the test fails under {@code CI=true} and is skipped elsewhere, as with
 * {@link NodeScript}. Every {@code ip} command is bounded.
 */
public final class BrowserNamespace implements AutoCloseable {
  /** Debian's Chromium; tests never use a browser a tool downloaded. */
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final String PREFIX = "sbe2e";
  private static final Pattern OWNED_NETNS = Pattern.compile("^" + PREFIX + "-(\\d+)\\b", Pattern.MULTILINE);
  private static final Pattern OWNED_LINK = Pattern.compile("^\\d+: (" + PREFIX + "(\\d+)h)[@:]", Pattern.MULTILINE);
  private static final Duration IP_TIMEOUT = Duration.ofSeconds(10);
  private static final String INSTALL_ADVICE = "Browser tests need root (for ip netns) and Debian's chromium"
      + " at /usr/bin/chromium (apt-get install chromium; .ci/run installs it).";

  private final String name;
  private final String hostAddress;
  private final String browserAddress;
  private final Path wrapperDir;
  private final Path chromium;

  private BrowserNamespace(String name, String hostAddress, String browserAddress, Path wrapperDir) {
    this.name = name;
    this.hostAddress = hostAddress;
    this.browserAddress = browserAddress;
    this.wrapperDir = wrapperDir;
    this.chromium = wrapperDir.resolve("chromium");
  }

  /** Makes the namespace, its veth pair and the Chromium wrapper; skips or fails when impossible. */
  public static BrowserNamespace create() {
    if (!Files.isExecutable(CHROMIUM)) {
      unavailable("no executable " + CHROMIUM + ". " + INSTALL_ADVICE);
    }
    long pid = ProcessHandle.current().pid();
    String name = PREFIX + "-" + pid;
    String hostLink = PREFIX + pid + "h";
    String browserLink = PREFIX + pid + "n";
    removeLeftovers();
    String subnet = freeSubnet((int) (pid % 256));
    String host = subnet + ".2";
    String browser = subnet + ".1";
    Path wrapperDir = null;
    try {
      ip("netns", "add", name);
    } catch (AssertionError e) {
      unavailable("cannot create a network namespace (" + e.getMessage().lines().findFirst().orElse("") + "). "
          + INSTALL_ADVICE);
    }
    try {
      ip("link", "add", hostLink, "type", "veth", "peer", "name", browserLink);
      ip("link", "set", browserLink, "netns", name);
      ip("addr", "add", host + "/24", "dev", hostLink);
      ip("link", "set", hostLink, "up");
      ip("-n", name, "link", "set", "lo", "up");
      ip("-n", name, "addr", "add", browser + "/24", "dev", browserLink);
      ip("-n", name, "link", "set", browserLink, "up");
      ip("-n", name, "route", "add", "default", "via", host);
      wrapperDir = Files.createTempDirectory("switchboard-chromium",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      BrowserNamespace ns = new BrowserNamespace(name, host, browser, wrapperDir);
      // Playwright talks to the browser over inherited pipes, which exec keeps.
      Files.writeString(ns.chromium, "#!/bin/sh\nexec ip netns exec " + name + " " + CHROMIUM + " \"$@\"\n",
          StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(ns.chromium, PosixFilePermissions.fromString("rwx------"));
      return ns;
    } catch (IOException e) {
      deleteNamespace(name);
      deleteQuietly(wrapperDir);
      throw new AssertionError("cannot write the Chromium wrapper", e);
    } catch (RuntimeException | AssertionError e) {
      deleteNamespace(name);
      deleteQuietly(wrapperDir);
      throw e;
    }
  }

  /** The address of the host end, where servers the browser should reach must listen. */
  public String hostAddress() {
    return hostAddress;
  }

  /** The browser's own address inside the namespace. */
  public String browserAddress() {
    return browserAddress;
  }

  /** A script that runs {@link #CHROMIUM} inside the namespace: Playwright's {@code executablePath}. */
  public Path chromium() {
    return chromium;
  }

  @Override
  public void close() {
    try {
      deleteNamespace(name);
    } finally {
      deleteQuietly(wrapperDir);
    }
  }

  @Override
  public String toString() {
    return "netns " + name + " (browser " + browserAddress + ", host " + hostAddress + ")";
  }

  private static void unavailable(String message) {
    Executables.unavailable(message);
  }

  // A namespace or veth named after a process that is gone was left by a crashed run of this
  // fixture; one of a live process belongs to a run going on now and is not touched.
  private static void removeLeftovers() {
    String namespaces = ipOrEmpty("netns", "list");
    Matcher ns = OWNED_NETNS.matcher(namespaces);
    while (ns.find()) {
      if (ProcessHandle.of(Long.parseLong(ns.group(1))).isEmpty()) {
        deleteNamespace(PREFIX + "-" + ns.group(1));
      }
    }
    Matcher link = OWNED_LINK.matcher(ipOrEmpty("-o", "link", "show"));
    while (link.find()) {
      long owner = Long.parseLong(link.group(2));
      if (owner == ProcessHandle.current().pid() || ProcessHandle.of(owner).isEmpty()) {
        ipOrEmpty("link", "del", link.group(1));
      }
    }
    deleteNamespace(PREFIX + "-" + ProcessHandle.current().pid());
  }

  /** A private /24 (10.213.x) that no interface of the host uses yet, starting at {@code start}. */
  private static String freeSubnet(int start) {
    String inUse = ipOrEmpty("-4", "-o", "addr", "show");
    for (int i = 0; i < 256; i++) {
      String subnet = "10.213." + ((start + i) % 256);
      if (!inUse.contains(" " + subnet + ".")) {
        return subnet;
      }
    }
    throw new AssertionError("every 10.213.x.0/24 is in use on this host");
  }

  private static void deleteNamespace(String name) {
    if (ipOrEmpty("netns", "list").lines().anyMatch(l -> l.equals(name) || l.startsWith(name + " "))) {
      ip("netns", "del", name);
    }
  }

  private static String ipOrEmpty(String... args) {
    try {
      return ip(args);
    } catch (AssertionError e) {
      return "";
    }
  }

  /** Runs {@code ip args}, bounded; returns its output or fails with it. */
  private static String ip(String... args) {
    List<String> command = new ArrayList<>();
    command.add("ip");
    command.addAll(List.of(args));
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
    }
    try {
      if (!process.waitFor(IP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + IP_TIMEOUT.toSeconds() + " s");
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (process.exitValue() != 0) {
        throw new AssertionError(String.join(" ", command) + " failed (exit " + process.exitValue() + "): " + output.strip());
      }
      return output;
    } catch (IOException e) {
      throw new AssertionError("reading the output of " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted running " + String.join(" ", command), e);
    }
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // A temp file left behind is harmless.
    }
  }
}
