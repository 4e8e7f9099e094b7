package io.switchboard.wire;

/**
 * What a dialect attaches to a command so that it can recognise the reply (a {@code joined}, a
 * {@code left}, an error): the client's own request id ({@link ClientRequestId}) or a value of the
 * dialect's own. The hub only carries it back; tags are compared with {@code equals}, so a
 * dialect's tags are records or enum constants.
 */
public interface RequestTag {}
