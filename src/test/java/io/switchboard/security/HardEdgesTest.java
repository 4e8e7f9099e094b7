package io.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.joran.spi.JoranException;
import io.switchboard.support.EngineIoPollingClient;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.ServerFixture.HttpResult;
import io.switchboard.support.TestClient;
import io.switchboard.support.Tokens;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * The hard edges: with each shipped logback configuration at {@code LOG_LEVEL=TRACE}, a session of valid and invalid tokens, offers and Socket.IO events
 * logs no token, no secret and no SDP; and what clients are told when refused carries no stack
 * trace or internal detail.
 */
class HardEdgesTest {
  private static final String JWT_SECRET = "log-hygiene-hs256-secret-0123456789";
  private static final String TURN_SECRET = "log-hygiene-turn-secret";
  private static final String SDP_MARKER = "a=fingerprint:sha-256 SECRET-SDP-MARKER";

  /** Keeps every event, formatted with its throwable. */
  private static final class Capture extends AppenderBase<ILoggingEvent> {
    final List<String> lines = new ArrayList<>();

    @Override
    protected synchronized void append(ILoggingEvent event) {
      String line = event.getLoggerName() + " " + event.getFormattedMessage();
      if (event.getThrowableProxy() != null) {
        line += " " + ThrowableProxyUtil.asString(event.getThrowableProxy());
      }
      lines.add(line);
    }

    synchronized List<String> snapshot() {
      return List.copyOf(lines);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"logback-json.xml", "logback-text.xml", "logback.xml"})
  void logsNoTokenSecretOrSdpEvenAtTrace(String shippedConfiguration) throws Exception {
    // The shipped configuration with LOG_LEVEL=TRACE, its console output replaced by a capture.
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    String levelBefore = System.getProperty("switchboard.logLevel");
    System.setProperty("switchboard.logLevel", "TRACE");
    configure(context, shippedConfiguration);
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAppender("STDOUT");
    Capture capture = new Capture();
    capture.setContext(context);
    capture.start();
    root.addAppender(capture);
    byte[] secret = JWT_SECRET.getBytes(StandardCharsets.UTF_8);
    String good = Tokens.hs256(secret, new JsonObject().put("sub", "alice").put("exp", Tokens.now() + 600));
    String badSignature = Tokens.hs256("another-secret-another-secret-0123".getBytes(StandardCharsets.UTF_8),
        new JsonObject().put("sub", "mallory").put("exp", Tokens.now() + 600));
    String expired = Tokens.hs256(secret, new JsonObject().put("sub", "old").put("exp", Tokens.now() - 3600));
    try (ServerFixture f = ServerFixture.start(Map.of("AUTH_JWT_SECRET", JWT_SECRET, "TURN_URLS", "turn:turn.example.org",
        "TURN_SECRET", TURN_SECRET))) {
      for (String refused : List.of(badSignature, expired, Tokens.unsigned(new JsonObject().put("exp", Tokens.now() + 60)))) {
        try {
          TestClient.open(f.webSocketClient(), TestClient.options(f.port(), "/ws?access_token=" + refused, null), "refused");
        } catch (UpgradeRejectedException e) {
          assertEquals(401, e.getStatus());
        }
        assertEquals(401, f.get("/ice-servers", Map.of("Authorization", "Bearer " + refused)).status());
      }
      TestClient a = f.track(TestClient.open(f.webSocketClient(),
          TestClient.options(f.port(), "/ws", null).addSubProtocol("access_token").addSubProtocol(good), "a"));
      a.welcome();
      TestClient b = f.track(TestClient.open(f.webSocketClient(), TestClient.options(f.port(), "/ws?access_token=" + good, null), "b"));
      b.welcome();
      a.join("call");
      b.join("call");
      a.next("peer-joined");
      b.send(new JsonObject().put("type", "offer").put("room", "call").put("to", a.peerId())
          .put("data", new JsonObject().put("type", "offer").put("sdp", "v=0\r\n" + SDP_MARKER + "\r\n")).encode());
      assertTrue(a.next("offer").encode().contains("SECRET-SDP-MARKER"));
      b.send("{\"type\":\"offer\",\"room\":\"elsewhere\",\"data\":{\"sdp\":\"" + SDP_MARKER + "\"}}");
      assertEquals("not-in-room", b.next("error").getString("code"));

      EngineIoPollingClient sio = f.track(EngineIoPollingClient.create(f.port(), 3));
      sio.handshake("&access_token=" + good);
      sio.send("42[\"message\",{\"type\":\"OFFER\",\"room\":{\"id\":\"x\"},\"callee\":{\"id\":\"AAAAAAAAAAAAAAAAAAAAAA\"},\"payload\":{\"sdp\":\""
          + SDP_MARKER + "\"}}]");
      assertEquals(200, f.get("/ice-servers?access_token=" + good).status());
      f.closeClients();
    } finally {
      if (levelBefore == null) {
        System.clearProperty("switchboard.logLevel");
      } else {
        System.setProperty("switchboard.logLevel", levelBefore);
      }
      configure(context, "logback-test.xml");
    }
    List<String> lines = capture.snapshot();
    assertFalse(lines.isEmpty(), "TRACE logging captured nothing: the check would prove nothing");
    for (String line : lines) {
      for (String secretText : List.of(good, badSignature, expired, JWT_SECRET, TURN_SECRET, "SECRET-SDP-MARKER")) {
        assertFalse(line.contains(secretText), "a log line contains " + secretText.substring(0, 12) + "…: " + line);
      }
      // A token's parts on their own (header and claims are not secret, the signature is).
      assertFalse(line.contains(good.substring(good.lastIndexOf('.') + 1)), "a log line contains a signature: " + line);
    }
  }

  private static void configure(LoggerContext context, String resource) throws JoranException {
    context.reset();
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(HardEdgesTest.class.getResource("/" + resource));
  }

  @Test
  void refusalsCarryNoStackTraceOrInternalDetail() {
    try (ServerFixture f = ServerFixture.start(Map.of("AUTH_JWT_SECRET", JWT_SECRET, "ALLOWED_ORIGINS", "https://app.example",
        "MAX_MESSAGE_BYTES", "1024", "MAX_FRAME_BYTES_HARD", "2048"))) {
      List<String> bodies = new ArrayList<>();
      for (String path : List.of("/nope", "/ice-servers", "/ice-servers?access_token=a.b.c", "/socket.io/?EIO=9",
          "/socket.io/?EIO=4&transport=polling&access_token=%00%ff")) {
        HttpResult r = f.get(path);
        assertTrue(r.status() >= 400, path + " answered " + r.status());
        bodies.add(path + " -> " + r.body());
      }
      bodies.add(f.get("/ice-servers", Map.of("Origin", "https://evil.example")).body());
      EngineIoPollingClient sio = f.track(EngineIoPollingClient.create(f.port(), 4));
      String token = Tokens.hs256(JWT_SECRET.getBytes(StandardCharsets.UTF_8), new JsonObject().put("exp", Tokens.now() + 60));
      sio.handshake("&access_token=" + token);
      bodies.add(sio.post("5:garbage-that-is-not-a-payload").body());
      bodies.add(sio.post("x".repeat(4096)).body());
      for (String body : bodies) {
        for (String leak : List.of("Exception", "\tat ", "at io.", "at java.", "io.vertx", "io.switchboard", "java.lang")) {
          assertFalse(body.contains(leak), "a client was told " + leak + ": " + body);
        }
      }
    }
  }
}
