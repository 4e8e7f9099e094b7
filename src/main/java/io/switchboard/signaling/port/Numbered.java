package io.switchboard.signaling.port;

/** One stored event of a session's buffer and its number ({@link Backplane#replay}). */
public record Numbered(long seq, BackplaneMessage message) {}
