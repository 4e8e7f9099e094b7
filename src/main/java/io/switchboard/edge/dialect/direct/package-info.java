/** The WebRTC tutorial's login protocol at {@code /direct}: users call each other by name. */
package io.switchboard.edge.dialect.direct;
