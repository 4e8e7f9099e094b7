package io.switchboard.backplane;

/**
 * Receives what other nodes published. Called on a backplane thread, never on a socket's thread:
 * implementations hand work over to the owning threads and return quickly.
 */
@FunctionalInterface
public interface BackplaneListener {
  void onMessage(BackplaneMessage message);
}
