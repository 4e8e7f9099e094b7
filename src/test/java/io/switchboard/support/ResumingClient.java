package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Vertx;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A client of {@code /ws?resume=1} that does what docs/protocol.md ("Resume") asks of one, written
 * from the document alone so that it checks the server rather than mirrors it: it processes a
 * numbered event only if its {@code seq} is above the last one processed, acks after 16 events or
 * 1 s, numbers its relays with {@code n} and keeps them until {@code acked} covers them, and after
 * an unexpected close reconnects (to the next node of a list that may change) and resumes, then
 * sends again every relay the server did not accept.
 *
 * <p>Everything the server does that the document forbids (a gap or repeat in {@code seq}, a
 * changed peer id, an error, a refused resume) is recorded as an anomaly instead of thrown, so a
 * load test can run hundreds of these and judge them afterwards. State is guarded by the
 * instance's monitor; handlers run on the client Vert.x and never block. Blocking helpers are for
 * the test thread and bounded.
 */
public final class ResumingClient implements AutoCloseable {
  /** One frame received, when ({@link System#nanoTime()}) and on which connection (1 = first). */
  public record Received(long nanos, int connection, JsonObject json) {
    public String type() {
      return json.getString("type");
    }
  }

  /** Where the session is. */
  public enum State { CONNECTING, LIVE, RESUMING, GAP, CLOSED, FAILED }

  /** Tunables; the defaults are the document's advice. */
  public static final class Options {
    public boolean reconnect = true;
    public int maxReconnectAttempts = 100;
    public Duration reconnectBudget = Duration.ofSeconds(30);
    public Duration retryDelay = Duration.ofMillis(100);
    public int ackEvery = 16;
    public Duration ackInterval = Duration.ofSeconds(1);
    /** Extra query parameters for every connection, e.g. {@code &access_token=...}. */
    public String extraQuery = "";

    public Options reconnect(boolean on) {
      this.reconnect = on;
      return this;
    }

    public Options extraQuery(String query) {
      this.extraQuery = query;
      return this;
    }
  }

  private static final Duration WAIT = TestClient.WAIT;
  /**
   * Relays sent again per period while held: 30/s, which with the live acks and pings stays under
   * the server's default rate limit of 50/s.
   */
  private static final int HOLD_BATCH = 15;
  private static final long HOLD_PERIOD_MS = 500;

  private final java.util.Random random = new java.util.Random();

  private final String name;
  private final Vertx vertx;
  private final WebSocketClient client;
  private final Supplier<List<Integer>> ports;
  private final Options options;
  private final long timer;

  // Everything below is guarded by this.
  private ClientWebSocket socket;
  /** The socket being opened and not yet welcomed, with its attempt number. */
  private ClientWebSocket opening;
  private int openingAttempt;
  private int connections;
  private State state = State.CONNECTING;
  private int currentPort;
  private String peer;
  private String token;
  private String firstWelcomePeer;
  private long lastSeq;
  private long ackSent;
  private int sinceAck;
  private long nextN;
  private long serverAcked;
  private final TreeMap<Long, String> unacked = new TreeMap<>();
  private final List<Received> frames = new ArrayList<>();
  private final List<Received> events = new ArrayList<>();
  private final List<Long> dropsAt = new ArrayList<>();
  private final List<Integer> dropCodes = new ArrayList<>();
  private final List<Long> resumedAt = new ArrayList<>();
  private final List<String> anomalies = new ArrayList<>();
  private final Map<String, CompletableFuture<JsonObject>> replies = new HashMap<>();
  private int repeatedSeqs;
  private int unavailable;
  private int rateLimited;
  private int resumeUnavailable;
  private boolean holding;
  private long holdTimer = -1;
  private int resent;
  private long reconnectStarted;
  private boolean closing;
  private final CompletableFuture<JsonObject> firstWelcome = new CompletableFuture<>();
  private CompletableFuture<JsonObject> resumeOutcome = new CompletableFuture<>();

  private ResumingClient(String name, Vertx vertx, WebSocketClient client, Supplier<List<Integer>> ports,
      Options options) {
    this.name = name;
    this.vertx = vertx;
    this.client = client;
    this.ports = ports;
    this.options = options;
    this.timer = vertx.setPeriodic(options.ackInterval.toMillis(), id -> tick());
  }

