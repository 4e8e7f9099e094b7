/**
 * The boundary to other nodes: membership that holds cluster-wide and fan-out of room events.
 * {@link io.switchboard.backplane.local.LocalBackplane} serves one process; the Redis one serves a
 * cluster. The same contract test suite runs against both.
 */
package io.switchboard.backplane;
