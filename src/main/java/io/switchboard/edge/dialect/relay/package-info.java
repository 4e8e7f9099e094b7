/** The broadcast relay at {@code /relay/{room}}: every frame to the room's other clients. */
package io.switchboard.edge.dialect.relay;
