package io.switchboard.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WaitTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close().toCompletionStage().toCompletableFuture().join();
  }

  /**
   * A periodic timer set from a test thread may fire on the event loop before Vert.x has stored
   * the timer's own future, and cancelling it then throws inside the handler (a NullPointerException
   * in VertxImpl's tryCancel, seen in CI): the wait was never told the condition held and timed out.
   * This Vertx fires the first tick before setPeriodic returns and refuses a cancel until then.
   */
  @Test
  void aConditionMetOnATickThatFiresBeforeTheTimerIsSetEndsTheWait() {
    AtomicInteger checks = new AtomicInteger();
    // Not met when until() checks it first, met on the timer's first tick.
    Wait.until(firstTickBeforeTheTimerIsSet(vertx), () -> checks.incrementAndGet() >= 2, Duration.ofSeconds(1),
        "the second check");
    assertEquals(2, checks.get(), "met on the first tick");
  }

  @Test
  void aConditionNeverMetFailsWithItsDescription() {
    AssertionError failed = assertThrows(AssertionError.class,
        () -> Wait.until(vertx, () -> false, Duration.ofMillis(100), "never"));
    assertTrue(failed.getMessage().contains("never"), failed.getMessage());
  }

  private static Vertx firstTickBeforeTheTimerIsSet(Vertx real) {
    boolean[] set = {false};
    return (Vertx) Proxy.newProxyInstance(Vertx.class.getClassLoader(), new Class<?>[] {Vertx.class},
        (proxy, method, args) -> {
          if (method.getName().equals("setPeriodic") && args.length == 2) {
            @SuppressWarnings("unchecked")
            Handler<Long> handler = (Handler<Long>) args[1];
            long id = real.setPeriodic((Long) args[0], handler);
            handler.handle(id);
            set[0] = true;
            return id;
          }
          if (method.getName().equals("cancelTimer") && !set[0]) {
            throw new NullPointerException("the timer's future is not stored yet");
          }
          try {
            return method.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }
}
