package io.switchboard.backplane;

import io.switchboard.backplane.redis.RedisBackplane;
import io.switchboard.backplane.redis.RedisTarget;
import io.switchboard.signaling.port.Backplane;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.support.IgnoringListener;
import io.switchboard.support.RedisFixture;
import io.switchboard.support.SentinelFixture;
import io.switchboard.support.Tls;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.port.BackplaneMessage;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RelayKind;
import io.switchboard.wire.RoomId;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract, on the Redis backplane in sentinel mode: the nodes find the master through three
 * sentinels (a master and a replica behind them), with resume on as in {@link RedisBackplaneTest}.
 * Every process requires a password, which the nodes have only in the sentinels' URLs, and
 * speaks TLS only (to the nodes), with a self-signed certificate for 127.0.0.1 that the nodes
 * trust through their CA file.
 */
class RedisSentinelBackplaneTest extends ResumeContractTest {
  private static SentinelFixture sentinels;
  private static Path cert;
  private static Vertx vertx;
  private String prefix;

  @BeforeAll
  static void start() throws Exception {
    Tls tls = Tls.selfSigned(Files.createTempDirectory("switchboard-sentinel-tls"));
    cert = tls.cert();
    sentinels = SentinelFixture.start("contract-pw", tls);
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    if (vertx != null) {
      vertx.close();
    }
    if (sentinels != null) {
      sentinels.close();
    }
  }

  @BeforeEach
  void freshPrefix() {
    prefix = RedisFixture.uniquePrefix();
  }

  @Test
  void aWrongPasswordStopsStartUp() throws Exception {
    List<String> wrong = sentinels.sentinelUrls().stream().map(url -> url.replace("contract-pw", "wrong")).toList();
    Backplane node = node(wrong, "w");
    try {
      Exception failed = assertThrows(Exception.class, () -> await(node.start(new IgnoringListener())));
      assertTrue(failed.getMessage() != null, failed.toString());
    } finally {
      await(node.close());
    }
  }

  /**
   * The master forgets every script (as a new master that never ran them does): joins, the
   * numbered publish and relays still work, since NOSCRIPT is answered by sending the script.
   */
  @Test
  void scriptsTheMasterForgotAreSentAgainWithoutAnError() throws Exception {
    LinkedBlockingQueue<BackplaneMessage> inboxB = new LinkedBlockingQueue<>();
    Backplane a = started("a", new LinkedBlockingQueue<>());
    Backplane b = started("b", inboxB);
    RoomId room = freshRoom();
    await(b.subscribe(room));
    Member onA = new Member(PeerId.random(new SecureRandom()), "{}");
    Member onB = new Member(PeerId.random(new SecureRandom()), "{}");
    await(b.join(room, onB, 10));
    Redis direct = Redis.createClient(vertx, sentinels.masterUri());
    try {
      await(direct.send(Request.cmd(Command.SCRIPT).arg("FLUSH")));
    } finally {
      direct.close();
    }
    assertEquals(1, await(a.join(room, onA, 10)).others().size());
    byte[] data = "\"after-flush\"".getBytes(StandardCharsets.UTF_8);
    await(a.publish(new BackplaneMessage("a", room, onB.peer(),
        new Relayed(RelayKind.SIGNAL, room, onA.peer(), new RawJson(data, 0, data.length)))));
    BackplaneMessage got;
    do {
      got = inboxB.poll(5, TimeUnit.SECONDS);
      assertNotNull(got, "the relay sent after SCRIPT FLUSH arrives");
    } while (!(got.event() instanceof Relayed));
    assertEquals("\"after-flush\"", ((Relayed) got.event()).data().toString());
  }

  @Override
  protected Backplane newNode(String nodeId) {
    return node(sentinels.sentinelUrls(), nodeId);
  }

  private Backplane node(List<String> urls, String nodeId) {
    return new RedisBackplane(vertx, RedisTarget.sentinel(SentinelFixture.MASTER, urls), cert.toString(),
        prefix, nodeId, 200, 1000, 2000, SignalingMetrics.NOOP,
        new RedisBackplane.Resume(30_000, DEFAULT_BUFFERED_EVENTS, 1 << 20));
  }

}
