package io.switchboard.signaling.event;

/**
 * What the server tells one client. A dialect turns each event into frames of its protocol
 * through {@link #accept}, which makes it name every kind of event: a new kind does not compile
 * until every dialect has decided what its clients see of it.
 */
public sealed interface Event permits Welcome, Joined, PeerJoined, Relayed, Left, PeerLeft, Pong, ErrorReply,
    ServerMessage, PeerReconnecting, PeerResumed, NumberedEvent, Resumed {

  <R> R accept(Visitor<R> visitor);

  /** One method per kind of event. */
  interface Visitor<R> {
    R welcome(Welcome welcome);

    R joined(Joined joined);

    R peerJoined(PeerJoined peerJoined);

    R relayed(Relayed relayed);

    R left(Left left);

    R peerLeft(PeerLeft peerLeft);

    R pong(Pong pong);

    R error(ErrorReply error);

    R serverMessage(ServerMessage serverMessage);

    R peerReconnecting(PeerReconnecting peerReconnecting);

    R peerResumed(PeerResumed peerResumed);

    /** Only resumable sessions, which only the native dialect has, receive numbered events. */
    R numbered(NumberedEvent numbered);

    R resumed(Resumed resumed);
  }
}
