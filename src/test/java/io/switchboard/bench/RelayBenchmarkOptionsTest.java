package io.switchboard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The relay benchmark's command line: the server it runs instead of the jar, and what combines with what. */
class RelayBenchmarkOptionsTest {

  private static RelayBenchmark.Options parse(String... args) {
    return RelayBenchmark.Options.parse(args);
  }

  private static String refused(String... args) {
    return assertThrows(IllegalArgumentException.class, () -> parse(args)).getMessage();
  }

  @Test
  void theServerJarByDefault() {
    RelayBenchmark.Options o = parse();
    assertFalse(o.floor);
    assertFalse(o.nodeRelay);
    assertFalse(o.peerjs);
  }

  @Test
  void nodeRelayWorksWithTheLoadModeSetupAndSaturate() {
    RelayBenchmark.Options load = parse("--node-relay", "--idle", "0", "--pairs", "100");
    assertTrue(load.nodeRelay);
    assertFalse(load.floor);
    assertEquals(100, load.pairs);
    RelayBenchmark.Options setup = parse("--node-relay", "--setup", "3000");
    assertTrue(setup.nodeRelay);
    assertEquals(3000, setup.setup);
    RelayBenchmark.Options setupDefault = parse("--setup", "--node-relay");
    assertTrue(setupDefault.nodeRelay);
    assertEquals(RelayBenchmark.DEFAULT_SETUP_CONNECTIONS, setupDefault.setup);
    RelayBenchmark.Options saturate = parse("--saturate", "--node-relay");
    assertTrue(saturate.nodeRelay);
    assertTrue(saturate.saturate);
  }

  @Test
  void nodeRelayAndFloorAreSeparateRuns() {
    assertTrue(refused("--floor", "--node-relay").contains("separate runs"));
    assertTrue(refused("--node-relay", "--floor", "--setup", "100").contains("separate runs"));
  }

  @Test
  void nodeRelayRunsOneNodeWithoutResume() {
    assertTrue(refused("--node-relay", "--nodes", "2").contains("--socket-io and --direct run one node without --resume"));
    assertTrue(refused("--node-relay", "--resume").contains("--socket-io and --direct run one node without --resume"));
    assertTrue(refused("--floor", "--resume").contains("--floor"));
  }

  @Test
  void peerjsIsANodeServerLikeTheRelayAndASeparateRun() {
    RelayBenchmark.Options setup = parse("--peerjs", "--setup", "3000");
    assertTrue(setup.peerjs);
    assertFalse(setup.nodeRelay);
    assertEquals(3000, setup.setup);
    assertTrue(parse("--peerjs", "--idle", "0", "--pairs", "100").peerjs);
    assertTrue(refused("--peerjs", "--node-relay").contains("separate runs"));
    assertTrue(refused("--floor", "--peerjs").contains("separate runs"));
    assertTrue(refused("--peerjs", "--nodes", "2").contains("run one node without --resume"));
  }

  @Test
  void socketIoClientsTalkToSwitchboardOrPeerDataServerOnOneNode() {
    RelayBenchmark.Options switchboard = parse("--socket-io", "--setup", "3000");
    assertEquals(BenchLoop.Protocol.SOCKET_IO, switchboard.protocol());
    assertFalse(switchboard.peerDataServer);
    RelayBenchmark.Options seed = parse("--peer-data-server", "--idle", "0", "--pairs", "100");
    assertTrue(seed.peerDataServer);
    assertEquals(BenchLoop.Protocol.SOCKET_IO, seed.protocol(), "the seed server speaks only Socket.IO");
    assertEquals(BenchLoop.Protocol.NATIVE, parse().protocol());
    assertEquals(BenchLoop.Protocol.PEERJS, parse("--peerjs").protocol());
    assertTrue(refused("--socket-io", "--node-relay").contains("do not speak it"));
    assertTrue(refused("--socket-io", "--peerjs").contains("do not speak it"));
    assertTrue(refused("--peer-data-server", "--floor").contains("separate runs"));
    assertTrue(refused("--socket-io", "--resume").contains("run one node without --resume"));
    assertTrue(refused("--peer-data-server", "--nodes", "2").contains("run one node without --resume"));
  }

  @Test
  void tutorialClientsTalkToSwitchboardOrTheTutorialServerOnOneNode() {
    assertEquals(BenchLoop.Protocol.DIRECT, parse("--direct", "--setup", "3000").protocol());
    RelayBenchmark.Options seed = parse("--tutorial-server", "--idle", "0", "--pairs", "100");
    assertTrue(seed.tutorialServer);
    assertEquals(BenchLoop.Protocol.DIRECT, seed.protocol(), "the tutorial's server speaks only its login protocol");
    assertTrue(refused("--direct", "--socket-io").contains("separate runs"));
    assertTrue(refused("--tutorial-server", "--peer-data-server").contains("separate runs"));
    assertTrue(refused("--direct", "--node-relay").contains("do not speak it"));
    assertTrue(refused("--direct", "--resume").contains("run one node without --resume"));
  }

  @Test
  void waitReplicaNeedsResumeOnTwoNodes() {
    assertTrue(parse("--nodes", "2", "--resume", "--wait-replica").waitReplica);
    assertTrue(parse("--nodes", "2", "--resume", "--wait-replica", "--redis-cluster").waitReplica);
    for (String[] args : java.util.List.of(new String[] {"--wait-replica"}, new String[] {"--nodes", "2", "--wait-replica"},
        new String[] {"--resume", "--wait-replica"})) {
      assertTrue(refused(args).contains("--wait-replica"), String.join(" ", args));
    }
  }

  @Test
  void pinPutsTheLoadModeOrSetupOnTheSaturateCoresForOneNode() {
    RelayBenchmark.Options load = parse("--pin", "--node-relay", "--server-cpus", "0", "--generator-cpus", "1");
    assertTrue(load.pinned());
    assertFalse(load.saturate);
    assertTrue(parse("--pin", "--setup", "3000").pinned());
    assertTrue(parse("--saturate").pinned());
    assertFalse(parse().pinned());
    assertTrue(refused("--pin", "--nodes", "2").contains("--pin"));
    assertTrue(refused("--pin", "--resume").contains("--pin"));
  }

  @Test
  void pinnedLoadGetsOneClientLoopPerGeneratorCpuUnlessTold() {
    assertEquals(2, parse().clientLoops());
    assertEquals(2, parse("--saturate").clientLoops());
    assertEquals(1, parse("--pin").clientLoops());
    assertEquals(4, parse("--pin", "--generator-cpus", "1-3,5").clientLoops());
    assertEquals(3, parse("--pin", "--client-loops", "3").clientLoops());
  }
}
