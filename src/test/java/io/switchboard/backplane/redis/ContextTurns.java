package io.switchboard.backplane.redis;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** For tests that drive a context step by step. */
final class ContextTurns {
  private ContextTurns() {}

  /**
   * Waits until {@code context} has run what the steps so far queued there: completing a promise
   * from the test's thread hands its callbacks to the context, and a callback may queue one more
   * turn.
   */
  static void settle(Context context) throws InterruptedException {
    for (int turn = 0; turn < 3; turn++) {
      CountDownLatch ran = new CountDownLatch(1);
      context.runOnContext(v -> ran.countDown());
      assertTrue(ran.await(5, TimeUnit.SECONDS));
    }
  }
}
