/**
 * The server API on the admin port ({@code ADMIN_PORT}): what an operator or a backend asks of
 * the cluster (list rooms, read a room, disconnect a peer, message a room) through any node, and
 * {@code /metrics} when the admin port is on. It reaches the cluster only through the
 * {@link io.switchboard.signaling.Hub}. docs/operations.md describes the API, docs/security.md
 * its threat model.
 */
package io.switchboard.admin;
