/** The native Switchboard protocol, version 1 (docs/protocol.md). */
package io.switchboard.edge.dialect.switchboard;
