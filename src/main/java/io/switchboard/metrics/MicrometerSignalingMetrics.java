package io.switchboard.metrics;

import io.switchboard.signaling.port.SignalingMetrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.RelayKind;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@link SignalingMetrics} recorded in a Micrometer registry. Every counter is registered up front
 * and looked up by enum, so recording allocates nothing.
 */
public final class MicrometerSignalingMetrics implements SignalingMetrics {
  private final AtomicInteger open = new AtomicInteger();
  private final Map<RelayKind, Counter> relayed = new EnumMap<>(RelayKind.class);
  private final Map<ErrorCode, Counter> errors = new EnumMap<>(ErrorCode.class);
  private final Map<CloseReason, Counter> closes = new EnumMap<>(CloseReason.class);
  private final Map<String, Counter> rejected = new ConcurrentHashMap<>();
  private final MeterRegistry registry;
  private final Counter joins;
  private final Counter leaves;
  private final Counter bytesIn;
  private final Counter bytesOut;
  private final Counter published;
  private final Counter received;
  private final Counter reconnects;
  private final Counter repairs;
  private final Map<String, Counter> backplaneErrors = new ConcurrentHashMap<>();
  private final Timer crossNodeLatency;
  private final Map<String, Counter> resumes = new ConcurrentHashMap<>();
  private final Counter replayed;
  private final Counter buffered;
  private final Counter bufferedBytes;
  private final Timer gap;

  public MicrometerSignalingMetrics(MeterRegistry registry) {
    this.registry = registry;
    Gauge.builder(MetricNames.CONNECTIONS_OPEN, open, AtomicInteger::get)
        .description("WebSocket connections open on this node").register(registry);
    joins = Counter.builder(MetricNames.JOINS).description("Successful joins").register(registry);
    leaves = Counter.builder(MetricNames.LEAVES).description("Members that left a room").register(registry);
    bytesIn = Counter.builder(MetricNames.BYTES_IN).description("Bytes of WebSocket messages received").register(registry);
    bytesOut = Counter.builder(MetricNames.BYTES_OUT).description("Bytes of WebSocket messages sent").register(registry);
    published = Counter.builder(MetricNames.BACKPLANE_PUBLISHED)
        .description("Messages published to other nodes").register(registry);
    received = Counter.builder(MetricNames.BACKPLANE_RECEIVED)
        .description("Messages received from other nodes").register(registry);
    repairs = Counter.builder(MetricNames.MEMBERSHIP_REPAIRS)
        .description("Members added to or removed from this node's view of a room by the periodic "
            + "reconciliation with the backplane; 0 in a healthy cluster")
        .register(registry);
    reconnects = Counter.builder(MetricNames.BACKPLANE_RECONNECTS)
        .description("Backplane reconnections").register(registry);
    crossNodeLatency = Timer.builder(MetricNames.CROSS_NODE_LATENCY)
        .description("Publish-to-receipt time of relays between nodes")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofNanos(50_000))
        .maximumExpectedValue(Duration.ofSeconds(2))
        .register(registry);
    for (String outcome : List.of("ok", "expired", "refused", "timeout", "overflow")) {
      resumes.put(outcome, Counter.builder(MetricNames.RESUMES).tag("outcome", outcome)
          .description("Resumes by outcome, and sessions that ended in their gap").register(registry));
    }
    replayed = Counter.builder(MetricNames.RESUME_REPLAYED)
        .description("Events replayed from session buffers after resumes").register(registry);
    buffered = Counter.builder(MetricNames.RESUME_BUFFERED)
        .description("Numbered events stored for resumable sessions").register(registry);
    bufferedBytes = Counter.builder(MetricNames.RESUME_BUFFERED_BYTES)
        .description("Bytes of numbered events stored for resumable sessions").register(registry);
    gap = Timer.builder(MetricNames.RESUME_GAP)
        .description("How long resumed sessions were away")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(10))
        .maximumExpectedValue(Duration.ofMinutes(5))
        .register(registry);
    for (RelayKind kind : RelayKind.values()) {
      relayed.put(kind, Counter.builder(MetricNames.MESSAGES_RELAYED).tag("type", kind.wire())
          .description("Messages relayed, once per sent message").register(registry));
    }
    for (ErrorCode code : ErrorCode.values()) {
      errors.put(code, Counter.builder(MetricNames.ERRORS).tag("code", code.wire())
          .description("Error replies sent").register(registry));
    }
    for (CloseReason reason : CloseReason.values()) {
      closes.put(reason, Counter.builder(MetricNames.CLOSES)
          .tag("reason", reason.text().replace(' ', '-').toLowerCase(Locale.ROOT))
          .description("Sockets closed by the server").register(registry));
    }
    for (String operation : MetricNames.BACKPLANE_OPERATIONS) {
      backplaneErrorCounter(operation);
    }
    for (String reason : new String[] {"origin", "capacity", "draining", "overloaded", "unauthorized", "forbidden",
        "per-ip-rate", "per-ip-connections"}) {
      rejected(reason);
    }
  }

  private Counter rejected(String reason) {
    return rejected.computeIfAbsent(reason, r -> Counter.builder(MetricNames.CONNECTIONS_REJECTED)
        .tag("reason", r).description("WebSocket upgrades refused").register(registry));
  }

  @Override public void connectionOpened() {
    open.incrementAndGet();
  }

  @Override public void connectionClosed() {
    open.decrementAndGet();
  }

  @Override public void connectionRejected(String reason) {
    rejected(reason).increment();
  }

  @Override public void closedBy(CloseReason reason) {
    closes.get(reason).increment();
  }

  @Override public void joined() {
    joins.increment();
  }

  @Override public void left() {
    leaves.increment();
  }

  @Override public void relayed(RelayKind kind) {
    relayed.get(kind).increment();
  }

  @Override public void error(ErrorCode code) {
    errors.get(code).increment();
  }

  @Override public void bytesIn(int bytes) {
    bytesIn.increment(bytes);
  }

  @Override public void bytesOut(int bytes) {
    bytesOut.increment(bytes);
  }

  @Override public void backplanePublished() {
    published.increment();
  }

  @Override public void backplaneReceived() {
    received.increment();
  }

  private Counter backplaneErrorCounter(String operation) {
    return backplaneErrors.computeIfAbsent(operation, op -> Counter.builder(MetricNames.BACKPLANE_ERRORS)
        .tag("operation", op).description("Failed backplane operations").register(registry));
  }

  @Override public void backplaneError(String operation) {
    backplaneErrorCounter(operation).increment();
  }

  @Override public void membershipRepaired() {
    repairs.increment();
  }

  @Override public void backplaneReconnected() {
    reconnects.increment();
  }

  @Override public void crossNodeLatencyMicros(long micros) {
    crossNodeLatency.record(Math.max(0, micros), TimeUnit.MICROSECONDS);
  }

  @Override public void resume(String outcome) {
    Counter counter = resumes.get(outcome);
    if (counter != null) {
      counter.increment();
    }
  }

  @Override public void replayed(int events) {
    replayed.increment(events);
  }

  @Override public void gapMillis(long millis) {
    gap.record(Math.max(0, millis), TimeUnit.MILLISECONDS);
  }

  @Override public void buffered(int events, long bytes) {
    buffered.increment(events);
    bufferedBytes.increment(bytes);
  }
}
