package io.switchboard.backplane;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ClusterFixture;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Redis Cluster fixture the cluster backplane tests stand on: it must hand out a settled
 * cluster, hash keys exactly as Redis does, and leave the cluster settled after each fault.
 * One cluster serves every test; each test leaves three masters with one replica each behind,
 * so that none depends on the order they run in.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RedisClusterFixtureTest {
  private static ClusterFixture cluster;

  @BeforeAll
  static void startCluster() {
    cluster = ClusterFixture.start();
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void threeMastersWithOneReplicaEachServeAllSlots() {
    List<Integer> masters = cluster.masterPorts();
    assertEquals(3, masters.size());
    Set<Integer> replicas = new HashSet<>();
    for (int master : masters) {
      int replica = cluster.replicaOf(master);
      assertTrue(replicas.add(replica), "replica " + replica + " serves two masters");
      assertEquals("slave", ((List<?>) cluster.command(replica, "ROLE")).get(0));
    }
    assertEquals(6, cluster.seedUrls().size());
    for (int port : masters) {
      String info = (String) cluster.command(port, "CLUSTER", "INFO");
      assertTrue(info.contains("cluster_state:ok"), info);
      assertTrue(info.contains("cluster_slots_assigned:" + ClusterFixture.SLOTS), info);
    }
    for (int slot : new int[] {0, 5460, 5461, 10922, 10923, ClusterFixture.SLOTS - 1}) {
      assertTrue(masters.contains(cluster.masterOfSlot(slot)), "slot " + slot);
    }
  }

  @Test
  void slotHashesKeysAsRedisDoes() {
    int port = cluster.masterPorts().get(0);
    for (String key : List.of("", "a", "foo", "123456789", "sb:{room-1}:members", "sb:{room-1}:log",
        "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{", "}{", "ключ-ü")) {
      assertEquals(Integer.parseInt((String) cluster.command(port, "CLUSTER", "KEYSLOT", key)),
          ClusterFixture.slot(key), "slot of '" + key + "'");
    }
    assertEquals(ClusterFixture.slot("room-1"), ClusterFixture.slot("sb:{room-1}:members"));
  }

  @Test
  void aKeyWrittenBeforeAFailoverIsReadFromTheNewMaster() {
    String key = "sb:{failover}:key";
    int master = cluster.masterOfSlot(ClusterFixture.slot(key));
    assertEquals("OK", cluster.command(master, "SET", key, "before"));
    // A write acknowledged by the replica: the failover cannot lose it.
    assertEquals("1", cluster.command(master, "WAIT", "1", "5000"));

    int promoted = cluster.failover(master);

    assertNotEquals(master, promoted);
    assertEquals(promoted, cluster.masterOfSlot(ClusterFixture.slot(key)));
    assertEquals(master, cluster.replicaOf(promoted));
    assertEquals("before", cluster.command(promoted, "GET", key));
    assertTrue(((String) cluster.command(master, "GET", key)).startsWith("-MOVED "));
  }

  @Test
  void aKilledMasterIsReplacedByItsReplica() {
    int victim = cluster.masterPorts().get(0);
    int replica = cluster.replicaOf(victim);

    int promoted = cluster.killMaster(victim);

    assertEquals(replica, promoted);
    assertTrue(cluster.masterPorts().contains(promoted));
    assertEquals(3, cluster.masterPorts().size());
    for (int port : cluster.masterPorts()) {
      String info = (String) cluster.command(port, "CLUSTER", "INFO");
      assertTrue(info.contains("cluster_state:ok"), info);
    }

    cluster.restart(victim);
    assertEquals(victim, cluster.replicaOf(promoted));
  }

  @Test
  void aMigratedSlotTakesItsKeysToTheNewOwner() {
    String tag = "{migrate}";
    int slot = ClusterFixture.slot(tag);
    int source = cluster.masterOfSlot(slot);
    int target = cluster.masterPorts().stream().filter(port -> port != source).findFirst().orElseThrow();
    List<String> keys = List.of("sb:" + tag + ":a", "sb:" + tag + ":b", "sb:" + tag + ":c");
    for (String key : keys) {
      assertEquals("OK", cluster.command(source, "SET", key, "value-of-" + key));
    }

    cluster.migrateSlot(slot, target);

    assertEquals(target, cluster.masterOfSlot(slot));
    assertEquals(String.valueOf(keys.size()), cluster.command(target, "CLUSTER", "COUNTKEYSINSLOT", String.valueOf(slot)));
    assertEquals("0", cluster.command(source, "CLUSTER", "COUNTKEYSINSLOT", String.valueOf(slot)));
    for (String key : keys) {
      assertEquals("value-of-" + key, cluster.command(target, "GET", key));
      assertEquals("-MOVED " + slot + " 127.0.0.1:" + target, cluster.command(source, "GET", key));
    }
  }

  /**
   * A fact about Redis 7.0 the cluster failover tests stand on (RedisClusterBackplaneTest): a
   * replica runs an SPUBLISH for its master's slot instead of answering MOVED, and the message
   * reaches the master's shard subscribers over the cluster bus. So a node whose client still
   * sends to an old master after a failover loses nothing that way, but a relay it sent there can
   * arrive after one it sent to the new master directly.
   */
  @Test
  void aReplicaRunsAnSpublishAndItsMastersShardSubscribersHearIt() throws Exception {
    String channel = "{fact}:spublish";
    int master = cluster.masterOfSlot(ClusterFixture.slot(channel));
    int replica = cluster.replicaOf(master);
    try (java.net.Socket subscriber = new java.net.Socket("127.0.0.1", master)) {
      subscriber.setSoTimeout(5000);
      java.io.InputStream in = subscriber.getInputStream();
      subscriber.getOutputStream().write(("SSUBSCRIBE " + channel + "\r\n").getBytes(StandardCharsets.US_ASCII));
      assertTrue(readUntil(in, "ssubscribe").contains(channel));

      assertEquals("0", String.valueOf(cluster.command(replica, "SPUBLISH", channel, "via-the-replica")),
          "run on the replica, which has no subscriber of its own");
      assertTrue(readUntil(in, "via-the-replica").contains("smessage"), "heard on the master");
    }
  }

  // What 'in' delivers up to and including the first occurrence of 'expected'.
  private static String readUntil(java.io.InputStream in, String expected) throws java.io.IOException {
    StringBuilder read = new StringBuilder();
    byte[] buffer = new byte[512];
    while (read.indexOf(expected) < 0) {
      int n = in.read(buffer);
      if (n < 0) {
        throw new java.io.EOFException("closed before '" + expected + "': " + read);
      }
      read.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
    }
    return read.toString();
  }
}
