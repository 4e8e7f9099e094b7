/** The in-memory backplane: one process, no external dependencies. */
package io.switchboard.backplane.local;
