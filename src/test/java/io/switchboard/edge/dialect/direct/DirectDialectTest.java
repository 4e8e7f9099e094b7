package io.switchboard.edge.dialect.direct;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.Topology;
import io.switchboard.support.TopologyCases;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The tutorial's login protocol at {@code /direct}, driven the way its client drives it, on one
 * node and with the two users on different nodes of one Redis.
 */
class DirectDialectTest {
  private static final Map<String, String> ENV = Map.of("RATE_LIMIT_PER_SECOND", "1000", "RATE_LIMIT_BURST", "1000");
  private static final AtomicInteger names = new AtomicInteger();

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class OnOneNode extends Cases {
    OnOneNode() {
      super(() -> Topology.oneNode(ENV));
    }
  }

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  class AcrossTwoNodes extends Cases {
    AcrossTwoNodes() {
      super(() -> Topology.twoNodesOnRedis(ENV));
    }
  }

  abstract static class Cases extends TopologyCases {
    Cases(Supplier<Topology> start) {
      super(start);
    }

    private static String uniqueName(String base) {
      return base + "-" + names.incrementAndGet();
    }

    private static TestClient open(ServerFixture node, String label) {
      return node.open("/direct", label);
    }

    private static TestClient login(ServerFixture node, String name) {
      TestClient c = open(node, name);
      c.send(new JsonObject().put("type", "login").put("name", name).encode());
      assertEquals(new JsonObject().put("type", "login").put("success", true), c.next());
      return c;
    }

    @Test
    void wholeCallFlow_loginOfferAnswerCandidateLeave() {
      String alice = uniqueName("alice");
      String bob = uniqueName("bob");
      TestClient a = login(nodes.a(), alice);
      TestClient b = login(nodes.b(), bob);

      String offer = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\"}";
      a.send("{\"type\":\"offer\",\"name\":\"" + bob + "\",\"offer\":" + offer + "}");
      // The payload arrives byte for byte, with the caller's name added as the seed does.
      assertEquals("{\"type\":\"offer\",\"offer\":" + offer + ",\"name\":\"" + alice + "\"}",
          b.nextFrame(TestClient.WAIT).text());

      String answer = "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}";
      b.send("{\"type\":\"answer\",\"name\":\"" + alice + "\",\"answer\":" + answer + "}");
      assertEquals("{\"type\":\"answer\",\"answer\":" + answer + "}", a.nextFrame(TestClient.WAIT).text());

      for (int i = 0; i < 3; i++) {
        String candidate = "{\"candidate\":\"candidate:" + i + " 1 udp 1 127.0.0.1 5000" + i + " typ host\",\"sdpMid\":\"0\"}";
        a.send("{\"type\":\"candidate\",\"name\":\"" + bob + "\",\"candidate\":" + candidate + "}");
        b.send("{\"type\":\"candidate\",\"name\":\"" + alice + "\",\"candidate\":" + candidate + "}");
        assertEquals("{\"type\":\"candidate\",\"candidate\":" + candidate + "}", b.nextFrame(TestClient.WAIT).text());
        assertEquals("{\"type\":\"candidate\",\"candidate\":" + candidate + "}", a.nextFrame(TestClient.WAIT).text());
      }

      a.send("{\"type\":\"leave\",\"name\":\"" + bob + "\"}");
      JsonObject leave = b.next();
      assertEquals("leave", leave.getString("type"));
      assertEquals(alice, leave.getString("name"));
      a.expectNothing();
    }

    @Test
    void messagesKeepTheirOrderAcrossNodes() {
      TestClient a = login(nodes.a(), uniqueName("fast"));
      String bobName = uniqueName("slowpoke");
      TestClient b = login(nodes.b(), bobName);
      for (int i = 0; i < 100; i++) {
        a.sendNoWait("{\"type\":\"candidate\",\"name\":\"" + bobName + "\",\"candidate\":" + i + "}");
      }
      for (int i = 0; i < 100; i++) {
        assertEquals(i, b.next().getInteger("candidate"));
      }
    }

    @Test
    void closingTheSocketTellsTheOtherUser() {
      String alice = uniqueName("alice");
      String bob = uniqueName("bob");
      TestClient a = login(nodes.a(), alice);
      TestClient b = login(nodes.b(), bob);
      b.send("{\"type\":\"offer\",\"name\":\"" + alice + "\",\"offer\":{}}");
      a.next("offer");
      a.send("{\"type\":\"answer\",\"name\":\"" + bob + "\",\"answer\":{}}");
      b.next("answer");
      a.close();
      assertEquals(new JsonObject().put("type", "leave").put("name", alice), b.next());
    }

    @Test
    void aLeaveReceivedEndsTheCallSoALaterCloseTellsNobody() {
      String alice = uniqueName("alice");
      String bob = uniqueName("bob");
      TestClient a = login(nodes.a(), alice);
      TestClient b = login(nodes.b(), bob);
      a.send("{\"type\":\"offer\",\"name\":\"" + bob + "\",\"offer\":{}}");
      b.next("offer");
      b.send("{\"type\":\"answer\",\"name\":\"" + alice + "\",\"answer\":{}}");
      a.next("answer");
      a.send("{\"type\":\"leave\",\"name\":\"" + bob + "\"}");
      b.next("leave");
      b.close();
      a.expectNothing();
    }

