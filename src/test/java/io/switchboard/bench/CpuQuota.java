package io.switchboard.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A CPU limit on one process, as a Kubernetes CPU limit sets it: a cgroup of its own with a CFS
 * quota, so that a node given a fraction of a core saturates before a load generator on a whole
 * core does. cgroup v1's cpu controller ({@code /sys/fs/cgroup/cpu}) or cgroup v2's
 * {@code cpu.max}; needs root. The period is 10 ms, so a throttled process waits at most 10 ms
 * minus its quota: what a pod with a CPU limit and a short CFS period sees.
 */
final class CpuQuota implements AutoCloseable {
  private static final int PERIOD_MICROS = 10_000;
  private static final Path V1 = Path.of("/sys/fs/cgroup/cpu");
  private static final Path V2 = Path.of("/sys/fs/cgroup");

  private final Path group;

  private CpuQuota(Path group) {
    this.group = group;
  }

  /** Moves {@code pid} (all its threads) into a new cgroup limited to {@code cores} of one CPU. */
  static CpuQuota limit(long pid, double cores) throws IOException {
    int quota = (int) Math.round(cores * PERIOD_MICROS);
    String name = "switchboard-bench-" + pid;
    if (Files.isRegularFile(V1.resolve("cpu.cfs_quota_us"))) {
      Path group = Files.createDirectories(V1.resolve(name));
      Files.writeString(group.resolve("cpu.cfs_period_us"), Integer.toString(PERIOD_MICROS));
      Files.writeString(group.resolve("cpu.cfs_quota_us"), Integer.toString(quota));
      Files.writeString(group.resolve("cgroup.procs"), Long.toString(pid));
      return new CpuQuota(group);
    }
    if (Files.isRegularFile(V2.resolve("cgroup.controllers"))) {
      Path group = Files.createDirectories(V2.resolve(name));
      Files.writeString(group.resolve("cpu.max"), String.format(Locale.ROOT, "%d %d", quota, PERIOD_MICROS));
      Files.writeString(group.resolve("cgroup.procs"), Long.toString(pid));
      return new CpuQuota(group);
    }
    throw new IOException("no writable cgroup cpu controller under /sys/fs/cgroup");
  }

  /** Removes the cgroup; call once its process has exited (a cgroup with members cannot go). */
  @Override
  public void close() {
    try {
      Files.deleteIfExists(group);
    } catch (IOException e) {
      System.err.println("WARNING: could not remove cgroup " + group + ": " + e.getMessage());
    }
  }
}
