package io.switchboard.signaling.event;

/**
 * An event of a resumable session with its number in the session ({@code seq}): stored before
 * it is sent, and replayed after a resume (docs/protocol.md, "Resume"). Only the native
 * dialect has resumable sessions.
 */
public record NumberedEvent(long seq, Event event) implements Event {
  @Override
  public <R> R accept(Event.Visitor<R> visitor) {
    return visitor.numbered(this);
  }
}
