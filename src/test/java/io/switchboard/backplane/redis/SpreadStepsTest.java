package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.switchboard.support.RedisFixture;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The steps of resume in the spread layout of a Redis Cluster (docs/clustering.md, "Resume,
 * spread"), each one script in one slot, run here in the orders two racing nodes may run them,
 * one step at a time on a real Redis: whatever comes in between, a step that was overtaken
 * changes nothing the step before it settled.
 */
class SpreadStepsTest {
  private static final String PEER = "g0000000000000000000Q";
  private static final String ROOM = "room-1";
  private static Vertx vertx;
  private static Redis redis;
  private String prefix;

  @BeforeAll
  static void connect() {
    vertx = Vertx.vertx();
    redis = Redis.createClient(vertx, RedisFixture.shared().uri());
  }

  @AfterAll
  static void close() {
    redis.close();
    vertx.close();
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  private String members() {
    return prefix + ":{" + ROOM + "}:members";
  }

  private String session() {
    return prefix + ":resume:{" + PEER + "}";
  }

  private String gaps() {
    return prefix + ":{nodes}:gaps";
  }

  private static Response await(Future<Response> future) throws Exception {
    return future.await(5, TimeUnit.SECONDS);
  }

  private Response run(LuaScripts.Script script, List<String> keys, String... args) throws Exception {
    return await(LuaScripts.run(redis, script, keys, List.of(args)));
  }

  private Response send(Object... args) throws Exception {
    Request request = Request.cmd(Command.create(args[0].toString()));
    for (int i = 1; i < args.length; i++) {
      request.arg(args[i].toString());
    }
    return await(redis.send(request));
  }

  private String holder() throws Exception {
    String entry = send("HGET", members(), PEER).toString();
    return entry.substring("{\"node\":\"".length(), entry.indexOf('"', "{\"node\":\"".length()));
  }

  private void member(String node) throws Exception {
    send("HSET", members(), PEER, "{\"node\":\"" + node + "\",\"seq\":1,\"meta\":{}}");
  }

  private Response rebind(String from, String to) throws Exception {
    return run(LuaScripts.REBIND, List.of(members()), PEER, from, to);
  }

  /** A session of node {@code node}, in {@code ROOM}, registered as register.lua does in the spread layout. */
  private void registered(String node) throws Exception {
    run(LuaScripts.REGISTER, List.of(session(), session() + ":stream"), "t".repeat(64), "", node, PEER);
    run(LuaScripts.SESSION_ROOM, List.of(session()), ROOM, "{}");
  }

  @Test
  void aSuspensionWhoseRoomStepComesAfterAClaimLeavesTheEntryWithTheClaimer() throws Exception {
    member("b"); // node b claimed the session from a, and gave the entry to itself
    assertEquals(2, rebind("a -", "-").toInteger());
    assertEquals("b", holder());
  }

  @Test
  void aClaimWhoseRoomStepComesAfterASuspensionsTakesTheEntryOutOfTheGap() throws Exception {
    member("a");
    assertEquals(1, rebind("a -", "-").toInteger());
    assertEquals(1, rebind("a -", "b").toInteger());
    assertEquals("b", holder());
  }

  @Test
  void aStaleClaimsRoomStepLeavesTheEntryWithTheLaterClaimer() throws Exception {
    member("c"); // c claimed from b, which had claimed from a
    assertEquals(2, rebind("a -", "b").toInteger(), "b's rebind, late, expects a or the gap");
    assertEquals("c", holder());
    assertEquals(0, run(LuaScripts.REBIND, List.of(prefix + ":{other}:members"), PEER, "c -", "d").toInteger(),
        "no member there");
  }

  @Test
  void aSessionThatEndedRefusesAClaimAndEndsAgainForTheNextExpire() throws Exception {
    registered("a");
    send("HSET", session(), "gap", "1000");
    Response ended = run(LuaScripts.ENDED, List.of(session()), "2000");
    assertEquals(List.of("expired", "a", ROOM), strings(ended));
    Response claim = run(LuaScripts.CLAIM, List.of(session(), session() + ":stream"),
        prefix, PEER, "t".repeat(64), "", "0", "u".repeat(64), "b");
    assertEquals("resume-expired", claim.get(0).toString());
    assertEquals(List.of("expired", "a", ROOM), strings(run(LuaScripts.ENDED, List.of(session()), "2000")),
        "the expirer died before deleting it: the next one ends it again");
  }

  @Test
  void aClaimBeforeTheExpiryKeepsTheSession() throws Exception {
    registered("a");
    send("HSET", session(), "gap", "1000");
    Response claim = run(LuaScripts.CLAIM, List.of(session(), session() + ":stream"),
        prefix, PEER, "t".repeat(64), "", "0", "u".repeat(64), "b");
    assertEquals(List.of("ok", "2", "0", "1000", "a", ROOM, "{}"), strings(claim),
        "the spread claim answers every room the session recorded");
    assertEquals(List.of(), strings(run(LuaScripts.ENDED, List.of(session()), "2000")));
  }

  @Test
  void aGapNotPassedYetIsLeftForLater() throws Exception {
    registered("a");
    send("HSET", session(), "gap", "5000");
    assertEquals(List.of("later", "5000"), strings(run(LuaScripts.ENDED, List.of(session()), "2000")));
  }

  @Test
  void anExpireDropsAStaleGapEntryOnlyIfNoSuspensionPutItBackMeanwhile() throws Exception {
    send("ZADD", gaps(), "1000", PEER);
    // Read as due (score 1000), found out of its gap; then a suspension puts it back with its deadline.
    send("ZADD", gaps(), "31000", PEER);
    assertEquals(0, run(LuaScripts.UNINDEX, List.of(gaps()), PEER, "1000").toInteger());
    assertEquals(31000, send("ZSCORE", gaps(), PEER).toLong());
    assertEquals(1, run(LuaScripts.UNINDEX, List.of(gaps()), PEER, "31000").toInteger());
    assertNull(send("ZSCORE", gaps(), PEER));
  }

  @Test
  void aSuspensionOfAStaleEpochChangesNothing() throws Exception {
    registered("a");
    assertEquals(List.of(), strings(run(LuaScripts.SUSPEND, List.of(session()), prefix, PEER, "7", "a", "9000")));
    assertNull(send("HGET", session(), "gap"));
    assertEquals(List.of("gap", ROOM), strings(run(LuaScripts.SUSPEND, List.of(session()), prefix, PEER, "1", "a",
        "9000")));
    assertEquals("9000", send("HGET", session(), "gap").toString());
  }

  @Test
  void aRoomIsRecordedOnlyInASessionThatExists() throws Exception {
    assertEquals(0, run(LuaScripts.SESSION_ROOM, List.of(session()), ROOM, "{}").toInteger());
    assertEquals(0, send("EXISTS", session()).toInteger(), "no hash made for a session that ended");
  }

  @Test
  void aDeadNodesSessionGoesIntoItsGapOnlyIfTheDeadNodeStillOwnsIt() throws Exception {
    registered("b"); // claimed by b before a was found dead
    assertEquals(0, run(LuaScripts.ORPHAN, List.of(session()), "a", "9000").toInteger());
    assertNull(send("HGET", session(), "gap"));
    assertEquals(1, run(LuaScripts.ORPHAN, List.of(session()), "b", "9000").toInteger());
    assertEquals(1, run(LuaScripts.ORPHAN, List.of(session()), "b", "9999").toInteger(), "again, for its next room");
    assertEquals("9000", send("HGET", session(), "gap").toString(), "the first gap stands");
  }

  @Test
  void aBoundThatDropsAnEventOfASessionInItsGapSaysSoWhereItCannotReachTheSortedSet() throws Exception {
    registered("a");
    String buffer = session() + ":stream";
    for (String event : List.of(ROOM + " x", ROOM + " y")) {
      send("XADD", buffer, "NOMKSTREAM", "0-*", "e", event);
      send("HINCRBY", session(), "load", Long.toString(Sessions.LOAD_EVENT + event.length()));
    }
    assertEquals(1, run(LuaScripts.BOUND, List.of(session(), buffer), PEER, "1", "1000").toInteger(),
        "out of its gap, the oldest event just goes");
    send("XADD", buffer, "NOMKSTREAM", "0-*", "e", ROOM + " z");
    send("HINCRBY", session(), "load", Long.toString(Sessions.LOAD_EVENT + (ROOM + " z").length()));
    send("HSET", session(), "gap", "9000");
    assertEquals(2, run(LuaScripts.BOUND, List.of(session(), buffer), PEER, "1", "1000").toInteger(),
        "in its gap it overflowed: the node adds it to the sorted set of gaps with score 0");
    assertEquals("1", send("HGET", session(), "over").toString());
    assertEquals(1, send("XLEN", buffer).toInteger(), "the newest event is kept");
    assertEquals("0-3", send("XRANGE", buffer, "-", "+").get(0).get(0).toString());
  }

  private static List<String> strings(Response reply) {
    List<String> out = new ArrayList<>();
    for (int i = 0; reply != null && i < reply.size(); i++) {
      out.add(reply.get(i) == null ? null : reply.get(i).toString());
    }
    return out;
  }
}
