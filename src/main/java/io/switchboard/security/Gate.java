package io.switchboard.security;

/**
 * What every new connection passes through (a WebSocket upgrade of any dialect, an Engine.IO
 * handshake), in this order: the node is not draining (503), the client address is within its
 * limits (429), its token is valid when authentication is on (401), the node has room (503).
 * Thread-safe; never blocks.
 */
public interface Gate {
  /**
   * Admits the client and returns its ticket, whose slot the caller must release when the
   * connection ends (or at once, if it never opens).
   *
   * @throws Refused with the HTTP status to answer, the refusal already counted
   */
  Ticket admit(ClientRequest request);
}
