/**
 * What every dialect shares: the {@link io.switchboard.edge.dialect.Dialect} a connection talks
 * through, the {@link io.switchboard.edge.dialect.Link} back to it, and JSON helpers that keep
 * relayed values as the bytes the client sent. docs/dialects.md describes each protocol.
 */
package io.switchboard.edge.dialect;
