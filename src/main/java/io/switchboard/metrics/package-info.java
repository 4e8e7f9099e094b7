/** Metrics: the recording interface the core sees, and its Micrometer implementation. */
package io.switchboard.metrics;
