package io.switchboard.signaling.event;

/** What the server tells one client. A dialect turns each event into frames of its protocol. */
public sealed interface Event permits Welcome, Joined, PeerJoined, Relayed, Left, PeerLeft, Pong, ErrorReply {}
