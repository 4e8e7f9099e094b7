package io.switchboard.bench;

import java.util.Map;
import java.util.TreeMap;

/** What the benchmark counts; each event loop keeps its own, merged into a total on demand. */
class Counters {
  final MicrosHistogram latency = new MicrosHistogram();
  /** The same for messages sent in the second half of the measured window: after a transient. */
  final MicrosHistogram latencyLastHalf = new MicrosHistogram();
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

  /** Back to zero, for the next step of a stepped run. Call on the owner's thread. */
  void reset() {
    latency.clear();
    latencyLastHalf.clear();
    lag.clear();
    sentTotal = 0;
    sentMeasured = 0;
    deliveredMeasured = 0;
    receivedInWindow = 0;
    duplicates = 0;
    outOfOrder = 0;
    dataMismatch = 0;
    badEnvelope = 0;
    writeQueueFullSeen = 0;
    writeFailures = 0;
    closedSkips = 0;
    tickCapHits = 0;
    maxLagAllNs = 0;
    unexpectedFrames = 0;
    peerLeft = 0;
    unexpectedCloses = 0;
    socketExceptions = 0;
    errors.clear();
    closeCodes.clear();
  }

  /** Adds {@code other} into this one. Call on {@code other}'s own thread. */
  void add(Counters other) {
    latency.add(other.latency);
    latencyLastHalf.add(other.latencyLastHalf);
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
