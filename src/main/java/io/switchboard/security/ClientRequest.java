package io.switchboard.security;

import io.vertx.core.MultiMap;
import io.vertx.core.net.SocketAddress;

/**
 * What a new client's opening request (a WebSocket upgrade, an Engine.IO handshake) says about
 * it: its headers, its raw query string (may be null) and the TCP peer address.
 */
public record ClientRequest(MultiMap headers, String query, SocketAddress remote) {}
