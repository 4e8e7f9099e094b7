package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Bounded waits for test threads. Every method refuses to run on a Vert.x thread: blocking an
 * event loop would stall the very server or client the test is waiting for.
 */
public final class Wait {
  /** How often {@link #until} re-checks its condition. */
  private static final long POLL_MILLIS = 10;

  private Wait() {
  }

  /** The result of {@code future}, failing the test if it does not complete within {@code timeout}. */
  public static <T> T await(Future<T> future, Duration timeout) {
    requireTestThread();
    try {
      return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(cause);
    } catch (TimeoutException e) {
      return fail("timed out after " + timeout.toMillis() + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Waits until {@code condition} holds, checking it every 10 ms on a Vert.x timer (the test
   * thread blocks on a future, not in a sleep loop); fails the test with {@code what} after
   * {@code timeout}. The condition must be safe to call from any thread.
   */
  public static void until(Vertx vertx, BooleanSupplier condition, Duration timeout, String what) {
    requireTestThread();
    if (condition.getAsBoolean()) {
      return;
    }
    Promise<Void> met = Promise.promise();
    long maxChecks = Math.max(1, timeout.toMillis() / POLL_MILLIS);
    long[] checks = {0};
    // The timer is cancelled by this thread once the wait is over, never by its own handler: its
    // first tick may come before Vert.x has stored the timer's future, and a cancel then throws
    // inside the handler, so the wait would never hear that the condition held (WaitTest).
    long timer = vertx.setPeriodic(POLL_MILLIS, id -> {
      if (met.future().isComplete()) {
        return;
      }
      boolean ok;
      try {
        ok = condition.getAsBoolean();
      } catch (RuntimeException e) {
        met.tryFail(e);
        return;
      }
      if (ok) {
        met.tryComplete();
      } else if (++checks[0] >= maxChecks) {
        met.tryFail(new AssertionError("condition not met within " + timeout.toMillis() + " ms: " + what));
      }
    });
    try {
      await(met.future(), timeout.plusSeconds(2));
    } finally {
      vertx.cancelTimer(timer);
    }
  }

  /** Sleeps the test thread (never a Vert.x thread) for {@code millis}. */
  public static void sleep(long millis) {
    requireTestThread();
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void requireTestThread() {
    if (Context.isOnVertxThread()) {
      throw new IllegalStateException("blocking wait called on a Vert.x thread");
    }
  }
}