  /**
   * Opens a session on {@code port} and waits, bounded, for its welcome. {@code ports} is asked
   * again at every reconnect, so a test can add and remove nodes while the client runs.
   */
  public static ResumingClient connect(Vertx vertx, WebSocketClient client, int port,
      Supplier<List<Integer>> ports, String name, Options options) {
    ResumingClient c = new ResumingClient(name, vertx, client, ports, options);
    synchronized (c) {
      c.open(port, 0);
    }
    try {
      c.firstWelcome.get(WAIT.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      c.close();
      fail(name + ": no welcome from port " + port + ": " + e);
    }
    return c;
  }

  public static ResumingClient connect(Vertx vertx, WebSocketClient client, int port, String name, Options options) {
    return connect(vertx, client, port, () -> List.of(port), name, options);
  }

  // ---- the connection ----

  private WebSocketConnectOptions connectOptions(int port) {
    return new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
        .setURI("/ws?resume=1" + options.extraQuery).setTimeout(WAIT.toMillis())
        .setAllowOriginHeader(false);
  }

  private void open(int port, int attempt) {
    ClientWebSocket s = client.webSocket();
    int connection = ++connections;
    opening = s;
    openingAttempt = attempt;
    currentPort = port;
    state = peer == null ? State.CONNECTING : State.GAP;
    s.textMessageHandler(text -> onText(s, connection, text));
    s.closeHandler(v -> onClose(s, s.closeStatusCode()));
    s.exceptionHandler(t -> { });
    s.connect(connectOptions(port)).onComplete(ar -> {
      synchronized (this) {
        if (ar.failed()) {
          if (peer == null) {
            firstWelcome.completeExceptionally(ar.cause());
          } else if (s == opening) {
            opening = null;
            scheduleReconnect(attempt + 1);
          }
        } else if (closing) {
          s.close();
        }
      }
    });
  }

  private synchronized void onClose(ClientWebSocket s, Short code) {
    if (s != socket) {
      // Upgraded but closed before its welcome (a node that began draining meanwhile).
      if (s == opening) {
        opening = null;
        if (peer == null) {
          firstWelcome.completeExceptionally(new IllegalStateException("closed before welcome"));
        } else if (!closing && options.reconnect) {
          scheduleReconnect(openingAttempt + 1);
        }
      }
      return;
    }
    socket = null;
    if (closing) {
      state = State.CLOSED;
      return;
    }
    dropsAt.add(System.nanoTime());
    dropCodes.add(code == null ? -1 : code.intValue());
    if (code != null && code == 4011) {
      anomalies.add("closed with 4011 (resumed elsewhere), though only this client resumes the session");
      state = State.FAILED;
      return;
    }
    if (state == State.FAILED) {
      return;
    }
    state = State.GAP;
    if (options.reconnect) {
      reconnectStarted = System.nanoTime();
      scheduleReconnect(0);
    }
  }

  private void scheduleReconnect(int attempt) {
    if (closing || state == State.FAILED || state == State.LIVE) {
      return;
    }
    if (attempt >= options.maxReconnectAttempts
        || System.nanoTime() - reconnectStarted > options.reconnectBudget.toNanos()) {
      anomalies.add("gave up reconnecting after " + attempt + " attempts");
      state = State.FAILED;
      resumeOutcome.complete(null);
      return;
    }
    List<Integer> candidates = ports.get();
    if (candidates.isEmpty()) {
      vertx.setTimer(options.retryDelay.toMillis(), id -> retry(attempt + 1));
      return;
    }
    // First a node at random, as many clients dropped at once should spread; then round the
    // list from the last one tried, so a dead node costs one attempt.
    int at = attempt == 0 ? random.nextInt(candidates.size()) : candidates.indexOf(currentPort) + 1;
    int port = candidates.get(Math.floorMod(at, candidates.size()));
    // A refused node is skipped at once; the delay is only between rounds of the whole list.
    if (attempt % candidates.size() != 0 || attempt == 0) {
      open(port, attempt);
    } else {
      vertx.setTimer(options.retryDelay.toMillis(), id -> retry(attempt, port));
    }
  }

  private synchronized void retry(int attempt) {
    scheduleReconnect(attempt);
  }

  private synchronized void retry(int attempt, int port) {
    if (!closing && state == State.GAP) {
      open(port, attempt);
    }
  }

  /**
   * Opens a new socket to {@code port} and resumes there; for tests that drop a client with
   * reconnecting off and decide themselves when it comes back. Returns the outcome (see
   * {@link #awaitResume}).
   */
  public CompletableFuture<JsonObject> resumeOn(int port) {
    synchronized (this) {
      resumeOutcome = new CompletableFuture<>();
      reconnectStarted = System.nanoTime();
      if (socket != null) {
        socket.close((short) 4100, "test moves the client");
        socket = null;
      }
      state = State.GAP;
      open(port, 0);
      return resumeOutcome;
    }
  }

  // ---- frames ----

  private void onText(ClientWebSocket s, int connection, String text) {
    JsonObject json;
    try {
      json = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      synchronized (this) {
        anomalies.add("not a JSON object: " + text);
      }
      return;
    }
    long now = System.nanoTime();
    CompletableFuture<JsonObject> reply = null;
    synchronized (this) {
      Received r = new Received(now, connection, json);
      frames.add(r);
      String type = json.getString("type", "");
      switch (type) {
        case "welcome" -> onWelcome(s, json);
        case "resumed" -> onResumed(json, now);
        case "error" -> onError(json);
        case "pong" -> {
          trim(json.getLong("acked", -1L));
          if (holding && unacked.isEmpty()) {
            endHold();
          }
        }
        default -> { }
      }
      if (json.containsKey("seq")) {
        onNumbered(r);
      }
      Object id = json.getValue("id");
      if (id instanceof String key && !type.equals("resumed")) {
        reply = replies.remove(key);
      }
    }
    if (reply != null) {
      reply.complete(json);
    }
  }

  private void onWelcome(ClientWebSocket s, JsonObject welcome) {
    socket = s;
    opening = null;
    if (closing) {
      s.close();
      return;
    }
    if (peer == null) {
      peer = welcome.getString("peer");
      firstWelcomePeer = peer;
      token = welcome.getString("resume");
      if (token == null) {
        anomalies.add("welcome without a resume token: " + welcome.encode());
      }
      state = State.LIVE;
      firstWelcome.complete(welcome);
      return;
    }
    state = State.RESUMING;
    s.writeTextMessage(new JsonObject().put("type", "resume").put("token", token).put("seq", lastSeq)
        .put("id", "resume-" + connections).encode());
  }

  private void onResumed(JsonObject resumed, long now) {
    if (state != State.RESUMING) {
      anomalies.add("resumed while " + state + ": " + resumed.encode());
    }
    if (!peer.equals(resumed.getString("peer"))) {
      anomalies.add("resumed as " + resumed.getString("peer") + ", not " + peer);
    }
    token = resumed.getString("resume");
    resumedAt.add(now);
    state = State.LIVE;
    trim(resumed.getLong("acked", 0L));
    // What the server did not accept goes again, in order, with the same n, and before any new
    // relay: held and paced, since a long gap keeps more than the rate limit's burst.
    if (unacked.isEmpty()) {
      endHold();
    } else {
      hold();
      sendHeldBatch();
    }
    resumeOutcome.complete(resumed);
  }

  private void onError(JsonObject error) {
    String code = error.getString("code");
    Object id = error.getValue("id");
    if (state == State.RESUMING && id instanceof String s && s.startsWith("resume-")
        && "unavailable".equals(code) && options.reconnect) {
      // Not in docs/protocol.md's list for resume, but sent while Redis is unreachable ("resume
      // again"): a resume must be the first message, so it goes again on a new socket. This
      // socket is the fresh session of its welcome, ours to end.
      resumeUnavailable++;
      ClientWebSocket fresh = socket;
      socket = null;
      state = State.GAP;
      fresh.close();
      scheduleReconnect(1);
      return;
    }
    if (state == State.RESUMING && id instanceof String s && s.startsWith("resume-")) {
      anomalies.add("resume refused: " + error.encode());
      state = State.FAILED;
      resumeOutcome.complete(error);
      return;
    }
    // Both are refusals to retry: unavailable (the backplane could not store it), rate-limited
    // (too many requests queued behind one in flight). An echoed id says which relay it was.
    if (("unavailable".equals(code) || "rate-limited".equals(code)) && id instanceof String s
        && (s.startsWith("n") || s.equals("hold"))) {
      if ("unavailable".equals(code)) {
        unavailable++;
      } else {
        rateLimited++;
      }
      hold();
      return;
    }
    // The periodic ping only asks for acked; the next one asks again. Refusing it under load is
    // the documented, retryable rate-limited, not a broken promise.
    if ("rate-limited".equals(code) && "tick".equals(id)) {
      rateLimited++;
      return;
    }
    anomalies.add("error: " + error.encode());
  }

  /**
   * After {@code unavailable} or a resume: new relays stop going out, and every
   * {@link #HOLD_PERIOD_MS} the oldest kept ones go again in order, at most {@link #HOLD_BATCH}
   * (the rate limit counts them; a relay it drops unread is as lost as a refused one), followed
   * by a ping whose {@code acked} ends the hold once nothing is kept. A batch sent twice costs
   * nothing (the server drops an {@code n} it has), a lost ping only a period. Sending one refused
   * relay again on its own while later ones flow would lose it: the server drops any {@code n}
   * not above the highest it accepted.
   */
  private void hold() {
    holding = true;
    if (holdTimer == -1) {
      holdTimer = vertx.setPeriodic(HOLD_PERIOD_MS, t -> sendHeldBatch());
    }
  }

  private synchronized void sendHeldBatch() {
    if (!holding || unacked.isEmpty()) {
      endHold();
      return;
    }
    if (state != State.LIVE || socket == null) {
      return;
    }
    int sent = 0;
    for (String relay : unacked.values()) {
      if (sent++ == HOLD_BATCH) {
        break;
      }
      socket.writeTextMessage(relay);
      resent++;
    }
    socket.writeTextMessage("{\"type\":\"ping\",\"id\":\"hold\"}");
  }

  private void endHold() {
    holding = false;
    if (holdTimer != -1) {
      vertx.cancelTimer(holdTimer);
      holdTimer = -1;
    }
  }

  private void onNumbered(Received r) {
    long seq = r.json().getLong("seq");
    if (seq <= lastSeq) {
      repeatedSeqs++;
      return;
    }
    if (seq != lastSeq + 1) {
      anomalies.add("seq jumped from " + lastSeq + " to " + seq + ": " + r.json().encode());
    }
    lastSeq = seq;
    events.add(r);
    if (++sinceAck >= options.ackEvery) {
      sendAck();
    }
  }

  private void sendAck() {
    if (state == State.LIVE && socket != null && lastSeq > ackSent) {
      socket.writeTextMessage("{\"type\":\"ack\",\"seq\":" + lastSeq + "}");
      ackSent = lastSeq;
      sinceAck = 0;
    }
  }

  private void trim(long acked) {
    if (acked > serverAcked) {
      serverAcked = acked;
    }
    unacked.headMap(serverAcked, true).clear();
  }

  private synchronized void tick() {
    if (state == State.LIVE && socket != null) {
      sendAck();
      // The pong reports acked, so relays kept for a resend do not pile up.
      socket.writeTextMessage("{\"type\":\"ping\",\"id\":\"tick\"}");
    }
  }

  // ---- what a test does ----

  /**
   * Sends a relay numbered with the next {@code n}; while the socket is down it is only kept,
   * and goes out after the resume.
   */
  public synchronized long relay(String type, String room, String to, Object data) {
    long n = ++nextN;
    JsonObject message = new JsonObject().put("type", type).put("room", room).put("data", data)
        .put("n", n).put("id", "n" + n);
    if (to != null) {
      message.put("to", to);
    }
    String text = message.encode();
    unacked.put(n, text);
    if (state == State.LIVE && socket != null && !holding) {
      socket.writeTextMessage(text);
    }
    return n;
  }

  /** Sends {@code request} (which must carry a string {@code id}) and waits, bounded, for its reply. */
  public JsonObject request(JsonObject request) {
    String id = request.getString("id");
    CompletableFuture<JsonObject> reply = new CompletableFuture<>();
    synchronized (this) {
      if (state != State.LIVE || socket == null) {
        fail(name + ": not live (" + state + ") for " + request.encode());
      }
      replies.put(id, reply);
      socket.writeTextMessage(request.encode());
    }
    try {
      return reply.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return fail(name + ": no reply to " + request.encode() + " within " + WAIT.toMillis() + " ms: " + e);
    }
  }

  /** Joins {@code room} and returns the reply, failing unless it is {@code joined}. */
  public JsonObject join(String room) {
    JsonObject joined = request(new JsonObject().put("type", "join").put("room", room).put("id", "join-" + room));
    if (!"joined".equals(joined.getString("type"))) {
      fail(name + ": join " + room + " answered " + joined.encode());
    }
    return joined;
  }

  /** The outcome of the resume started last: {@code resumed}, an {@code error}, or null when it gave up. */
  public JsonObject awaitResume(CompletableFuture<JsonObject> outcome, Duration timeout) {
    try {
      return outcome.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return fail(name + ": resume not answered within " + timeout.toMillis() + " ms: " + e);
    }
  }

  /** Waits, bounded, until the client is live again after a drop (or has failed). */
  public void awaitLive(Duration timeout) {
    Wait.requireTestThread();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      synchronized (this) {
        if (state == State.LIVE || state == State.FAILED) {
          return;
        }
      }
      Wait.sleep(10);
    }
  }

