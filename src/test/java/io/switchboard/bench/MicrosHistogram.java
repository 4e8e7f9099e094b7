package io.switchboard.bench;

/**
 * A bounded-memory histogram of durations for the relay benchmark (HdrHistogram is not a
 * dependency of this project).
 *
 * <p>Buckets: 1 µs wide from 0 to 100 ms, then 1 ms wide from 100 ms to 120 s, then one overflow
 * bucket; the exact maximum is kept on the side. About 880 KB per instance, whatever the number
 * of samples. Not thread-safe: each event loop of the benchmark owns its own instances and they
 * are merged with {@link #add} after the run.
 */
final class MicrosHistogram {

  private static final int FINE_BUCKETS = 100_000;   // [0, 100 ms) in 1 µs steps
  private static final int COARSE_BUCKETS = 120_000; // [0, 120 s) in 1 ms steps, used from 100 ms

  private final int[] fine = new int[FINE_BUCKETS];
  private final int[] coarse = new int[COARSE_BUCKETS];
  private long overflow;
  private long count;
  private long maxNs;
  private double sumNs;

  void recordNanos(long ns) {
    if (ns < 0) {
      ns = 0;
    }
    count++;
    sumNs += ns;
    if (ns > maxNs) {
      maxNs = ns;
    }
    long us = ns / 1_000;
    if (us < FINE_BUCKETS) {
      fine[(int) us]++;
    } else {
      long ms = ns / 1_000_000;
      if (ms < COARSE_BUCKETS) {
        coarse[(int) ms]++;
      } else {
        overflow++;
      }
    }
  }

  void clear() {
    java.util.Arrays.fill(fine, 0);
    java.util.Arrays.fill(coarse, 0);
    overflow = 0;
    count = 0;
    sumNs = 0;
    maxNs = 0;
  }

  void add(MicrosHistogram other) {
    for (int i = 0; i < FINE_BUCKETS; i++) {
      fine[i] += other.fine[i];
    }
    for (int i = 0; i < COARSE_BUCKETS; i++) {
      coarse[i] += other.coarse[i];
    }
    overflow += other.overflow;
    count += other.count;
    sumNs += other.sumNs;
    maxNs = Math.max(maxNs, other.maxNs);
  }

  long count() {
    return count;
  }

  long maxNanos() {
    return maxNs;
  }

  double meanNanos() {
    return count == 0 ? 0 : sumNs / count;
  }

  /**
   * The value below which {@code pct} percent of the samples fall: the middle of the bucket
   * holding the sample of rank ceil(pct/100 * count), never above the exact maximum. Resolution
   * is 1 µs below 100 ms and 1 ms above.
   */
  long percentileNanos(double pct) {
    if (count == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(pct / 100.0 * count);
    rank = Math.max(1, Math.min(count, rank));
    long seen = 0;
    for (int i = 0; i < FINE_BUCKETS; i++) {
      seen += fine[i];
      if (seen >= rank) {
        return Math.min(maxNs, i * 1_000L + 500);
      }
    }
    for (int i = 0; i < COARSE_BUCKETS; i++) {
      seen += coarse[i];
      if (seen >= rank) {
        return Math.min(maxNs, i * 1_000_000L + 500_000);
      }
    }
    return maxNs;
  }
}
