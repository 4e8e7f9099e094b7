package io.switchboard.bench;

import java.util.Map;
import java.util.TreeMap;

/** What the benchmark counts; each event loop keeps its own, merged into a total on demand. */
class Counters {
  final MicrosHistogram latency = new MicrosHistogram();
  final MicrosHistogram lag = new MicrosHistogram();
  long sentTotal;
  long sentMeasured;
  long deliveredMeasured;
  long receivedInWindow;
  long duplicates;
  long outOfOrder;
  long dataMismatch;
  long badEnvelope;
  long writeQueueFullSeen;
  long writeFailures;
  long closedSkips;
  long tickCapHits;
  long maxLagAllNs;
  long unexpectedFrames;
  long peerLeft;
  long unexpectedCloses;
  long socketExceptions;
  final Map<String, Long> errors = new TreeMap<>();
  final Map<String, Long> closeCodes = new TreeMap<>();

  /** Adds {@code other} into this one. Call on {@code other}'s own thread. */
  void add(Counters other) {
    latency.add(other.latency);
    lag.add(other.lag);
    sentTotal += other.sentTotal;
    sentMeasured += other.sentMeasured;
    deliveredMeasured += other.deliveredMeasured;
    receivedInWindow += other.receivedInWindow;
    duplicates += other.duplicates;
    outOfOrder += other.outOfOrder;
    dataMismatch += other.dataMismatch;
    badEnvelope += other.badEnvelope;
    writeQueueFullSeen += other.writeQueueFullSeen;
    writeFailures += other.writeFailures;
    closedSkips += other.closedSkips;
    tickCapHits += other.tickCapHits;
    maxLagAllNs = Math.max(maxLagAllNs, other.maxLagAllNs);
    unexpectedFrames += other.unexpectedFrames;
    peerLeft += other.peerLeft;
    unexpectedCloses += other.unexpectedCloses;
    socketExceptions += other.socketExceptions;
    other.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
    other.closeCodes.forEach((k, v) -> closeCodes.merge(k, v, Long::sum));
  }
}
