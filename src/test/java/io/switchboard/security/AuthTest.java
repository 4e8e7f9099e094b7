package io.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.ServerFixture.HttpResult;
import io.switchboard.support.TestClient;
import io.switchboard.support.Tokens;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Token authentication over real sockets: every way a token is refused (HTTP 401 at the upgrade
 * or the Engine.IO handshake), the three ways to present a valid one, the {@code rooms} claim on
 * every dialect ({@code forbidden}), {@code sub} in what others see, and the close of a
 * connection whose token expires. The tokens are signed with the JDK, independently of the
 * server's Vert.x verifier.
 */
class AuthTest {
  private static final String ISSUER = "https://issuer.example";
  private static final String AUDIENCE = "switchboard";
  private static final String APP_ORIGIN = "https://app.example";

  private static Path dir;
  private static KeyPair rsa;
  private static KeyPair otherRsa;
  private static Path rsaPem;
  private static ServerFixture rs256;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("switchboard-auth");
    rsa = Tokens.rsa();
    otherRsa = Tokens.rsa();
    rsaPem = Tokens.writePublicPem(rsa.getPublic(), dir, "rsa.pem");
    rs256 = ServerFixture.start(Map.of(
        "AUTH_JWT_PUBLIC_KEY_FILE", rsaPem.toString(),
        "AUTH_JWT_ISSUER", ISSUER,
        "AUTH_JWT_AUDIENCE", "other-service, " + AUDIENCE,
        "ALLOWED_ORIGINS", APP_ORIGIN));
  }

  @AfterAll
  static void stop() {
    if (rs256 != null) {
      rs256.close();
    }
  }

  @AfterEach
  void closeClients() {
    rs256.closeClients();
  }

  /** Claims the RS256 server accepts: its issuer and audience, {@code sub}, ten minutes to live. */
  private static JsonObject claims(String sub) {
    JsonObject c = new JsonObject().put("iss", ISSUER).put("aud", AUDIENCE).put("exp", Tokens.now() + 600);
    return sub == null ? c : c.put("sub", sub);
  }

  private static String token(String sub) {
    return Tokens.rs256(rsa.getPrivate(), claims(sub));
  }

  private static WebSocketConnectOptions at(ServerFixture f, String pathAndQuery) {
    return TestClient.options(f.port(), pathAndQuery, null);
  }

  private static TestClient open(ServerFixture f, WebSocketConnectOptions options) {
    return f.track(TestClient.open(f.webSocketClient(), options, options.getURI()));
  }

  /** A native client whose token rides in the query; its welcome consumed. */
  private static TestClient connect(ServerFixture f, String token) {
    TestClient c = open(f, at(f, "/ws?access_token=" + token));
    c.welcome();
    return c;
  }

  private static int rejected(ServerFixture f, WebSocketConnectOptions options) {
    try {
      TestClient accepted = open(f, options);
      return fail("upgrade of " + options.getURI() + " was accepted: " + accepted);
    } catch (UpgradeRejectedException e) {
      return e.getStatus();
    }
  }

  private static int rejectedWithToken(String token) {
    return rejected(rs256, at(rs256, "/ws?access_token=" + token));
  }

  // ---- refusals ----

  @Test
  void refusesEveryWebSocketEndpointAndEngineIoHandshakeWithoutAToken() {
    for (String path : List.of("/ws", "/direct", "/relay/lobby", "/socket.io/?EIO=4&transport=websocket",
        "/socket.io/?EIO=3&transport=websocket")) {
      assertEquals(401, rejected(rs256, at(rs256, path)), path);
    }
    EngineIoPollingClient polling = rs256.track(EngineIoPollingClient.create(rs256.port(), 4));
    EngineIoPollingClient.Response handshake = polling.get("EIO=4&transport=polling");
    assertEquals(401, handshake.status(), handshake.toString());
    assertEquals("Bearer", handshake.header("WWW-Authenticate"));
    assertEquals(4, handshake.json().getInteger("code"));
    assertEquals(0, rs256.server().openConnections());
  }

  @Test
  void refusesABadSignature() {
    assertEquals(401, rejectedWithToken(Tokens.rs256(otherRsa.getPrivate(), claims("alice"))));
    // The right signature over other claims: a tampered payload.
    String good = token("alice");
    String[] parts = good.split("\\.");
    String forged = parts[0] + "." + Tokens.b64(claims("admin").encode().getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
    assertEquals(401, rejectedWithToken(forged));
    assertEquals(401, rejectedWithToken("not-a-jwt"));
    assertEquals(401, rejectedWithToken("a.b.c"));
  }

  @Test
  void refusesAnExpiredTokenBeyondTheLeewayAndAcceptsClockSkewWithinIt() {
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims("alice").put("exp", Tokens.now() - 120))));
    // AUTH_JWT_LEEWAY_SECONDS is 30: ten seconds late is clock skew, not expiry.
    connect(rs256, Tokens.rs256(rsa.getPrivate(), claims("alice").put("exp", Tokens.now() - 10)));
    // Not valid yet, beyond the leeway.
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims("alice").put("nbf", Tokens.now() + 120))));
    // No exp at all: a stolen token would work for ever.
    JsonObject noExp = claims("alice");
    noExp.remove("exp");
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), noExp)));
  }

  @Test
  void refusesAnotherAudienceOrIssuer() {
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims("alice").put("aud", "billing"))));
    JsonObject noAudience = claims("alice");
    noAudience.remove("aud");
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), noAudience)));
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims("alice").put("iss", "https://evil.example"))));
    // One of the configured audiences in a list is enough.
    connect(rs256, Tokens.rs256(rsa.getPrivate(), claims("alice").put("aud", new JsonArray().add("x").add(AUDIENCE))));
  }

  @Test
  void refusesAlgNone() {
    assertEquals(401, rejectedWithToken(Tokens.unsigned(claims("alice"))));
    String unsigned = Tokens.unsigned(claims("alice"));
    assertEquals(401, rejectedWithToken(unsigned.substring(0, unsigned.length() - 1)));
    // The RS256 header over an empty signature.
    String good = token("alice");
    assertEquals(401, rejectedWithToken(good.substring(0, good.lastIndexOf('.') + 1)));
  }

  @Test
  void refusesAnHs256TokenSignedWithTheRsaPublicKey() throws Exception {
    // Algorithm confusion: a verifier that took the algorithm from the token would check this
    // HMAC with the public key it holds, which anyone can read.
    byte[] pemAsFile = Files.readAllBytes(rsaPem);
    assertEquals(401, rejectedWithToken(Tokens.hs256(pemAsFile, claims("alice"))));
    assertEquals(401, rejectedWithToken(Tokens.hs256(rsa.getPublic().getEncoded(), claims("alice"))));
  }

  @Test
  void refusesClaimsOfTheWrongForm() {
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims("alice").put("rooms", "lobby"))));
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims("alice").put("rooms", new JsonArray().add(7)))));
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims(null).put("sub", 42))));
    assertEquals(401, rejectedWithToken(Tokens.rs256(rsa.getPrivate(), claims("alice").put("exp", "tomorrow"))));
  }

  @Test
  void refusesAnOriginNotAllowedEvenWithAValidToken() {
    // Cross-site WebSocket hijacking: a page elsewhere opening a socket with its visitor's
    // credentials. The Origin check does not depend on the token.
    WebSocketConnectOptions evil = TestClient.options(rs256.port(), "/ws?access_token=" + token("alice"), "https://evil.example");
    assertEquals(403, rejected(rs256, evil));
    TestClient fromApp = open(rs256, TestClient.options(rs256.port(), "/ws?access_token=" + token("alice"), APP_ORIGIN));
    fromApp.welcome();
  }

  // ---- valid tokens ----

  @Test
  void acceptsAValidRs256TokenInTheQueryTheSubprotocolOrTheAuthorizationHeader() {
    TestClient byQuery = connect(rs256, token("alice"));
    assertNull(byQuery.subProtocol());

    WebSocketConnectOptions bySubprotocol = at(rs256, "/ws").addSubProtocol("access_token").addSubProtocol(token("bob"));
    TestClient viaProtocol = open(rs256, bySubprotocol);
    // The server selects the marker, never the token itself, so the token is not echoed.
    assertEquals("access_token", viaProtocol.subProtocol());
    viaProtocol.welcome();

    TestClient byHeader = open(rs256, at(rs256, "/ws").addHeader("Authorization", "Bearer " + token("carol")));
    byHeader.welcome();

    byQuery.join("lobby");
    viaProtocol.join("lobby");
    assertEquals(viaProtocol.peerId(), byQuery.next("peer-joined").getString("peer"));
  }

  @Test
  void acceptsAValidHs256TokenAndRefusesOtherSecretsAndAlgorithms() {
    String secret = "0123456789abcdef0123456789abcdef-hs256";
    try (ServerFixture hs = ServerFixture.start(Map.of("AUTH_JWT_SECRET", secret))) {
      JsonObject c = new JsonObject().put("sub", "dora").put("exp", Tokens.now() + 600);
      TestClient ok = connect(hs, Tokens.hs256(secret.getBytes(StandardCharsets.UTF_8), c));
      ok.assertAlive("hs");
      assertEquals(401, rejected(hs, at(hs, "/ws?access_token=" + Tokens.hs256("another-secret-of-enough-length!!".getBytes(StandardCharsets.UTF_8), c))));
      assertEquals(401, rejected(hs, at(hs, "/ws?access_token=" + Tokens.rs256(rsa.getPrivate(), c))));
      assertEquals(401, rejected(hs, at(hs, "/ws?access_token=" + Tokens.unsigned(c))));
    }
  }

  @Test
  void acceptsAValidEs256Token() throws Exception {
    KeyPair ec = Tokens.ec();
    Path pem = Tokens.writePublicPem(ec.getPublic(), dir, "ec.pem");
    try (ServerFixture es = ServerFixture.start(Map.of("AUTH_JWT_PUBLIC_KEY_FILE", pem.toString()))) {
      JsonObject c = new JsonObject().put("sub", "erin").put("exp", Tokens.now() + 600);
      connect(es, Tokens.es256(ec.getPrivate(), c)).assertAlive("es");
      assertEquals(401, rejected(es, at(es, "/ws?access_token=" + Tokens.rs256(rsa.getPrivate(), c))));
    }
  }

  // ---- rooms and sub ----

  @Test
  void limitsJoinsToTheRoomsClaim() {
    String limited = Tokens.rs256(rsa.getPrivate(), claims("alice").put("rooms", new JsonArray().add("lobby").add("team-7-*")));
    TestClient alice = connect(rs256, limited);
    alice.join("lobby");
    alice.join("team-7-standup");
    alice.send("{\"type\":\"join\",\"room\":\"team-8\",\"id\":\"j3\"}");
    JsonObject refused = alice.next("error");
    assertEquals("forbidden", refused.getString("code"));
    assertEquals("j3", refused.getString("id"));
    alice.send("{\"type\":\"join\",\"room\":\"lobby2\",\"id\":4}");
    assertEquals("forbidden", alice.next("error").getString("code"));
    alice.assertAlive("still-open");

    // No rooms claim: any room. An empty one: none.
    connect(rs256, token("bob")).join("team-8");
    TestClient none = connect(rs256, Tokens.rs256(rsa.getPrivate(), claims("carol").put("rooms", new JsonArray())));
    none.send("{\"type\":\"join\",\"room\":\"lobby\"}");
    assertEquals("forbidden", none.next("error").getString("code"));
  }

  @Test
  void showsTheTokensSubjectInMetaAndNeverTheClientsOwn() {
    TestClient alice = connect(rs256, token("alice"));
    alice.join("meet", new JsonObject().put("sub", "the-ceo").put("name", "Alice"));
    TestClient bob = connect(rs256, token("bob"));
    JsonObject roster = bob.join("meet", new JsonObject().put("name", "Bob"));
    JsonObject aliceMeta = roster.getJsonArray("peers").getJsonObject(0).getJsonObject("meta");
    assertEquals("alice", aliceMeta.getString("sub"));
    assertEquals("Alice", aliceMeta.getString("name"));
    JsonObject bobMeta = alice.next("peer-joined").getJsonObject("meta");
    assertEquals(new JsonObject().put("sub", "bob").put("name", "Bob"), bobMeta);

    // A token without sub: whatever sub the client claims is removed.
    TestClient anonymous = connect(rs256, token(null));
    anonymous.join("meet", new JsonObject().put("sub", "alice"));
    assertFalse(alice.next("peer-joined").getJsonObject("meta").containsKey("sub"));
  }

  @Test
  void refusesARelayRoomOutsideTheClaimAtTheUpgrade() {
    String limited = Tokens.rs256(rsa.getPrivate(), claims("alice").put("rooms", new JsonArray().add("team-*")));
    assertEquals(403, rejected(rs256, at(rs256, "/relay/lobby?access_token=" + limited)));
    double joinsBefore = rs256.scrape().value("switchboard_joins_total");
    TestClient a = open(rs256, at(rs256, "/relay/team-1?access_token=" + limited));
    TestClient b = open(rs256, at(rs256, "/relay/team-1?access_token=" + token("bob")));
    // The relay protocol says nothing when a join completes; the node's join counter does.
    rs256.awaitCondition(() -> rs256.scrape().value("switchboard_joins_total") >= joinsBefore + 2, TestClient.WAIT,
        "both relay sockets joined");
    a.send("hello");
    assertEquals("hello", b.nextFrame(TestClient.WAIT).text());
  }

  @Test
  void limitsDirectLoginNamesToTheRoomsClaimAndTellsTheCalleeTheCallersSubject() {
    String aliceToken = Tokens.rs256(rsa.getPrivate(), claims("user-1").put("rooms", new JsonArray().add("alice")));
    TestClient alice = open(rs256, at(rs256, "/direct?access_token=" + aliceToken));
    alice.send("{\"type\":\"login\",\"name\":\"bob\"}");
    JsonObject refused = alice.next("login");
    assertEquals(false, refused.getBoolean("success"));
    assertEquals("Name not allowed by your token", refused.getString("message"));
    alice.send("{\"type\":\"login\",\"name\":\"alice\"}");
    assertTrue(alice.next("login").getBoolean("success"));

    TestClient bob = open(rs256, at(rs256, "/direct?access_token=" + token("user-2")));
    bob.send("{\"type\":\"login\",\"name\":\"bob\"}");
    assertTrue(bob.next("login").getBoolean("success"));
    alice.send("{\"type\":\"offer\",\"name\":\"bob\",\"offer\":{\"sdp\":\"v=0\"}}");
    JsonObject offer = bob.next("offer");
    assertEquals("alice", offer.getString("name"));
    assertEquals("user-1", offer.getString("sub"));
  }

  @Test
  void limitsSocketIoRoomsToTheClaimAndPutsTheSubjectInCaller() {
    String limited = Tokens.rs256(rsa.getPrivate(), claims("sio-user").put("rooms", new JsonArray().add("team-*")));
    EngineIoPollingClient c = rs256.track(EngineIoPollingClient.create(rs256.port(), 3));
    c.handshake("&access_token=" + limited);
    assertEquals("0", c.nextMessage()); // Socket.IO 2 connects at once
    c.send("42[\"message\",{\"type\":\"CONNECT\",\"room\":{\"id\":\"lobby\"},\"caller\":null,\"callee\":null,\"payload\":null}]");
    String refused = c.nextMessage();
    assertTrue(refused.startsWith("2[\"signaling-error\""), refused);
    JsonObject error = new JsonArray(refused.substring(1)).getJsonObject(1);
    assertEquals("forbidden", error.getString("code"));
    assertEquals("CONNECT", error.getString("type"));

    c.send("42[\"message\",{\"type\":\"CONNECT\",\"room\":{\"id\":\"team-1\"},\"caller\":null,\"callee\":null,\"payload\":null}]");
    String echo = c.nextMessage();
    assertTrue(echo.startsWith("2[\"log\""), echo);
    JsonObject caller = new JsonArray(echo.substring(1)).getJsonObject(2).getJsonObject("caller");
    assertEquals("sio-user", caller.getString("sub"));
  }

  @Test
  void servesIceServersOnlyWithAValidToken() {
    HttpResult none = rs256.get("/ice-servers");
    assertEquals(401, none.status());
    assertEquals("Bearer", none.header("WWW-Authenticate"));
    assertEquals(401, rs256.get("/ice-servers", Map.of("Authorization", "Bearer " + Tokens.unsigned(claims("x")))).status());
    HttpResult ok = rs256.get("/ice-servers", Map.of("Authorization", "Bearer " + token("alice")));
    assertEquals(200, ok.status(), ok.body());
    assertEquals(new JsonArray(), new JsonObject(ok.body()).getJsonArray("iceServers"));
    assertEquals(200, rs256.get("/ice-servers?access_token=" + token("alice")).status());
  }

  // ---- expiry mid-session ----

  @Test
  void closesAConnectionWhoseTokenExpiresAfterTheGracePeriod() {
    try (ServerFixture f = ServerFixture.start(Map.of("AUTH_JWT_SECRET", "an-hs256-secret-of-at-least-32-bytes",
        "AUTH_EXPIRY_GRACE_SECONDS", "1"))) {
      byte[] secret = "an-hs256-secret-of-at-least-32-bytes".getBytes(StandardCharsets.UTF_8);
      long exp = Tokens.now() + 1;
      TestClient shortLived = connect(f, Tokens.hs256(secret, new JsonObject().put("sub", "s").put("exp", exp)));
      TestClient longLived = connect(f, Tokens.hs256(secret, new JsonObject().put("sub", "l").put("exp", Tokens.now() + 600)));
      shortLived.join("call");
      longLived.join("call");
      shortLived.next("peer-joined");
      TestClient socketIo = open(f, at(f, "/socket.io/?EIO=4&transport=websocket&access_token="
          + Tokens.hs256(secret, new JsonObject().put("exp", exp))));

      long deadline = (exp + 1) * 1000;
      assertEquals(4010, shortLived.awaitClose(Duration.ofSeconds(6)));
      assertTrue(System.currentTimeMillis() >= deadline - 50, "closed before exp + grace");
      assertEquals("token expired", shortLived.closeReason());
      JsonObject left = longLived.next("peer-left");
      assertEquals(shortLived.peerId(), left.getString("peer"));
      assertEquals("disconnect", left.getString("reason"));
      assertEquals(4010, socketIo.awaitClose(Duration.ofSeconds(6)));
      longLived.assertAlive("still-valid");
    }
  }
}
