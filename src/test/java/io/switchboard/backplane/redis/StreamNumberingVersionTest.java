package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Resume numbers events with a stream's ids ({@code XADD … 0-*}), which Redis 7.0 brought: an
 * older server is refused when the node connects, with what to do, rather than failing each store.
 */
class StreamNumberingVersionTest {
  @Test
  void redisSevenAndLaterNumberStreamEntries() {
    assertTrue(Sessions.numbersStreamEntries("7.0.15"));
    assertTrue(Sessions.numbersStreamEntries("7.4.1"));
    assertTrue(Sessions.numbersStreamEntries("8.0.0"));
  }

  @Test
  void olderServersDoNot() {
    assertFalse(Sessions.numbersStreamEntries("6.2.14"));
    assertFalse(Sessions.numbersStreamEntries("5.0.7"));
  }

  @Test
  void aVersionThatCannotBeReadIsLeftToTheFirstStore() {
    assertTrue(Sessions.numbersStreamEntries(""));
    assertTrue(Sessions.numbersStreamEntries("unknown"));
  }
}
