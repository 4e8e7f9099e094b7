/**
 * The bottom layer: values that cross every boundary (ids, raw JSON, relay kinds, error and close
 * codes). Depends on nothing else of the project; everything else may depend on it.
 */
package io.switchboard.wire;
