package io.switchboard.wire;

/**
 * Why the server closes a socket, with the WebSocket close code sent and whether the client
 * should reconnect. docs/protocol.md lists the same table.
 */
public enum CloseReason {
  NORMAL(1000, "normal", false),
  PROTOCOL_ERROR(1002, "protocol error", false),
  INVALID_UTF8(1007, "invalid utf-8", false),
  FRAME_TOO_BIG(1009, "frame too big", false),
  INTERNAL(1011, "internal error", true),
  SHUTTING_DOWN(1012, "service restart", true),
  // The socket's event loop fell behind and this socket was among its heaviest senders.
  OVERLOADED(1013, "overloaded", true),
  IDLE_TIMEOUT(4000, "idle timeout", true),
  // The default of the server API's disconnect; an operator may send any 4000-4999 code instead.
  DISCONNECTED(4003, "disconnected by server", false),
  SLOW_CONSUMER(4001, "slow consumer", true),
  ROOM_FULL(4009, "room full", true),
  FLOODING(4008, "flooding", true),
  TOKEN_EXPIRED(4010, "token expired", true),
  // A resume of this socket's session won on another socket (docs/protocol.md, "Resume").
  RESUMED_ELSEWHERE(4011, "session resumed elsewhere", false);

  private final short code;
  private final String text;
  private final boolean reconnect;

  CloseReason(int code, String text, boolean reconnect) {
    this.code = (short) code;
    this.text = text;
    this.reconnect = reconnect;
  }

  public short code() {
    return code;
  }

  public String text() {
    return text;
  }

  public boolean reconnect() {
    return reconnect;
  }
}
