package io.switchboard.signaling.event;

import io.switchboard.wire.ErrorCode;

/** A request was refused. {@code message} is for humans; clients act on {@code code}. */
public record ErrorReply(ErrorCode code, String message, String requestId) implements Event {}