    @Test
    void namesAreUniqueAcrossTheClusterAndReleasedOnClose() throws InterruptedException {
      String name = uniqueName("taken");
      TestClient first = login(nodes.a(), name);
      TestClient second = open(nodes.b(), "second");
      second.send(new JsonObject().put("type", "login").put("name", name).encode());
      JsonObject refused = second.next();
      assertEquals("login", refused.getString("type"));
      assertFalse(refused.getBoolean("success"));

      first.close();
      // The name is free once the first holder's socket is gone (its leave is asynchronous).
      boolean taken = false;
      for (int attempt = 0; attempt < 50 && !taken; attempt++) {
        second.send(new JsonObject().put("type", "login").put("name", name).encode());
        taken = second.next().getBoolean("success");
        if (!taken) {
          Thread.sleep(100);
        }
      }
      assertTrue(taken, "name released after its holder closed");
    }

    @Test
    void loginTwiceWithTheSameNameIsIdempotentAndAnotherNameIsRefused() {
      String name = uniqueName("once");
      TestClient c = login(nodes.a(), name);
      c.send(new JsonObject().put("type", "login").put("name", name).encode());
      assertTrue(c.next().getBoolean("success"));
      c.send(new JsonObject().put("type", "login").put("name", uniqueName("other")).encode());
      assertError(c.next(), "bad-message", "Already logged in as " + name);
    }

    @Test
    void noGreetingIsSent() {
      open(nodes.a(), "quiet").expectNothing();
    }

    @Test
    void invalidJsonGetsAnErrorAndTheSocketStays() {
      TestClient c = login(nodes.a(), uniqueName("sloppy"));
      c.send("{not json");
      assertError(c.next(), "bad-json", "Invalid JSON");
      c.send("[1,2]");
      assertError(c.next(), "bad-json", "Invalid JSON");
      c.send("{\"name\":\"x\"}");
      assertError(c.next(), "bad-message", "Message has no type");
      c.assertOpen();
    }

    @Test
    void unknownTypeGetsTheSeedsError() {
      TestClient c = open(nodes.a(), "curious");
      c.send("{\"type\":\"dance\"}");
      assertError(c.next(), "unknown-type", "Command not found: dance");
    }

    @Test
    void messagesBeforeLoginAreRefused() {
      TestClient c = open(nodes.a(), "early");
      for (String type : new String[] {"offer", "answer", "candidate", "leave"}) {
        c.send("{\"type\":\"" + type + "\",\"name\":\"x\",\"" + type + "\":{}}");
        assertError(c.next(), "bad-message", "Not logged in: send login first");
      }
    }

    @Test
    void anOfferToANameNobodyHoldsGetsAnError() {
      TestClient c = login(nodes.a(), uniqueName("lonely"));
      String ghost = uniqueName("ghost");
      c.send("{\"type\":\"offer\",\"name\":\"" + ghost + "\",\"offer\":{}}");
      assertError(c.next(), "peer-not-found", "User " + ghost + " is not logged in");
      c.send("{\"type\":\"candidate\",\"name\":\"" + ghost + "\",\"candidate\":{}}");
      assertError(c.next(), "peer-not-found", "User " + ghost + " is not logged in");
    }

    @Test
    void leaveTowardAnUnknownUserAndClosingAloneNeverFail() {
      TestClient c = login(nodes.a(), uniqueName("alone"));
      c.send("{\"type\":\"leave\",\"name\":\"" + uniqueName("nobody") + "\"}");
      c.send("{\"type\":\"leave\"}");
      assertError(c.next(), "bad-message", "name must be a string of 1-128 characters");
      c.expectNothing();
      TestClient other = login(nodes.b(), uniqueName("bystander"));
      c.close();
      other.expectNothing();
    }

    @Test
    void badFieldsAreRefusedClearly() {
      String me = uniqueName("me");
      TestClient c = login(nodes.a(), me);
      c.send("{\"type\":\"offer\",\"name\":\"" + me + "\",\"offer\":{}}");
      assertError(c.next(), "bad-message", "Cannot call yourself");
      c.send("{\"type\":\"offer\",\"name\":\"" + uniqueName("x") + "\"}");
      assertError(c.next(), "bad-message", "offer is required");
      TestClient d = open(nodes.a(), "nameless");
      d.send("{\"type\":\"login\",\"name\":42}");
      assertError(d.next(), "bad-message", "name must be a string of 1-128 characters");
      d.sendBinary(Buffer.buffer("{}"));
      assertEquals("binary-not-supported", d.next().getString("code"));
    }

    @Test
    void aNameOfAnyCharactersWorks() {
      String name = uniqueName("Zoë 🙂 \"quoted\"");
      TestClient a = login(nodes.a(), name);
      String bob = uniqueName("bob");
      TestClient b = login(nodes.b(), bob);
      a.send(new JsonObject().put("type", "offer").put("name", bob).put("offer", "x").encode());
      assertEquals(name, b.next().getString("name"));
    }

    private static void assertError(JsonObject error, String code, String message) {
      assertEquals("error", error.getString("type"), "expected an error, got " + error);
      assertEquals(code, error.getString("code"), error.encode());
      assertEquals(message, error.getString("message"), error.encode());
    }
  }
}
