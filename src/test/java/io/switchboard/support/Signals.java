package io.switchboard.support;

import java.io.IOException;

/** Signals to processes a fixture started itself (by PID, never by name). */
final class Signals {
  private Signals() {}

  /** {@code kill -SIGNAL pid} of {@code process}, e.g. "STOP" to freeze it and "CONT" to thaw it. */
  static void send(Process process, String signal) {
    try {
      int exit = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start().waitFor();
      if (exit != 0) {
        throw new AssertionError("kill -" + signal + " " + process.pid() + " exited with " + exit);
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
