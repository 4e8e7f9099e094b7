package io.switchboard.edge.engineio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.switchboard.edge.engineio.EngineIoPacket.PacketType;
import io.switchboard.edge.websocket.LeanWebSockets;
import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.EngineIoPollingClient.Handshake;
import io.switchboard.support.EngineIoPollingClient.Response;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Engine.IO endpoint at {@code /socket.io/} over real sockets, for protocol versions 3
 * (socket.io-client 2, which peer-data bundles) and 4: the polling handshake, engine.io's error
 * codes, bad input at both layers, CORS, heartbeats and dropped clients, overlapping polls, the
 * upgrade to WebSocket, and polling and WebSocket members talking to each other.
 *
 * <p>Expected behaviour is engine.io's (docs/engine.io-protocol v3 and v4, and the error codes of
 * engine.io's server: 0 transport unknown, 1 session ID unknown, 2 bad handshake method, 3 bad
 * request, 4 forbidden, 5 unsupported protocol version) and docs/dialects.md's for Socket.IO.
 *
 * <p>Most cases share one node with the default heartbeat (20 s interval, 40 s timeout). The
 * heartbeat cases use nodes with a 1 s interval and 2 s timeout, started when first needed. Each
 * case closes its clients, and the node must then be back to no session and no room.
 */
class EngineIoEndpointTest {
  private static final int MAX_MESSAGE_BYTES = 1024;
  private static final int MAX_FRAME_BYTES_HARD = 4096;
  private static final String ALLOWED_ORIGIN = "https://app.example.com";
  private static final String OTHER_ORIGIN = "https://evil.example.com";
  private static final Duration WAIT = TestClient.WAIT;
  private static final Duration QUIET = TestClient.QUIET;

  private static final Map<String, String> ENV = Map.of(
      "MAX_MESSAGE_BYTES", String.valueOf(MAX_MESSAGE_BYTES),
      "MAX_FRAME_BYTES_HARD", String.valueOf(MAX_FRAME_BYTES_HARD),
      "ALLOWED_ORIGINS", ALLOWED_ORIGIN,
      "RATE_LIMIT_PER_SECOND", "1000",
      "RATE_LIMIT_BURST", "1000");
  // pingInterval 1 s, pingTimeout 3 - 1 = 2 s: a silent client goes after 3 s.
  private static final Map<String, String> HEARTBEAT_ENV = Map.of(
      "PING_INTERVAL_SECONDS", "1",
      "IDLE_TIMEOUT_SECONDS", "3");
  private static final long SILENCE_ALLOWED_MILLIS = 3000;

  private static ServerFixture server;
  private static ServerFixture heartbeat;
  private static ServerFixture heartbeatNoDisconnect;

  @BeforeAll
  static void startServer() {
    server = ServerFixture.start(ENV);
  }

  @AfterEach
  void noLeftovers() {
    server.closeClients();
    if (heartbeat != null) {
      heartbeat.closeClients();
    }
    if (heartbeatNoDisconnect != null) {
      heartbeatNoDisconnect.closeClients();
    }
  }

  @AfterAll
  static void stopServers() {
    try {
      if (server != null) {
        server.close();
      }
    } finally {
      try {
        if (heartbeat != null) {
          heartbeat.close();
        }
      } finally {
        if (heartbeatNoDisconnect != null) {
          heartbeatNoDisconnect.close();
        }
      }
    }
  }

  private static ServerFixture heartbeat() {
    if (heartbeat == null) {
      heartbeat = ServerFixture.start(HEARTBEAT_ENV);
    }
    return heartbeat;
  }

  private static ServerFixture heartbeatNoDisconnect() {
    if (heartbeatNoDisconnect == null) {
      Map<String, String> env = new java.util.HashMap<>(HEARTBEAT_ENV);
      env.put("SOCKETIO_DISCONNECT_ON_DROP", "false");
      heartbeatNoDisconnect = ServerFixture.start(env);
    }
    return heartbeatNoDisconnect;
  }

  // ---- handshake ----

  @Test
  void v3HandshakeIsTheOpenPacketThenTheSocketIoConnect() {
    EngineIoPollingClient c = polling(server, 3);
    Handshake h = c.handshake();
    String body = h.response().body();
    // <length>:0{...}2:40, the length counting the open packet's characters.
    int colon = body.indexOf(':');
    assertTrue(colon > 0, body);
    int length = Integer.parseInt(body.substring(0, colon));
    String openPacket = body.substring(colon + 1, colon + 1 + length);
    assertTrue(openPacket.startsWith("0{") && openPacket.endsWith("}"), body);
    assertEquals("2:40", body.substring(colon + 1 + length), "the Socket.IO connect follows the open packet: " + body);

    JsonObject open = new JsonObject(openPacket.substring(1));
    assertOpenPacket(open, List.of("websocket"), 20_000, 40_000);
    assertTrue(h.response().header("Content-Type").startsWith("text/plain"), h.response().header("Content-Type"));
    assertEquals(1, server.server().openConnections());

    assertNotEquals(h.sid(), polling(server, 3).handshake().sid(), "every session has its own sid");
  }

