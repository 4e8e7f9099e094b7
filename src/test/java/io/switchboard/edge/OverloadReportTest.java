package io.switchboard.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What the log says of a loop's overloads, driven episode by episode. */
class OverloadReportTest {
  private final OverloadReport report = new OverloadReport();

  private static long s(double seconds) {
    return (long) (seconds * TimeUnit.SECONDS.toNanos(1));
  }

  @Test
  void anEpisodeIsLoggedWhenItBeginsAndSummedUpWhenTheLoopCatchesUp() {
    assertTrue(report.began(s(100)));
    report.refused();
    report.refused();
    report.closed(3);
    assertEquals(new OverloadReport.Summary(1, 1_500, 2, 3), report.ended(s(101.5)));
  }

  @Test
  void aLoopThatFlapsIsLoggedOnceAQuietPeriodAndTheNextLoggedEpisodeCountsTheRest() {
    assertTrue(report.began(s(100)));
    report.refused();
    assertEquals(new OverloadReport.Summary(1, 500, 1, 0), report.ended(s(100.5)));

    for (int i = 1; i <= 9; i++) {
      assertFalse(report.began(s(100 + i)), "episode " + i + " is within the quiet period");
      report.refused();
      assertNull(report.ended(s(100 + i + 0.25)));
    }

    assertTrue(report.began(s(110)));
    report.closed(2);
    OverloadReport.Summary summary = report.ended(s(110.25));
    assertEquals(new OverloadReport.Summary(10, 2_500, 9, 2), summary,
        "the nine unlogged episodes and the logged one, each 250 ms");
  }

  @Test
  void theFirstEpisodeIsLoggedWhateverTheClockSays() {
    assertTrue(report.began(-s(5)), "System.nanoTime may be negative");
  }
}
