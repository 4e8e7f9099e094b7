package io.switchboard.support;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Keeps every log event at or above a level that the node (in this JVM) logs while attached to
 * the root logger, each with its throwable, so a test can assert that bad input logged nothing
 * alarming. Thread-safe.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
  private final Level threshold;
  private final List<String> lines = new ArrayList<>();

  private LogCapture(Level threshold) {
    this.threshold = threshold;
  }

  /** Starts capturing events of {@code threshold} and above. */
  public static LogCapture attach(Level threshold) {
    LogCapture capture = new LogCapture(threshold);
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    capture.setContext(root.getLoggerContext());
    capture.setName("capture-" + System.identityHashCode(capture));
    capture.start();
    root.addAppender(capture);
    return capture;
  }

  @Override
  protected synchronized void append(ILoggingEvent event) {
    if (event.getLevel().isGreaterOrEqual(threshold)) {
      String line = event.getLevel() + " " + event.getLoggerName() + " " + event.getFormattedMessage();
      if (event.getThrowableProxy() != null) {
        line += "\n" + ThrowableProxyUtil.asString(event.getThrowableProxy());
      }
      lines.add(line);
    }
  }

  /** What was captured so far. */
  public synchronized List<String> lines() {
    return List.copyOf(lines);
  }

  /** Forgets what was captured so far. */
  public synchronized void clear() {
    lines.clear();
  }

  @Override
  public void close() {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAppender(this);
    stop();
  }
}
