/** Events the server sends to clients: immutable records of a sealed family. */
package io.switchboard.signaling.event;
