package io.switchboard.signaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.wire.LeaveReason;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The gate tells its watcher exactly when it holds something that may stall, since the hub's
 * periodic check looks at no other session.
 */
class NumberGateTest {
  private static final long PATIENCE = 500;

  private final ResumeRaceTest.Client client = new ResumeRaceTest.Client();
  private final List<Boolean> told = new ArrayList<>();
  private final NumberGate gate = new NumberGate(client, told::add);

  private static Event event(String room) {
    return new PeerLeft(new RoomId(room), PeerId.random(new SecureRandom()), LeaveReason.LEAVE);
  }

  @Test
  void eventsInTurnNeverWakeTheWatcher() {
    gate.offer(1, event("a"), 0);
    gate.offer(2, event("b"), 0);
    assertEquals(List.of(), told);
    assertEquals(2, client.events.size());
  }

  @Test
  void anEventAheadOfItsTurnIsWatchedUntilTheGapFills() {
    gate.offer(2, event("b"), 0);
    assertEquals(List.of(true), told);
    assertFalse(gate.stalled(PATIENCE, PATIENCE), "not stalled before its patience ran out");
    assertTrue(gate.stalled(PATIENCE + 1, PATIENCE));

    gate.offer(3, event("c"), 10);
    assertEquals(List.of(true), told, "told once while it waits");

    gate.offer(1, event("a"), 20);
    assertEquals(List.of(true, false), told);
    assertEquals(3, client.events.size());
    assertFalse(gate.stalled(Long.MAX_VALUE / 2, PATIENCE));
  }

  @Test
  void aFailedFetchIsWatchedUntilOneSucceeds() {
    gate.fetched(false);
    assertEquals(List.of(true), told);
    assertTrue(gate.stalled(0, PATIENCE));
    gate.fetched(true);
    assertEquals(List.of(true, false), told);
  }

  @Test
  void aResumeDropsWhatWaitedAndTheWatch() {
    gate.offer(5, event("e"), 0);
    gate.restartAfter(7);
    assertEquals(List.of(true, false), told);
  }

  @Test
  void aHeldGateStaysWatchedUntilReleasedAndDrained() {
    gate.hold();
    gate.offer(1, event("a"), 0);
    assertEquals(List.of(true), told);
    assertFalse(gate.stalled(Long.MAX_VALUE / 2, PATIENCE), "a held gate waits for its join or resume");
    gate.release();
    assertEquals(List.of(true, false), told);
    assertEquals(1, client.events.size());
  }

  @Test
  void aRetiredGateIsNoLongerWatchedWhateverItHolds() {
    gate.offer(2, event("b"), 0);
    gate.retire();
    gate.offer(4, event("d"), 0);
    gate.fetched(false);
    assertEquals(List.of(true, false), told);
  }
}
