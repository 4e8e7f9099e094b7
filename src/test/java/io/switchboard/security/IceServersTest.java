package io.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.ServerFixture.HttpResult;
import io.switchboard.support.TestClient;
import io.switchboard.support.Tokens;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * TURN credentials of the REST scheme coturn checks with {@code use-auth-secret}, in the native
 * {@code welcome} and from {@code GET /ice-servers}; each credential recomputed here from the
 * username and the shared secret, as the TURN server would.
 */
class IceServersTest {
  private static final String TURN_SECRET = "coturn-static-auth-secret";
  private static final Map<String, String> ICE = Map.of(
      "STUN_URLS", "stun:stun.example.org:3478",
      "TURN_URLS", "turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349?transport=tcp",
      "TURN_SECRET", TURN_SECRET,
      "TURN_TTL_SECONDS", "600");

  /** base64(HMAC-SHA1(secret, username)), computed the way coturn does, independently of the server. */
  private static String expectedCredential(String username) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA1");
    mac.init(new SecretKeySpec(TURN_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA1"));
    return Base64.getEncoder().encodeToString(mac.doFinal(username.getBytes(StandardCharsets.UTF_8)));
  }

  /** Checks the two entries (STUN, TURN) and returns the TURN username's user id. */
  private static String assertIceServers(JsonArray servers, long before, long after) throws Exception {
    assertEquals(2, servers.size(), servers.encode());
    JsonObject stun = servers.getJsonObject(0);
    assertEquals(new JsonArray().add("stun:stun.example.org:3478"), stun.getJsonArray("urls"));
    assertFalse(stun.containsKey("username"));
    JsonObject turn = servers.getJsonObject(1);
    assertEquals(new JsonArray().add("turn:turn.example.org:3478?transport=udp").add("turns:turn.example.org:5349?transport=tcp"),
        turn.getJsonArray("urls"));
    String username = turn.getString("username");
    String[] parts = username.split(":", 2);
    long expiry = Long.parseLong(parts[0]);
    assertTrue(expiry >= before + 600 && expiry <= after + 600, "expiry " + expiry + " is now + TURN_TTL_SECONDS");
    assertEquals(expectedCredential(username), turn.getString("credential"));
    return parts[1];
  }

  @Test
  void welcomeCarriesTurnCredentialsForThePeer() throws Exception {
    try (ServerFixture f = ServerFixture.start(ICE)) {
      long before = Tokens.now();
      TestClient c = f.track(TestClient.open(f.webSocketClient(), TestClient.options(f.port(), "/ws", null), "ice"));
      JsonObject welcome = c.welcome();
      String user = assertIceServers(welcome.getJsonArray("iceServers"), before, Tokens.now());
      assertEquals(c.peerId(), user, "the TURN username names the peer");
    }
  }

  @Test
  void iceServersEndpointGivesFreshCredentialsWithAuthenticationOff() throws Exception {
    try (ServerFixture f = ServerFixture.start(ICE)) {
      long before = Tokens.now();
      HttpResult first = f.get("/ice-servers");
      assertEquals(200, first.status(), first.body());
      assertEquals("no-store", first.header("Cache-Control"));
      JsonObject body = new JsonObject(first.body());
      assertEquals(600, body.getInteger("ttl"));
      String user = assertIceServers(body.getJsonArray("iceServers"), before, Tokens.now());
      assertEquals(22, user.length(), "a random id of the peer id's form: " + user);
      String second = assertIceServers(new JsonObject(f.get("/ice-servers").body()).getJsonArray("iceServers"), before, Tokens.now());
      assertNotEquals(user, second);
    }
  }

  @Test
  void iceServersEndpointWantsATokenWhenAuthenticationIsOn() throws Exception {
    String secret = "an-hs256-secret-of-at-least-32-bytes";
    Map<String, String> env = new java.util.HashMap<>(ICE);
    env.put("AUTH_JWT_SECRET", secret);
    try (ServerFixture f = ServerFixture.start(env)) {
      assertEquals(401, f.get("/ice-servers").status());
      String token = Tokens.hs256(secret.getBytes(StandardCharsets.UTF_8), new JsonObject().put("exp", Tokens.now() + 60));
      long before = Tokens.now();
      HttpResult ok = f.get("/ice-servers", Map.of("Authorization", "Bearer " + token));
      assertEquals(200, ok.status(), ok.body());
      assertIceServers(new JsonObject(ok.body()).getJsonArray("iceServers"), before, Tokens.now());
    }
  }

  @Test
  void withoutIceServersTheWelcomeHasNoneAndTheEndpointAnEmptyList() {
    try (ServerFixture f = ServerFixture.start(Map.of("STUN_URLS", "", "ALLOWED_ORIGINS", "https://app.example"))) {
      TestClient c = f.track(TestClient.open(f.webSocketClient(), TestClient.options(f.port(), "/ws", null), "plain"));
      assertFalse(c.welcome().containsKey("iceServers"));
      HttpResult r = f.get("/ice-servers");
      assertEquals(200, r.status());
      assertEquals(new JsonObject().put("iceServers", new JsonArray()), new JsonObject(r.body()));
      // Browsers of an allowed origin may read it; others are refused.
      HttpResult fromApp = f.get("/ice-servers", Map.of("Origin", "https://app.example"));
      assertEquals("https://app.example", fromApp.header("Access-Control-Allow-Origin"));
      assertEquals(403, f.get("/ice-servers", Map.of("Origin", "https://evil.example")).status());
    }
  }

  @Test
  void stunOnlyNeedsNoSecret() {
    try (ServerFixture f = ServerFixture.start(Map.of("STUN_URLS", "stun:a.example:3478,stun:b.example:3478"))) {
      TestClient c = f.track(TestClient.open(f.webSocketClient(), TestClient.options(f.port(), "/ws", null), "stun"));
      JsonArray servers = c.welcome().getJsonArray("iceServers");
      assertEquals(new JsonArray().add(new JsonObject().put("urls", new JsonArray(List.of("stun:a.example:3478", "stun:b.example:3478")))),
          servers);
    }
  }
}
