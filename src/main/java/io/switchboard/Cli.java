package io.switchboard;

import io.switchboard.config.ConfigException;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Setting;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The command-line options of {@code java -jar switchboard.jar}: {@code --help}, {@code --version},
 * {@code --check-config} and {@code --train} ({@link Training}). Each prints and returns an exit
 * code without starting a server (the training's node is its own, on loopback);
 * with no argument {@link Main} starts one.
 */
final class Cli {
  static final int OK = 0;
  /** The exit code of a bad configuration, as when the server itself refuses to start. */
  static final int BAD_CONFIG = 2;

  /** The README, packed into the jar by the build: its Configuration table is the one source of the settings' meanings. */
  private static final String README = "README.md";
  private static final Pattern ROW = Pattern.compile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\| (.*?) \\| (.*) \\|$");

  private Cli() {}

  /** Runs the options in {@code args} against {@code env}; returns the process's exit code. */
  static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    if (args.size() != 1) {
      usage(err);
      return BAD_CONFIG;
    }
    switch (args.get(0)) {
      case "--help", "-h" -> {
        usage(out);
        out.println();
        settingsTable(out);
        return OK;
      }
      case "--version", "-V" -> {
        BuildInfo build = BuildInfo.current();
        out.println("switchboard " + build.version() + " (commit " + build.commit() + ")");
        return OK;
      }
      case "--check-config" -> {
        return checkConfig(env, out, err);
      }
      case "--train" -> {
        return Training.run(env, out, err);
      }
      default -> {
        err.println("unknown option: " + args.get(0));
        usage(err);
        return BAD_CONFIG;
      }
    }
  }

  private static void usage(PrintStream out) {
    out.println("Usage: java -jar switchboard.jar [--help | --version | --check-config | --train]");
    out.println("  (no option)     run a Switchboard node configured by environment variables");
    out.println("  --help          print this and the settings table");
    out.println("  --version       print the version and git commit");
    out.println("  --check-config  validate the environment's settings; exit 0 if the server would start, 2 if not");
    out.println("  --train         run a short loopback workload on an embedded node and exit; the image build");
    out.println("                  runs it with -XX:AOTCacheOutput to make the AOT cache (Java 25)");
  }

  /** Every {@link Setting}, its default and its meaning from the README's table. */
  private static void settingsTable(PrintStream out) {
    Map<String, String[]> rows = readmeRows();
    int width = Arrays.stream(Setting.values()).mapToInt(s -> s.name().length()).max().orElse(0);
    out.println("Settings (environment variables, read once at start-up):");
    for (Setting setting : Setting.values()) {
      String[] row = rows.get(setting.name());
      String defaultValue = row != null ? plain(row[0]) : setting.defaultValue;
      String meaning = row != null ? plain(row[1]) : "";
      out.printf(Locale.ROOT, "  %-" + width + "s  default: %s%n", setting.name(), defaultValue);
      if (!meaning.isEmpty()) {
        out.println("  " + " ".repeat(width) + "  " + meaning);
      }
    }
  }

  private static Map<String, String[]> readmeRows() {
    Map<String, String[]> rows = new HashMap<>();
    try (InputStream in = Cli.class.getClassLoader().getResourceAsStream(README)) {
      if (in == null) {
        return rows;
      }
      Matcher row = ROW.matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      while (row.find()) {
        rows.put(row.group(1), new String[] {row.group(2), row.group(3)});
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + README + " from the jar", e);
    }
    return rows;
  }

  /** Markdown cell text as plain text: no backticks, links reduced to their text. */
  private static String plain(String cell) {
    return cell.replace("`", "").replaceAll("\\[([^]]*)]\\([^)]*\\)", "$1").replace("\\|", "|");
  }

  /**
   * Validates like start-up does, but reports every bad variable, not only the first: each one
   * found is set back to its default and the rest checked again. Also warns about variables
   * that look like a misspelt setting, which the server would silently ignore.
   */
  private static int checkConfig(Map<String, String> env, PrintStream out, PrintStream err) {
    Map<String, String> remaining = new HashMap<>(env);
    Set<String> bad = new LinkedHashSet<>();
    List<String> problems = new ArrayList<>();
    SwitchboardConfig config = null;
    while (config == null) {
      try {
        config = SwitchboardConfig.fromEnv(remaining);
      } catch (ConfigException e) {
        problems.add(e.getMessage());
        // A variable that still fails at its default is at odds with another one, already reported.
        if (!bad.add(e.variable())) {
          break;
        }
        remaining.remove(e.variable());
      }
    }
    for (String name : misspelt(env.keySet())) {
      err.println("warning: " + name + " is not a Switchboard setting and is ignored (see --help)");
    }
    if (!problems.isEmpty()) {
      problems.forEach(err::println);
      err.println(problems.size() + (problems.size() == 1 ? " problem" : " problems") + ": the server would not start");
      return BAD_CONFIG;
    }
    out.println("configuration OK: node " + config.nodeId() + " on " + config.host() + ":" + config.port()
        + (config.tls().enabled() ? " (TLS)" : "") + ", backplane " + (config.clustered() ? "redis" : "in-memory")
        + ", authentication " + (config.auth().enabled() ? config.auth().algorithm() : "off")
        + ", MAX_CONNECTIONS " + config.maxConnections());
    return OK;
  }

  /**
   * Variables whose first word is that of a setting (AUTH_, TURN_, REDIS_, ...) but that are no
   * setting. NODE, HOST and PORT are left out: other software's variables (NODE_OPTIONS) begin so.
   */
  private static Set<String> misspelt(Set<String> names) {
    Set<String> settings = Arrays.stream(Setting.values()).map(Enum::name).collect(Collectors.toSet());
    Set<String> prefixes = settings.stream().map(s -> s.split("_", 2)[0] + "_")
        .filter(p -> !Set.of("NODE_", "HOST_", "PORT_").contains(p)).collect(Collectors.toSet());
    return names.stream().filter(n -> !settings.contains(n)).filter(n -> prefixes.stream().anyMatch(n::startsWith))
        .collect(Collectors.toCollection(TreeSet::new));
  }
}
