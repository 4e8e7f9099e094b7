/**
 * The ports of the signaling core: what it needs from the outside ({@link
 * io.switchboard.signaling.port.Backplane}, {@link io.switchboard.signaling.port.SignalingMetrics})
 * and what it offers to it ({@link io.switchboard.signaling.port.BackplaneListener}). Adapters
 * ({@code backplane.local}, {@code backplane.redis}, {@code metrics}) implement these and import
 * the core; the core never imports an adapter.
 */
package io.switchboard.signaling.port;