  /** Waits, bounded, until every relay sent so far has been accepted by the server. */
  public boolean awaitAllAccepted(Duration timeout) {
    Wait.requireTestThread();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      synchronized (this) {
        if (unacked.isEmpty()) {
          return true;
        }
      }
      Wait.sleep(20);
    }
    return false;
  }

  /** Cuts nothing, says goodbye: a close with 1000, which ends the session on the server. */
  @Override
  public void close() {
    ClientWebSocket s;
    synchronized (this) {
      closing = true;
      vertx.cancelTimer(timer);
      endHold();
      s = socket;
    }
    if (s != null && !s.isClosed()) {
      try {
        Wait.await(s.close(), WAIT);
      } catch (RuntimeException | AssertionError e) {
        // The node may be gone already; nothing to say goodbye to.
      }
    }
  }

  /** Stops reconnecting and timers without a word to the server: the client vanishes. */
  public synchronized void vanish() {
    closing = true;
    vertx.cancelTimer(timer);
    endHold();
  }

  // ---- what a test reads ----

  public String name() {
    return name;
  }

  /** The session's peer id (from the first welcome; a resume must not change it). */
  public synchronized String peer() {
    return peer;
  }

  public synchronized String firstWelcomePeer() {
    return firstWelcomePeer;
  }

  public synchronized State state() {
    return state;
  }

  public synchronized int currentPort() {
    return currentPort;
  }

  public synchronized long lastSeq() {
    return lastSeq;
  }

  /** Numbered events processed, in order, each once. */
  public synchronized List<Received> events() {
    return List.copyOf(events);
  }

  /** Every frame received, duplicates included. */
  public synchronized List<Received> frames() {
    return List.copyOf(frames);
  }

  /** When each {@code resumed} arrived ({@link System#nanoTime()}). */
  public synchronized List<Long> resumedAt() {
    return List.copyOf(resumedAt);
  }

  /** When each unexpected close happened, and its code (1006 or -1: no close frame). */
  public synchronized List<Long> dropsAt() {
    return List.copyOf(dropsAt);
  }

  public synchronized List<Integer> dropCodes() {
    return List.copyOf(dropCodes);
  }

  public synchronized List<String> anomalies() {
    return List.copyOf(anomalies);
  }

  /** Numbered events received again with a seq already processed (ignored, as the document says). */
  public synchronized int repeatedSeqs() {
    return repeatedSeqs;
  }

  public synchronized int unavailableErrors() {
    return unavailable;
  }

  /** Resumes answered {@code unavailable} and made again on a new socket. */
  public synchronized int resumeUnavailableErrors() {
    return resumeUnavailable;
  }

  /** Relays and pings refused with rate-limited and their id (relays are kept for a resend). */
  public synchronized int rateLimitedErrors() {
    return rateLimited;
  }

  public synchronized int resent() {
    return resent;
  }

  public synchronized long relaysSent() {
    return nextN;
  }

  public synchronized int unackedRelays() {
    return unacked.size();
  }

  @Override
  public synchronized String toString() {
    return name + "(" + peer + ", " + state + ", port " + currentPort + ", seq " + lastSeq + ")";
  }

}
