package io.switchboard.edge.dialect.switchboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.switchboard.wire.ClientRequestId;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.Member;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.wire.SignalingException;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Relay;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Joined;
import io.switchboard.signaling.event.Relayed;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class NativeCodecTest {
  private final NativeCodec dialect = new NativeCodec();

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"a\":[1, 2 ,{}],\"sdp\":\"v=0\\r\\n\",\"u\":\"\u00e9\\u2028\"}",
      "\"just a string with \\\"quotes\\\"\"",
      "12.50e3",
      "[ ]",
      "true",
      "null",
      "{ }"})
  void keepsDataAsTheExactBytesSent(String data) {
    byte[] frame = utf8("{\"type\":\"offer\",\"room\":\"r\",\"data\":" + data + " ,\"id\":\"x\"}");
    Relay relay = assertInstanceOf(Relay.class, dialect.decode(frame));
    assertEquals(data, relay.data().toString());
    assertEquals(new ClientRequestId("\"x\""), relay.tag());
  }

  @Test
  void readsEnvelopeFieldsInAnyOrder() {
    String to = "AAAAAAAAAAAAAAAAAAAAAA";
    Relay relay = assertInstanceOf(Relay.class, dialect.decode(utf8(
        "{\"data\":{\"x\":1},\"to\":\"" + to + "\",\"extra\":{\"ignored\":[1]},\"room\":\"r:1\",\"type\":\"candidate\",\"id\":42}")));
    assertEquals(RelayKind.CANDIDATE, relay.kind());
    assertEquals(new RoomId("r:1"), relay.room());
    assertEquals(new PeerId(to), relay.to());
    assertEquals(new ClientRequestId("42"), relay.tag());
    assertEquals("{\"x\":1}", relay.data().toString());
  }

  @Test
  void keepsMetaAsRawObject() {
    Join join = assertInstanceOf(Join.class, dialect.decode(utf8("{\"type\":\"join\",\"room\":\"a\",\"meta\":{\"n\":\"\u00e9\"}}")));
    assertEquals("{\"n\":\"\u00e9\"}", join.metaJson());
    assertNull(join.tag());
  }

  @ParameterizedTest
  @ValueSource(strings = {"{nope", "[]", "\"str\"", "", "{\"type\":\"ping\"} {}", "{\"type\":\"offer\",\"room\":\"r\",\"data\":{\"a\":}}"})
  void rejectsWhatIsNotOneJsonObject(String frame) {
    SignalingException e = assertThrows(SignalingException.class, () -> dialect.decode(utf8(frame)));
    assertEquals(ErrorCode.BAD_JSON, e.code());
  }

  @Test
  void echoesTheIdOnErrorsFoundAfterReadingIt() {
    SignalingException e = assertThrows(SignalingException.class,
        () -> dialect.decode(utf8("{\"id\":\"q\",\"type\":\"teleport\"}")));
    assertEquals(ErrorCode.UNKNOWN_TYPE, e.code());
    assertEquals(new ClientRequestId("\"q\""), e.tag());
  }

  @Test
  void encodesRelayedWithTheDataBytesUnchanged() {
    byte[] source = utf8("xx{\"sdp\":\"\u00e9\"}yy");
    var data = new io.switchboard.wire.RawJson(source, 2, source.length - 2);
    PeerId from = new PeerId("BBBBBBBBBBBBBBBBBBBBBB");
    byte[] frame = dialect.encode(new Relayed(RelayKind.ANSWER, new RoomId("room"), from, data));
    assertEquals("{\"type\":\"answer\",\"room\":\"room\",\"from\":\"" + from + "\",\"data\":{\"sdp\":\"\u00e9\"}}",
        new String(frame, StandardCharsets.UTF_8));
  }

  @Test
  void encodesJoinedRosterAndEscapesErrorMessages() {
    PeerId me = new PeerId("CCCCCCCCCCCCCCCCCCCCCC");
    PeerId other = new PeerId("DDDDDDDDDDDDDDDDDDDDDD");
    String joined = new String(dialect.encode(new Joined(new RoomId("r"), me,
        List.of(new Member(other, "{\"n\":1}")), new ClientRequestId("7"))), StandardCharsets.UTF_8);
    assertEquals("{\"type\":\"joined\",\"room\":\"r\",\"peer\":\"" + me + "\",\"peers\":[{\"peer\":\"" + other
        + "\",\"meta\":{\"n\":1}}],\"id\":7}", joined);
    String error = new String(dialect.encode(new ErrorReply(ErrorCode.BAD_MESSAGE, "a \"b\"\n", null)), StandardCharsets.UTF_8);
    assertEquals("{\"type\":\"error\",\"code\":\"bad-message\",\"message\":\"a \\\"b\\\"\\n\"}", error);
  }
}
