/** The Redis backplane: membership scripts, pub/sub fan-out, node liveness and reconnection (docs/clustering.md). */
package io.switchboard.backplane.redis;
