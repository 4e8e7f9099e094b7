package io.switchboard.bench;

import io.switchboard.support.ClusterFixture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What each shard of a Redis Cluster did over the benchmark's measured window: its master's
 * SPUBLISH calls (the relays it carried, INFO commandstats) and the CPU of its master and replica
 * processes (/proc/PID/stat), so that the report shows how the relays spread over the shards and
 * what each relay costs the shard that carries it.
 */
final class Shards {
  private static final Pattern SPUBLISH = Pattern.compile("cmdstat_spublish:calls=(\\d+),");

  private record Shard(int master, int replica, long masterPid, long replicaPid) {}

  private final List<Shard> shards = new ArrayList<>();
  private final Map<Shard, long[]> start = new LinkedHashMap<>();
  private final Map<Shard, long[]> used = new LinkedHashMap<>();
  private final ClusterFixture cluster;

  private Shards(ClusterFixture cluster) {
    this.cluster = cluster;
  }

  /** Reads every shard's counters at the start of the window. */
  static Shards start(ClusterFixture cluster) throws IOException {
    Shards shards = new Shards(cluster);
    for (int master : cluster.masterPorts()) {
      int replica = cluster.replicaOf(master);
      Shard shard = new Shard(master, replica, cluster.pid(master), cluster.pid(replica));
      shards.shards.add(shard);
      shards.start.put(shard, shards.read(shard));
    }
    return shards;
  }

  /** Reads them again at its end. */
  void end() throws IOException {
    for (Shard shard : shards) {
      long[] now = read(shard);
      long[] then = start.get(shard);
      used.put(shard, new long[] {now[0] - then[0], now[1] - then[1], now[2] - then[2]});
    }
  }

  String report(double relayed, double windowSeconds, long clockTicks) {
    StringBuilder out = new StringBuilder();
    long totalTicks = 0;
    for (Shard shard : shards) {
      long[] u = used.get(shard);
      if (u == null) {
        continue;
      }
      double masterCpu = (double) u[1] / clockTicks;
      double replicaCpu = (double) u[2] / clockTicks;
      totalTicks += u[1] + u[2];
      out.append(String.format(Locale.ROOT,
          "shard master %d (pid %d): %d SPUBLISH = %.0f/s, %.1f %% of the relays; master CPU %.0f %% of a core"
              + " = %.1f µs per relay it carried; replica %d CPU %.0f %% of a core = %.1f µs per relay%n",
          shard.master(), shard.masterPid(), u[0], u[0] / windowSeconds, 100.0 * u[0] / relayed,
          100 * masterCpu / windowSeconds, u[0] == 0 ? 0.0 : masterCpu * 1e6 / u[0], shard.replica(),
          100 * replicaCpu / windowSeconds, u[0] == 0 ? 0.0 : replicaCpu * 1e6 / u[0]));
    }
    out.append(String.format(Locale.ROOT,
        "Redis Cluster CPU, all six processes: %.2f s = %.1f µs per relayed message%n",
        (double) totalTicks / clockTicks, totalTicks * 1e6 / clockTicks / relayed));
    return out.toString();
  }

  // {SPUBLISH calls on the master, master CPU ticks, replica CPU ticks}
  private long[] read(Shard shard) throws IOException {
    Matcher calls = SPUBLISH.matcher(String.valueOf(cluster.command(shard.master(), "INFO", "commandstats")));
    return new long[] {calls.find() ? Long.parseLong(calls.group(1)) : 0, ServerProcess.cpuTicksOf(shard.masterPid()),
        ServerProcess.cpuTicksOf(shard.replicaPid())};
  }
}
