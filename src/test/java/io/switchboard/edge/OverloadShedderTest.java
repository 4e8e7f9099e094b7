package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The shedder's decisions, driven probe by probe: when a loop is overloaded and whom it closes. */
class OverloadShedderTest {
  private static final long LIMIT = ms(250);

  private final OverloadShedder<Socket> shedder = new OverloadShedder<>(LIMIT);
  private final List<Socket> sockets = new ArrayList<>();
  private long now = ms(1_000);

  private static long ms(long millis) {
    return TimeUnit.MILLISECONDS.toNanos(millis);
  }

  private static final class Socket implements OverloadShedder.Sender {
    final String name;
    int recent;
    boolean open = true;

    Socket(String name) {
      this.name = name;
    }

    @Override
    public int recentMessages() {
      return recent;
    }

    @Override
    public boolean open() {
      return open;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private Socket socket(String name, int recent) {
    Socket s = new Socket(name);
    s.recent = recent;
    sockets.add(s);
    return s;
  }

  /** Eight sockets that sent 20, 21, … 27 messages lately: heavy7 the most. */
  private List<Socket> heavy() {
    List<Socket> heavy = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      heavy.add(socket("heavy" + i, 20 + i));
    }
    return heavy;
  }

  /** A probe {@code lateMs} late, after the time it took; what it closes, which are then closing. */
  private List<Socket> probe(long lateMs) {
    return probe(OverloadShedder.PROBE_MILLIS + lateMs, lateMs);
  }

  /** A probe {@code lateMs} late, {@code elapsedMs} after the last one. */
  private List<Socket> probe(long elapsedMs, long lateMs) {
    now += ms(elapsedMs);
    List<Socket> shed = shedder.probe(ms(lateMs), now, sockets);
    shed.forEach(s -> s.open = false);
    return shed;
  }

  @Test
  void aLoopThatKeepsUpShedsNothingWhateverItsSocketsSend() {
    socket("heavy", 100_000);
    for (int i = 0; i < 100; i++) {
      assertEquals(List.of(), probe(240));
      assertFalse(shedder.overloaded());
    }
  }

  @Test
  void oneLongPauseIsNotOverload() {
    socket("heavy", 1_000);
    for (int i = 0; i < 10; i++) {
      assertEquals(List.of(), probe(i % 2 == 0 ? 900 : 1));
      assertFalse(shedder.overloaded(), "late probes must follow each other");
    }
  }

  @Test
  void anOverloadedLoopClosesItsHeaviestSendersAQuarterAtATimeAndNeverAQuietOne() {
    List<Socket> heavy = heavy();
    Socket quiet = socket("quiet", 2);
    Socket idle = socket("idle", 0);

    assertEquals(List.of(), probe(300));
    assertFalse(shedder.overloaded(), "one late probe is not yet overload");
    List<Socket> first = probe(300);
    assertTrue(shedder.overloaded());
    // A quarter of the nine senders, rounded up: the three heaviest.
    assertEquals(List.of(heavy.get(7), heavy.get(6), heavy.get(5)), first);

    assertEquals(List.of(), probe(OverloadShedder.ROUND_NANOS / 1_000_000 - 1, 300),
        "a round every " + OverloadShedder.ROUND_NANOS / 1_000_000 + " ms at most");
    assertEquals(List.of(), probe(300), "the closes get time to show");
    heavy.get(0).recent += 10;
    List<Socket> second = probe(OverloadShedder.SETTLE_NANOS / 1_000_000, 300); // time enough, no less behind
    // The closing three are no longer candidates: a quarter of the six others, rounded up.
    assertEquals(List.of(heavy.get(0), heavy.get(4)), second);
    assertFalse(second.contains(quiet));
    assertFalse(second.contains(idle));
  }