  @Test
  void v4HandshakeAnnouncesMaxPayloadAndTheClientAsksToConnect() {
    EngineIoPollingClient c = polling(server, 4);
    Handshake h = c.handshake();
    String body = h.response().body();
    assertTrue(body.startsWith("0{") && body.endsWith("}") && body.indexOf('\u001e') < 0,
        "the v4 handshake is the open packet alone: " + body);
    JsonObject open = new JsonObject(body.substring(1));
    assertOpenPacket(open, List.of("websocket"), 20_000, 40_000);
    // maxPayload: what a client may put in one POST; a whole message must fit, and the node must
    // accept any body that size.
    Integer maxPayload = open.getInteger("maxPayload");
    assertNotNull(maxPayload, "v4 open packet must carry maxPayload: " + open);
    assertTrue(maxPayload >= MAX_MESSAGE_BYTES && maxPayload <= MAX_FRAME_BYTES_HARD, "maxPayload " + maxPayload);

    // No Socket.IO connect until the client asks for one.
    assertNull(c.nextPacketOrNull(QUIET), "v4: the server must not connect the namespace unasked");
    c.send("40");
    String connect = c.nextMessage();
    assertTrue(connect.startsWith("0{"), "CONNECT answer: " + connect);
    String socketSid = new JsonObject(connect.substring(1)).getString("sid");
    assertNotNull(socketSid, connect);
    assertFalse(socketSid.isEmpty());
  }

  private static void assertOpenPacket(JsonObject open, List<String> upgrades, long pingInterval, long pingTimeout) {
    assertFalse(open.getString("sid", "").isEmpty(), "sid: " + open);
    assertEquals(new JsonArray(new ArrayList<>(upgrades)), open.getJsonArray("upgrades"), "upgrades: " + open);
    assertEquals(pingInterval, open.getLong("pingInterval"), "pingInterval: " + open);
    assertEquals(pingTimeout, open.getLong("pingTimeout"), "pingTimeout = IDLE_TIMEOUT - PING_INTERVAL: " + open);
  }

  // ---- engine.io's errors ----

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void anUnknownSidIsCode1(int v) {
    EngineIoPollingClient c = polling(server, v);
    String query = "EIO=" + v + "&transport=polling&sid=nosuchsession";
    assertError(c.get(query), 400, 1, "Session ID unknown");
    assertError(c.request("POST", query, v == 3 ? "1:2" : "2", Map.of()), 400, 1, "Session ID unknown");
  }

