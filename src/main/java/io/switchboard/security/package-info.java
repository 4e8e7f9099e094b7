/**
 * Who may connect and what they get (docs/security.md): token verification
 * ({@link io.switchboard.security.TokenVerifier}), per-client-address connection limits
 * ({@link io.switchboard.security.ClientLimiter}), TURN credentials
 * ({@link io.switchboard.security.IceServers}), and the {@link io.switchboard.security.Gate}
 * every new connection passes through.
 */
package io.switchboard.security;