  @Test
  void noneAreClosedWhileTheLagFalls() {
    heavy();
    probe(1_000);
    assertEquals(2, probe(1_000).size());
    assertEquals(List.of(), probe(700), "700 ms behind after 1000: the closes are taking effect");
    assertEquals(List.of(), probe(OverloadShedder.SETTLE_NANOS / 1_000_000, 720),
        "a little up, but still below where sockets were last closed");
    assertEquals(2, probe(1_000).size(), "as far behind as when the last were closed, time enough later: close more");
    assertEquals(List.of(), probe(990));
  }

  @Test
  void aLoopFallingTwiceAsFarBehindClosesMoreAtOnce() {
    heavy();
    probe(300);
    assertEquals(2, probe(300).size());
    assertEquals(List.of(), probe(300, 599));
    assertEquals(2, probe(300, 800).size(), "800 ms behind after closing at 300: the first closes were too few");
  }

  @Test
  void sendersBelowTheMeanOrTheMinimumAreNeverCandidates() {
    socket("a", OverloadShedder.MIN_MESSAGES - 1);
    socket("b", OverloadShedder.MIN_MESSAGES - 1);
    socket("c", 1);
    probe(300);
    assertEquals(List.of(), probe(300), "nobody sent enough to be the cause");
    assertTrue(shedder.overloaded(), "but the loop is behind: new sockets wait");

    OverloadShedder<Socket> fresh = new OverloadShedder<>(LIMIT);
    List<Socket> even = List.of(new Socket("x"), new Socket("y"), new Socket("z"), new Socket("w"));
    for (int i = 0; i < even.size(); i++) {
      even.get(i).recent = 10 + i;
    }
    fresh.probe(ms(300), now += ms(350), even);
    assertEquals(List.of(even.get(3)), fresh.probe(ms(300), now += ms(350), even),
        "the heaviest of four, which sent more than the mean (11)");
  }

  @Test
  void anOnTimeProbeEndsTheOverloadAndTheNextTwoLateOnesStartIt() {
    Socket heavy = socket("heavy", 100);
    socket("other", 10);
    probe(300);
    assertEquals(List.of(heavy), probe(300));
    assertTrue(shedder.overloaded());

    assertEquals(List.of(), probe(2));
    assertFalse(shedder.overloaded());

    Socket next = socket("next", 200);
    assertEquals(List.of(), probe(300));
    assertFalse(shedder.overloaded());
    assertEquals(List.of(next), probe(300));
  }

  @Test
  void aSocketThatFindsTheProbeOverdueMakesTheObservationTheTimerCannot() {
    Socket heavy = socket("heavy", 100);
    socket("other", 10);
    long probe = ms(OverloadShedder.PROBE_MILLIS);
    shedder.due(now + probe);
    assertFalse(shedder.behind(now + probe + LIMIT - 1));
    long first = now + probe + LIMIT;
    assertTrue(shedder.behind(first));
    assertEquals(List.of(), shedder.observe(first, sockets));
    assertFalse(shedder.overloaded());
    assertFalse(shedder.behind(first + LIMIT), "the next observation is due a probe period later");
    long second = first + probe + LIMIT;
    assertTrue(shedder.behind(second));
    assertEquals(List.of(heavy), shedder.observe(second, sockets));
    assertTrue(shedder.overloaded());

    long timer = second + ms(10); // the timer, when the loop finally gets to it in the same turn
    assertEquals(List.of(), shedder.observe(timer, sockets));
    assertTrue(shedder.overloaded(), "a timer that fires before the observation's next due time is no probe");
    assertEquals(List.of(), shedder.observe(second + probe + ms(5), sockets));
    assertFalse(shedder.overloaded(), "a probe 5 ms late: the loop has caught up");
  }

  @Test
  void zeroTurnsItOff() {
    OverloadShedder<Socket> off = new OverloadShedder<>(0);
    socket("heavy", 100_000);
    assertFalse(off.enabled());
    off.due(now);
    assertFalse(off.behind(now + ms(60_000)));
    for (int i = 0; i < 10; i++) {
      now += ms(10_000);
      assertEquals(List.of(), off.probe(ms(10_000), now, sockets));
      assertFalse(off.overloaded());
    }
  }
}