  @Test
  void aSidIsOnlyKnownUnderItsOwnVersion() {
    EngineIoPollingClient c = polling(server, 3);
    connectSocketIo(c);
    assertError(c.get("EIO=4&transport=polling&sid=" + c.sid()), 400, 1, "Session ID unknown");
    assertUsable(c);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"EIO=5&transport=polling", "EIO=2&transport=polling", "transport=polling",
      "EIO=&transport=polling", "EIO=four&transport=polling"})
  void anUnsupportedVersionIsCode5(String query) {
    assertError(polling(server, 4).get(query), 400, 5, "Unsupported protocol version");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"EIO=4&transport=flashsocket", "EIO=3&transport=flashsocket", "EIO=4",
      "EIO=3&transport=polling&j=0", "EIO=4&transport=polling&j=1"})
  void anUnknownTransportIsCode0(String query) {
    assertError(polling(server, 4).get(query), 400, 0, "Transport unknown");
  }

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void aPostWithoutSidIsCode2(int v) {
    Response r = polling(server, v).request("POST", "EIO=" + v + "&transport=polling", v == 3 ? "1:6" : "6", Map.of());
    assertError(r, 400, 2, "Bad handshake method");
    assertEquals(0, server.server().openConnections());
  }

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void aWebSocketWithAnUnknownSidIsRejected(int v) {
    assertEquals(400, server.openRejected("/socket.io/?EIO=" + v + "&transport=websocket&sid=nosuchsession"));
    // A real sid under the other version is unknown too.
    EngineIoPollingClient c = polling(server, v);
    connectSocketIo(c);
    assertEquals(400, server.openRejected("/socket.io/?EIO=" + (7 - v) + "&transport=websocket&sid=" + c.sid()));
    assertUsable(c);
  }

  static Stream<Arguments> malformedBodies() {
    return Stream.of(
        arguments(3, "abc"),
        arguments(3, "5:42"),
        arguments(3, "3:9xx"),
        arguments(3, "2:4"),
        arguments(3, "99999999999999999999:4"),
        arguments(3, ":42"),
        arguments(3, "1:"),
        arguments(3, "0:"),
        arguments(3, "1:2abc"), // a valid ping, then garbage: nothing of the payload may be applied
        arguments(3, "5:b4!!!"),
        arguments(3, ""),
        arguments(4, ""),
        arguments(4, "\u001e"),
        arguments(4, "4\u001e"),
        arguments(4, "2\u001e"), // a valid ping, then an empty packet: nothing may be applied
        arguments(4, "9hello"),
        arguments(4, "x"),
        arguments(4, "b!!!"));
  }

  @ParameterizedTest(name = "EIO={0} body \"{1}\"")
  @MethodSource("malformedBodies")
  void aMalformedPollingBodyIsCode3AndTheSessionGoesOn(int v, String body) {
    EngineIoPollingClient c = polling(server, v);
    connectSocketIo(c);
    Response r = c.post(body);
    assertEquals(400, r.status(), r.toString());
    assertEquals(3, r.json().getInteger("code"), r.toString());
    assertTrue(r.json().getString("message").startsWith("Bad request"), r.toString());
    // Strict: the first packet after the refusal must be the answer to the next valid message,
    // not a pong for a ping that came in the refused payload.
    assertUsable(c);
  }

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void aPostOverTheHardLimitIs413AndTheSessionGoesOn(int v) {
    EngineIoPollingClient c = polling(server, v);
    connectSocketIo(c);
    String message = "4" + emit(event("OFFER", "r", "{\"id\":\"x\"}", "\"" + "x".repeat(MAX_FRAME_BYTES_HARD) + "\""));
    String body = v == 3 ? message.length() + ":" + message : message;
    Response r = c.post(body);
    assertEquals(413, r.status(), r.toString());
    assertUsable(c);
  }

  // ---- bad input inside messages: signaling-error, session kept ----

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void aMessageOverMaxMessageBytesIsTooLarge(int v) {
    EngineIoPollingClient c = polling(server, v);
    connectSocketIo(c);
    // Exactly MAX_MESSAGE_BYTES of Socket.IO packet: accepted (and refused for its content).
    String probe = emit(event("DISCONNECT", "nowhere", null, "\"\"")).substring(1);
    String atLimit = paddedDisconnect(MAX_MESSAGE_BYTES - probe.length());
    assertEquals(MAX_MESSAGE_BYTES, atLimit.length() - 1);
    c.send(atLimit);
    assertEquals("not-in-room", signalingError(c.nextMessage()).getString("code"));
    // One byte more: too large.
    c.send(paddedDisconnect(MAX_MESSAGE_BYTES - probe.length() + 1));
    JsonObject error = signalingError(c.nextMessage());
    assertEquals("too-large", error.getString("code"), error.encode());
    assertTrue(error.getString("message").contains(String.valueOf(MAX_MESSAGE_BYTES)), error.encode());
    assertUsable(c);
  }

  private static String paddedDisconnect(int padding) {
    return emit(event("DISCONNECT", "nowhere", null, "\"" + "x".repeat(padding) + "\""));
  }

  static Stream<Arguments> badSocketIoPackets() {
    List<Arguments> cases = new ArrayList<>();
    for (int v : new int[] {3, 4}) {
      cases.add(arguments(v, "4", "bad-message"));
      cases.add(arguments(v, "49", "bad-message"));
      cases.add(arguments(v, "43", "bad-message"));
      cases.add(arguments(v, "42\"message\"", "bad-message"));
      cases.add(arguments(v, "42[]", "bad-message"));
      cases.add(arguments(v, "42[\"message\",\"text\"]", "bad-message"));
      cases.add(arguments(v, "42[\"message\",{\"type\":1,\"room\":{\"id\":\"r\"}}]", "bad-message"));
      cases.add(arguments(v, "42/admin,[\"message\",{\"type\":\"X\",\"room\":{\"id\":\"r\"}}]", "bad-message"));
      cases.add(arguments(v, "42[\"message\",{\"type\":", "bad-json"));
      cases.add(arguments(v, "42[\"message\",{\"type\":\"OFFER\",}]", "bad-json"));
      cases.add(arguments(v, "42[\"message\",{\"type\":\"X\",\"room\":{\"id\":\"r\"}}", "bad-json"));
      cases.add(arguments(v, "42[\"message\",{\"type\":\"X\",\"room\":{\"id\":\"r\"}}]x", "bad-json"));
      cases.add(arguments(v, "42[\"hello\",{}]", "unknown-type"));
      cases.add(arguments(v, "451-[\"message\",{\"_placeholder\":true,\"num\":0}]", "binary-not-supported"));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "EIO={0} {1} -> {2}")
  @MethodSource("badSocketIoPackets")
  void aBadSocketIoPacketGetsASignalingError(int v, String packet, String code) {
    EngineIoPollingClient c = polling(server, v);
    connectSocketIo(c);
    c.send(packet);
    JsonObject error = signalingError(c.nextMessage());
    assertEquals(code, error.getString("code"), error.encode());
    assertFalse(error.getString("message", "").isEmpty(), error.encode());
    assertUsable(c);
  }

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void aBinaryPacketIsRefused(int v) {
    EngineIoPollingClient c = polling(server, v);
    connectSocketIo(c);
    // v3: b<type><base64>; v4: b<base64>, always a message.
    String binary = v == 3 ? "b4AQID" : "bAQID";
    Response r = c.post(v == 3 ? binary.length() + ":" + binary : binary);
    assertEquals(200, r.status(), r.toString());
    JsonObject error = signalingError(c.nextMessage());
    assertEquals("binary-not-supported", error.getString("code"), error.encode());
    assertUsable(c);
  }

  // ---- CORS ----

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void anAllowedOriginIsEchoedWithCredentialsOnEveryResponse(int v) {
    EngineIoPollingClient c = polling(server, v, ALLOWED_ORIGIN);
    assertCors(c.handshake().response(), "handshake");
    // Something the next poll answers: v3 a ping, v4 the Socket.IO connect.
    assertCors(c.send(v == 3 ? "2" : "40"), "POST");
    Response poll = await(c.pollAsync());
    assertEquals(200, poll.status(), poll.toString());
    List<EngineIoPacket> packets = c.decode(poll.body());
    assertEquals(1, packets.size(), poll.body());
    assertEquals(v == 3 ? PacketType.PONG : PacketType.MESSAGE, packets.get(0).type(), poll.body());
    assertCors(poll, "poll");
    Response error = c.get("EIO=" + v + "&transport=polling&sid=nosuchsession");
    assertError(error, 400, 1, "Session ID unknown");
    assertCors(error, "error");
  }

  @Test
  void aPreflightIsAnswered204WithTheMethodsAndTheRequestedHeaders() {
    Response r = polling(server, 4, ALLOWED_ORIGIN).request("OPTIONS", "EIO=4&transport=polling", null,
        Map.of("Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, x-requested-with"));
    assertEquals(204, r.status(), r.toString());
    assertCors(r, "preflight");
    String methods = r.header("Access-Control-Allow-Methods");
    assertNotNull(methods, "Access-Control-Allow-Methods");
    assertTrue(methods.contains("GET") && methods.contains("POST"), methods);
    assertEquals("content-type, x-requested-with", r.header("Access-Control-Allow-Headers"));
    assertEquals(0, server.server().openConnections(), "a preflight opens no session");
  }

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void anotherOriginIsForbidden(int v) {
    EngineIoPollingClient evil = polling(server, v, OTHER_ORIGIN);
    Response handshake = evil.get("EIO=" + v + "&transport=polling");
    assertError(handshake, 403, 4, "Forbidden");
    assertNull(handshake.header("Access-Control-Allow-Origin"), "no CORS grant for a refused origin");
    assertEquals(0, server.server().openConnections());

    // Nor may it use someone else's session.
    EngineIoPollingClient good = polling(server, v, ALLOWED_ORIGIN);
    connectSocketIo(good);
    String query = "EIO=" + v + "&transport=polling&sid=" + good.sid();
    assertError(evil.get(query), 403, 4, "Forbidden");
    assertError(evil.request("POST", query, v == 3 ? "1:1" : "1", Map.of()), 403, 4, "Forbidden");
    assertUsable(good);

    // Nor open a WebSocket.
    try {
      TestClient ws = server.track(TestClient.open(server.webSocketClient(),
          TestClient.options(server.port(), "/socket.io/?EIO=" + v + "&transport=websocket", OTHER_ORIGIN), "evil"));
      fail("WebSocket with Origin " + OTHER_ORIGIN + " was accepted: " + ws);
    } catch (UpgradeRejectedException e) {
      assertEquals(403, e.getStatus());
    }
  }

  private static void assertCors(Response r, String what) {
    assertEquals(ALLOWED_ORIGIN, r.header("Access-Control-Allow-Origin"), what + ": Access-Control-Allow-Origin");
    assertEquals("true", r.header("Access-Control-Allow-Credentials"), what + ": Access-Control-Allow-Credentials");
  }

  // ---- heartbeats ----

  // Version 3 only: in version 4 the server pings, and engine.io treats a client's ping as an
  // error ("invalid heartbeat direction").
  @Test
  void v3ClientPingIsAnsweredWithAPongInTheNextPoll() {
    EngineIoPollingClient c = polling(server, 3);
    connectSocketIo(c);
    c.send("2");
    assertEquals(EngineIoPacket.text(PacketType.PONG), c.nextPacket(WAIT));
    // Several packets in one POST, several in one poll.
    c.send("2probe", "2");
    assertEquals(EngineIoPacket.text(PacketType.PONG, "probe"), c.nextPacket(WAIT));
    assertEquals(EngineIoPacket.text(PacketType.PONG), c.nextPacket(WAIT));
  }

  @Test
  void v4ServerPingsEveryIntervalAndAClientThatAnswersStays() {
    ServerFixture f = heartbeat();
    EngineIoPollingClient c = polling(f, 4);
    long start = System.nanoTime();
    connectSocketIo(c);
    assertEquals(1000, c.openPacket().getLong("pingInterval"));
    assertEquals(2000, c.openPacket().getLong("pingTimeout"));
    // Stay past pingInterval + pingTimeout, answering every ping.
    long end = start + TimeUnit.MILLISECONDS.toNanos(SILENCE_ALLOWED_MILLIS + 1200);
    List<Long> pingsAtMillis = new ArrayList<>();
    while (System.nanoTime() < end) {
      EngineIoPacket p = c.nextPacketOrNull(Duration.ofNanos(Math.max(1, end - System.nanoTime())));
      if (p == null) {
        continue;
      }
      assertEquals(PacketType.PING, p.type(), "only pings expected: " + p);
      pingsAtMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      c.send("3");
    }
    assertFalse(pingsAtMillis.isEmpty(), "no ping from the server");
    assertTrue(pingsAtMillis.get(0) >= 700 && pingsAtMillis.get(0) <= 2000,
        "first ping about one interval after the handshake: " + pingsAtMillis);
    assertTrue(pingsAtMillis.size() >= 3 && pingsAtMillis.size() <= 5, "one ping a second: " + pingsAtMillis);
    assertEquals(1, f.server().openConnections(), "an answering client is kept");
    assertUsable(c, false);
  }

  // Each event loop's sweep keeps the heartbeats of the sessions it owns, a set that empties when
  // every session has closed: a session opened afterwards must be pinged and dropped all the same.
  @Test
  void aSessionOpenedAfterEveryOtherClosedKeepsItsHeartbeat() {
    ServerFixture f = heartbeat();
    List<EngineIoPollingClient> first = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      EngineIoPollingClient c = polling(f, 4);
      connectSocketIo(c);
      first.add(c);
    }
    assertEquals(PacketType.PING, first.get(0).nextPacket(Duration.ofMillis(2500)).type());
    first.forEach(EngineIoPollingClient::close);
    f.awaitOpenConnections(0);

    EngineIoPollingClient later = polling(f, 4);
    connectSocketIo(later);
    assertEquals(PacketType.PING, later.nextPacket(Duration.ofMillis(2500)).type(), "pinged like the first");
    // It does not answer, so the same heartbeat drops it.
    f.awaitCondition(() -> f.server().openConnections() == 0, Duration.ofMillis(SILENCE_ALLOWED_MILLIS + 3000),
        "the silent session dropped");
  }

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void aSilentClientIsDroppedAndItsRoomHearsADisconnect(int v) {
    ServerFixture f = heartbeat();
    String room = "drop-" + v;
    EngineIoPollingClient stays = polling(f, v);
    connectSocketIo(stays);
    join(peer(stays), room);
    EngineIoPollingClient silent = polling(f, v);
    String silentSid = connectSocketIo(silent);
    long lastHeard = System.nanoTime();
    silent.send(emit(event("CONNECT", room, null, "null")));
    JsonObject connect = messageEvent(stays.nextMessage());
    assertEquals("CONNECT", connect.getString("type"));
    String silentPeer = connect.getJsonObject("caller").getString("id");
    if (silentSid != null) {
      assertEquals(silentSid, silentPeer, "caller.id is the peer's Socket.IO sid");
    }

    // From here on the silent client neither polls nor posts; the other keeps its heartbeat.
    JsonObject disconnect = messageEvent(stays.nextMessage(Duration.ofMillis(SILENCE_ALLOWED_MILLIS + 3000)));
    long silentMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastHeard);
    assertEquals("DISCONNECT", disconnect.getString("type"), disconnect.encode());
    assertEquals(new JsonObject().put("id", room), disconnect.getJsonObject("room"), disconnect.encode());
    assertEquals(new JsonObject().put("id", silentPeer), disconnect.getJsonObject("caller"), disconnect.encode());
    assertTrue(silentMillis >= SILENCE_ALLOWED_MILLIS - 50,
        "dropped after " + silentMillis + " ms of silence; pingInterval + pingTimeout is " + SILENCE_ALLOWED_MILLIS);
    assertTrue(silentMillis <= SILENCE_ALLOWED_MILLIS + 2000, "dropped only after " + silentMillis + " ms");

    assertEquals(1, f.server().openConnections());
    assertError(await(silent.pollAsync()), 400, 1, "Session ID unknown");
    assertNull(stays.nextMessageOrNull(QUIET), "one DISCONNECT, nothing more");
    assertUsable(stays, false);
  }

  @Test
  void withoutDisconnectOnDropTheRoomHearsNothing() {
    ServerFixture f = heartbeatNoDisconnect();
    EngineIoPollingClient stays = polling(f, 3);
    connectSocketIo(stays);
    join(peer(stays), "quiet");
    EngineIoPollingClient silent = polling(f, 3);
    connectSocketIo(silent);
    silent.send(emit(event("CONNECT", "quiet", null, "null")));
    assertEquals("CONNECT", messageEvent(stays.nextMessage()).getString("type"));

    List<String> heard = new ArrayList<>(stays.messagesUntil(() -> f.server().openConnections() == 1,
        Duration.ofMillis(SILENCE_ALLOWED_MILLIS + 3000)));
    assertEquals(1, f.server().openConnections(), "the silent client must have been dropped");
    heard.addAll(stays.messagesUntil(() -> false, QUIET));
    assertEquals(List.of(), heard, "SOCKETIO_DISCONNECT_ON_DROP=false: nothing is synthesized");
    assertError(await(silent.pollAsync()), 400, 1, "Session ID unknown");
  }

  // ---- overlapping polls ----

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void overlappingPollsCloseTheSession(int v) {
    EngineIoPollingClient c = polling(server, v);
    connectSocketIo(c);
    CompletableFuture<Response> first = c.pollAsync();
    CompletableFuture<Response> second = c.pollAsync();
    List<Response> answers = List.of(await(first), await(second));
    // Whichever the server got second is refused; the held one is answered with a close packet.
    Response refused = answers.stream().filter(r -> r.status() == 400).findFirst()
        .orElseGet(() -> fail("one of two overlapping polls must be refused: " + answers));
    Response held = answers.get(answers.get(0) == refused ? 1 : 0);
    assertEquals(3, refused.json().getInteger("code"), refused.toString());
    assertEquals(200, held.status(), held.toString());
    assertEquals(List.of(EngineIoPacket.text(PacketType.CLOSE)), c.decode(held.body()));
    server.awaitOpenConnections(0);
    assertError(await(c.pollAsync()), 400, 1, "Session ID unknown");
  }

  // ---- the upgrade to WebSocket ----

  @ParameterizedTest(name = "EIO={0}")
  @ValueSource(ints = {3, 4})
  void aPollingSessionUpgradesToAWebSocket(int v) {
    String room = "upgraded-" + v;
    EngineIoPollingClient a = polling(server, v);
    String aSid = connectSocketIo(a);
    String aPeer = join(peer(a), room);
    if (aSid != null) {
      assertEquals(aSid, aPeer);
    }
    EngineIoPollingClient b = polling(server, v);
    connectSocketIo(b);
    String bPeer = join(peer(b), room);
    assertEquals(bPeer, messageEvent(a.nextMessage()).getJsonObject("caller").getString("id"));

    CompletableFuture<Response> pending = a.pollAsync();
    TestClient ws = server.open("/socket.io/?EIO=" + v + "&transport=websocket&sid=" + a.sid(), "upgrade" + v);
    ws.send("2probe");
    assertEquals("3probe", ws.nextFrame(WAIT).text());
    Response paused = await(pending);
    assertEquals(200, paused.status(), paused.toString());
    assertEquals(List.of(EngineIoPacket.text(PacketType.NOOP)), a.decode(paused.body()), "the held poll ends with a noop");

    // A message for a while it is between probe and upgrade: kept, then sent over the WebSocket.
    b.send(emit(event("OFFER", room, "{\"id\":\"" + aPeer + "\"}", "{\"sdp\":\"v=0\"}")));
    ws.send("5");
    JsonObject offer = messageEvent(nextWsMessage(ws));
    assertEquals("OFFER", offer.getString("type"), offer.encode());
    assertEquals(bPeer, offer.getJsonObject("caller").getString("id"));

    // Polling is over for this session; the WebSocket carries it both ways.
    assertError(await(a.pollAsync()), 400, 3, null);
    if (v == 3) {
      ws.send("2");
      assertEquals("3", ws.nextFrame(WAIT).text(), "the WebSocket carries the session's heartbeat");
    }
    ws.send(emit(event("ANSWER", room, "{\"id\":\"" + bPeer + "\"}", "{\"sdp\":\"v=0\"}")));
    JsonObject answer = messageEvent(b.nextMessage());
    assertEquals("ANSWER", answer.getString("type"), answer.encode());
    assertEquals(aPeer, answer.getJsonObject("caller").getString("id"));    assertTrue(LeanWebSockets.available(), "the upgraded socket was made lean (as native ones) and carries traffic");
  }

  // ---- polling and WebSocket members in one room ----

  static Stream<Arguments> transportPairs() {
    return Stream.of(arguments(3, 4), arguments(4, 3), arguments(3, 3), arguments(4, 4));
  }

  @ParameterizedTest(name = "polling EIO={0}, websocket EIO={1}")
  @MethodSource("transportPairs")
  void pollingAndWebSocketMembersExchangeOfferAnswerAndCandidate(int pollingVersion, int wsVersion) {
    String room = "call-" + pollingVersion + wsVersion;
    EngineIoPollingClient a = polling(server, pollingVersion);
    String aSid = connectSocketIo(a);
    TestClient b = server.open("/socket.io/?EIO=" + wsVersion + "&transport=websocket", "ws" + wsVersion);
    String bSid = connectWebSocketOnly(b, wsVersion);

    String aPeer = join(peer(a), room);
    if (aSid != null) {
      assertEquals(aSid, aPeer);
    }
    b.send(emit(event("CONNECT", room, null, "{\"name\":\"b\"}")));
    assertEquals("CONNECT", logEvent(nextWsMessage(b)).getString("type"), "b's join is echoed to b");
    JsonObject connect = messageEvent(a.nextMessage());
    assertEquals("CONNECT", connect.getString("type"));
    assertEquals(new JsonObject().put("name", "b"), connect.getJsonObject("payload"));
    String bPeer = connect.getJsonObject("caller").getString("id");
    if (bSid != null) {
      assertEquals(bSid, bPeer);
    }

    // caller is always set by the server; everything else arrives as sent.
    String callee = "{\"id\":\"" + bPeer + "\"}";
    String sdp = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\"}";
    a.send(emit("{\"type\":\"OFFER\",\"room\":{\"id\":\"" + room + "\"},\"caller\":{\"id\":\"spoofed\"},\"callee\":" + callee
        + ",\"payload\":" + sdp + "}"));
    String offer = nextWsMessage(b);
    assertEquals("2[\"message\",{\"caller\":{\"id\":\"" + aPeer + "\"},\"type\":\"OFFER\",\"room\":{\"id\":\"" + room
        + "\"},\"callee\":" + callee + ",\"payload\":" + sdp + "}]", offer);

    String toA = "{\"id\":\"" + aPeer + "\"}";
    b.send(emit(event("ANSWER", room, toA, "{\"type\":\"answer\",\"sdp\":\"v=0\"}")));
    JsonObject answer = messageEvent(a.nextMessage());
    assertEquals("ANSWER", answer.getString("type"));
    assertEquals(new JsonObject().put("id", bPeer), answer.getJsonObject("caller"));
    b.send(emit(event("CANDIDATE", room, toA, "{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 9 typ host\"}")));
    JsonObject candidate = messageEvent(a.nextMessage());
    assertEquals("CANDIDATE", candidate.getString("type"));
    assertEquals("candidate:1 1 udp 1 127.0.0.1 9 typ host", candidate.getJsonObject("payload").getString("candidate"));    assertTrue(LeanWebSockets.available(), "the WebSocket-only socket was made lean (as native ones) and carries traffic");
  }

  /** Reads a WebSocket-only session's greeting; returns its Socket.IO sid (v4) or null (v3). */
  private static String connectWebSocketOnly(TestClient ws, int v) {
    String open = ws.nextFrame(WAIT).text();
    assertTrue(open.startsWith("0{"), "open packet first: " + open);
    assertOpenPacket(new JsonObject(open.substring(1)), List.of(), 20_000, 40_000);
    if (v == 3) {
      assertEquals("40", ws.nextFrame(WAIT).text());
      return null;
    }
    ws.send("40");
    String connect = ws.nextFrame(WAIT).text();
    assertTrue(connect.startsWith("40{"), connect);
    return new JsonObject(connect.substring(2)).getString("sid");
  }

  // ---- helpers ----

  private static EngineIoPollingClient polling(ServerFixture f, int version) {
    return f.track(EngineIoPollingClient.create(f.port(), version));
  }

  private static EngineIoPollingClient polling(ServerFixture f, int version, String origin) {
    return f.track(EngineIoPollingClient.create(f.port(), version, origin));
  }

  /**
   * Handshakes and connects the main namespace: v3 gets {@code 40} unasked, v4 sends {@code 40}
   * and gets {@code 40{"sid":...}}. Returns that sid (the peer id) in v4, null in v3.
   */
  private static String connectSocketIo(EngineIoPollingClient c) {
    c.handshake();
    if (c.version() == 3) {
      assertEquals("0", c.nextMessage(), "v3: the server connects the main namespace with the handshake");
      return null;
    }
    c.send("40");
    String connect = c.nextMessage();
    assertTrue(connect.startsWith("0{"), "v4 CONNECT answer: " + connect);
    String sid = new JsonObject(connect.substring(1)).getString("sid");
    assertNotNull(sid, connect);
    return sid;
  }

  /** A Socket.IO client over either transport, as far as these tests need one. */
  private interface Peer {
    /** Sends one Engine.IO packet. */
    void send(String packet);

    /** The next Engine.IO message's data (a Socket.IO packet), keeping the heartbeat meanwhile. */
    String nextMessage();
  }

  private static Peer peer(EngineIoPollingClient c) {
    return new Peer() {
      @Override
      public void send(String packet) {
        c.send(packet);
      }

      @Override
      public String nextMessage() {
        return c.nextMessage();
      }
    };
  }

  private static Peer peer(TestClient ws) {
    return new Peer() {
      @Override
      public void send(String packet) {
        ws.send(packet);
      }

      @Override
      public String nextMessage() {
        return nextWsMessage(ws);
      }
    };
  }

  /**
   * Sends CONNECT for {@code room} and waits for the join to complete, which the server tells the
   * sender by echoing the rewritten CONNECT as {@code 2["log","SERVER_LOG",<event>]}
   * (docs/dialects.md). Returns the sender's peer id, from the echo's caller.
   */
  private static String join(Peer p, String room) {
    p.send(emit(event("CONNECT", room, null, "null")));
    String packet = p.nextMessage();
    JsonObject echo = logEvent(packet);
    String me = echo.getJsonObject("caller", new JsonObject()).getString("id");
    assertNotNull(me, packet);
    assertEquals("2[\"log\",\"SERVER_LOG\",{\"caller\":{\"id\":\"" + me + "\"},\"type\":\"CONNECT\",\"room\":{\"id\":\""
        + room + "\"},\"callee\":null,\"payload\":null}]", packet, "the CONNECT echo is the event as rewritten");
    return me;
  }

  /** The next Engine.IO message on a WebSocket, without its {@code 4}; answers pings meanwhile. */
  private static String nextWsMessage(TestClient ws) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      String text = ws.nextFrame(Duration.ofNanos(Math.max(1, deadline - System.nanoTime()))).text();
      if (text.startsWith("4")) {
        return text.substring(1);
      }
      if (text.startsWith("2")) {
        ws.send("3" + text.substring(1));
      } else if (!text.startsWith("3") && !text.equals("6")) {
        fail("unexpected Engine.IO packet on the WebSocket: " + text);
      }
    }
  }

  /**
   * The session still works: a valid event goes in by POST (here, a DISCONNECT from a room it is
   * not in) and its answer comes back by poll. {@code strict}: as the very next packet.
   */
  private static void assertUsable(EngineIoPollingClient c, boolean strict) {
    c.send(emit(event("DISCONNECT", "nowhere", null, "null")));
    String answer;
    if (strict) {
      EngineIoPacket p = c.nextPacket(WAIT);
      assertEquals(PacketType.MESSAGE, p.type(), "the next packet must answer the message: " + p);
      answer = p.data();
    } else {
      answer = c.nextMessage();
    }
    JsonObject error = signalingError(answer);
    assertEquals("not-in-room", error.getString("code"), error.encode());
    assertEquals("DISCONNECT", error.getString("type"), error.encode());
  }

  private static void assertUsable(EngineIoPollingClient c) {
    assertUsable(c, true);
  }

  private static String emit(String signalingEvent) {
    return "42[\"message\"," + signalingEvent + "]";
  }

  /** A SignalingEvent as peer-data sends it; {@code callee} and {@code payload} are raw JSON or null. */
  private static String event(String type, String room, String callee, String payload) {
    return "{\"type\":\"" + type + "\",\"room\":{\"id\":\"" + room + "\"},\"caller\":null,\"callee\":"
        + (callee == null ? "null" : callee) + ",\"payload\":" + (payload == null ? "null" : payload) + "}";
  }

  /** The SignalingEvent of Socket.IO packet {@code 2["message",{...}]}. */
  private static JsonObject messageEvent(String packet) {
    return eventArgument(packet, "message");
  }

  /** The event of Socket.IO packet {@code 2["log","SERVER_LOG",{...}]}. */
  private static JsonObject logEvent(String packet) {
    assertTrue(packet.startsWith("2["), "expected a Socket.IO EVENT 'log', got " + packet);
    JsonArray array = new JsonArray(packet.substring(1));
    assertEquals("log", array.getString(0), packet);
    assertEquals("SERVER_LOG", array.getString(1), packet);
    assertEquals(3, array.size(), packet);
    return array.getJsonObject(2);
  }

  /** The body of Socket.IO packet {@code 2["signaling-error",{...}]}. */
  private static JsonObject signalingError(String packet) {
    return eventArgument(packet, "signaling-error");
  }

  private static JsonObject eventArgument(String packet, String name) {
    assertTrue(packet.startsWith("2["), "expected a Socket.IO EVENT '" + name + "', got " + packet);
    JsonArray array = new JsonArray(packet.substring(1));
    assertEquals(name, array.getString(0), packet);
    assertEquals(2, array.size(), packet);
    return array.getJsonObject(1);
  }

  /** Asserts engine.io's JSON error body; a null {@code message} only checks it starts "Bad request". */
  private static void assertError(Response r, int status, int code, String message) {
    assertEquals(status, r.status(), r.toString());
    assertTrue(r.header("Content-Type").startsWith("application/json"), "Content-Type " + r.header("Content-Type"));
    JsonObject body = r.json();
    assertEquals(code, body.getInteger("code"), r.toString());
    if (message != null) {
      assertEquals(new JsonObject().put("code", code).put("message", message), body);
    } else {
      assertTrue(body.getString("message", "").startsWith("Bad request"), r.toString());
    }
  }

  private static Response await(CompletableFuture<Response> future) {
    try {
      return future.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return fail("no HTTP answer within " + WAIT.toMillis() + " ms");
    } catch (ExecutionException e) {
      return fail("request failed: " + e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
