/** Switchboard: a WebRTC signaling relay. {@link io.switchboard.Main} runs a node; {@link io.switchboard.Switchboard} is one running node. */
package io.switchboard;
