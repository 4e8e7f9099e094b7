package io.switchboard.edge.engineio;

import static io.switchboard.edge.engineio.EngineIoPacket.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.edge.engineio.EngineIoPacket.PacketType;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Framing checked against the protocol's own examples. Sources, quoted in the tests:
 * <ul>
 *   <li>[EIO3] Engine.IO protocol revision 3, github.com/socketio/socket.io,
 *       docs/engine.io-protocol/v3.md (sections "Sample session", "Packet", "Payload")
 *   <li>[EIO4] Engine.IO protocol revision 4, same repository, docs/engine.io-protocol/v4-current.md
 *       (sections "Packet encoding", "From v3 to v4")
 *   <li>[PARSER] engine.io-parser CHANGELOG, 4.0.0 (2020-09-08), "Encoding changes between v3 and v4"
 *   <li>[SIO4] Socket.IO protocol revision 4, docs/socket.io-protocol/v4.md, "Sample session" (EIO=3)
 *   <li>[SIO5] Socket.IO protocol revision 5, docs/socket.io-protocol/v5-current.md, "Sample session"
 * </ul>
 */
class EngineIoCodecTest {
  private static final EngineIoCodec V3 = EngineIoCodec.V3;
  private static final EngineIoCodec V4 = EngineIoCodec.V4;

  private static final String OPEN_DATA =
      "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":5000}";

  private static EngineIoPacket message(String data) {
    return text(PacketType.MESSAGE, data);
  }

  // ---- both versions ----

  @Test
  void packetsAreTheirTypeDigitThenTheirData() throws Exception {
    // [EIO3] "2probe" / "3probe" / "5" in the upgrade, "4HelloWorld" as message example 1.
    assertEquals(text(PacketType.PING, "probe"), V3.decodePacket("2probe"));
    assertEquals("3probe", V3.encodePacket(text(PacketType.PONG, "probe")));
    assertEquals(text(PacketType.UPGRADE), V4.decodePacket("5"));
    assertEquals(message("HelloWorld"), V4.decodePacket("4HelloWorld"));
    for (PacketType type : PacketType.values()) {
      assertEquals(text(type, "x"), V4.decodePacket(V4.encodePacket(text(type, "x"))));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "7", "9hello", "x", "{\"a\":1}", "-1"})
  void refusesEmptyPacketsAndUnknownTypes(String packet) {
    assertThrows(EngineIoException.class, () -> V3.decodePacket(packet));
    assertThrows(EngineIoException.class, () -> V4.decodePacket(packet));
  }

  @Test
  void versionsAreThreeAndFour() {
    assertEquals(V3, EngineIoCodec.forVersion(3));
    assertEquals(4, EngineIoCodec.forVersion(4).version());
    assertThrows(IllegalArgumentException.class, () -> EngineIoCodec.forVersion(2));
    assertThrows(IllegalArgumentException.class, () -> EngineIoCodec.forVersion(5));
  }

  @Test
  void theServerEncodesTextOnly() {
    EngineIoPacket binary = new EngineIoPacket(PacketType.MESSAGE, "", true);
    assertThrows(IllegalArgumentException.class, () -> V3.encodePacket(binary));
    assertThrows(IllegalArgumentException.class, () -> V4.encodePayload(List.of(binary)));
  }

  // ---- version 3 ----

  @Test
  void v3PayloadCountsCharactersNotBytes() throws Exception {
    // [EIO3] Payload: [message "hello", message "€"] "is encoded to: 6:4hello2:4€ ... we are not
    // counting bytes, but characters, hence 2 (1 + 1) instead of 4 (1 + 3)."
    List<EngineIoPacket> packets = List.of(message("hello"), message("€"));
    assertEquals("6:4hello2:4€", V3.encodePayload(packets));
    assertEquals(packets, V3.decodePayload("6:4hello2:4€"));
    // [PARSER] encodePayload with strings: "6:4hello4:4€€€".
    assertEquals("6:4hello4:4€€€", V3.encodePayload(List.of(message("hello"), message("€€€"))));
  }

  @Test
  void v3LengthsCountUtf16CodeUnitsAsJavaScriptDoes() throws Exception {
    // An emoji outside the BMP is two UTF-16 code units: "4😀".length === 3 in JavaScript.
    List<EngineIoPacket> packets = List.of(message("😀"), message("a😀b"));
    assertEquals("3:4😀5:4a😀b", V3.encodePayload(packets));
    assertEquals(packets, V3.decodePayload("3:4😀5:4a😀b"));
    // Counting code points (2) would split the pair and leave garbage behind.
    assertThrows(EngineIoException.class, () -> V3.decodePayload("2:4😀"));
  }

  @Test
  void v3SampleSession() throws Exception {
    // [EIO3] Sample session, request 1: "96:0{"sid":...}" with "96 => number of characters".
    assertEquals(List.of(text(PacketType.OPEN, OPEN_DATA)), V3.decodePayload("96:0" + OPEN_DATA));
    assertEquals("96:0" + OPEN_DATA, V3.encodePayload(List.of(text(PacketType.OPEN, OPEN_DATA))));
    // Request 2: "4:4hey"; request 3: "6:4hello6:4world".
    assertEquals("4:4hey", V3.encodePayload(List.of(message("hey"))));
    assertEquals(List.of(message("hello"), message("world")), V3.decodePayload("6:4hello6:4world"));
    // [SIO4] The open packet followed by Socket.IO's CONNECT: "96:0{...}2:40".
    assertEquals("96:0" + OPEN_DATA + "2:40",
        V3.encodePayload(List.of(text(PacketType.OPEN, OPEN_DATA), message("0"))));
    // [SIO4] "16:42["hey","Jude"]" and "11:42["hello"]11:42["world"]".
    assertEquals("16:42[\"hey\",\"Jude\"]", V3.encodePayload(List.of(message("2[\"hey\",\"Jude\"]"))));
    assertEquals(List.of(message("2[\"hello\"]"), message("2[\"world\"]")),
        V3.decodePayload("11:42[\"hello\"]11:42[\"world\"]"));
  }

  @Test
  void v3Base64PacketsAreRecognisedAsBinary() throws Exception {
    // [EIO3] Payload, binary without XHR2: "2:4€10:b4AQIDBA==" (b, type 4, base64 of 01 02 03 04).
    assertEquals(List.of(message("€"), new EngineIoPacket(PacketType.MESSAGE, "", true)),
        V3.decodePayload("2:4€10:b4AQIDBA=="));
    assertThrows(EngineIoException.class, () -> V3.decodePayload("10:b9AQIDBA=="));
    assertThrows(EngineIoException.class, () -> V3.decodePayload("10:b4AQ*DBA=="));
    assertThrows(EngineIoException.class, () -> V3.decodePayload("1:b"));
  }

  @Test
  void v3BinaryFramesStartWithTheTypeAsAByte() throws Exception {
    // [EIO3] Packet: "4|0|1|2|3|4|5" is a message; [PARSER] v3 binary message <Buffer 04 01 02 03>.
    EngineIoPacket packet = V3.decodeBinaryFrame(new byte[] {4, 0, 1, 2, 3, 4, 5});
    assertEquals(new EngineIoPacket(PacketType.MESSAGE, "", true), packet);
    assertThrows(EngineIoException.class, () -> V3.decodeBinaryFrame(new byte[0]));
    assertThrows(EngineIoException.class, () -> V3.decodeBinaryFrame(new byte[] {'4', 1}));
    assertThrows(EngineIoException.class, () -> V3.decodeBinaryFrame(new byte[] {(byte) 0x84}));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",               // nothing at all
      ":4hello",        // no length
      "6:4hello:",      // colon without a length
      "x:4hello",       // length not a number
      "-6:4hello",      // sign
      "6 :4hello",      // stray character in the length
      "7:4hello",       // length past the end
      "99999999999999999999:4hello", // absurd length
      "6:4hello6",      // a length with no packet: trailing garbage
      "6:4helloxyz",    // trailing garbage
      "0:",             // empty packet
      "6:4hello0:",     // empty packet after a good one
      "6:9hello",       // unknown type
      "٦:4hello"})      // a digit, but not an ASCII one
  void v3RefusesMalformedPayloads(String body) {
    assertThrows(EngineIoException.class, () -> V3.decodePayload(body));
  }

  // ---- version 4 ----

  @Test
  void v4PayloadIsSeparatedByTheRecordSeparator() throws Exception {
    // [EIO4] Packet encoding, HTTP long-polling: "4hello\x1e2\x1e4world".
    List<EngineIoPacket> packets = List.of(message("hello"), text(PacketType.PING), message("world"));
    assertEquals("4hello\u001e2\u001e4world", V4.encodePayload(packets));
    assertEquals(packets, V4.decodePayload("4hello\u001e2\u001e4world"));
    // [PARSER] encodePayload with strings: "4hello\x1e4€€€"; no lengths, so nothing to count.
    assertEquals("4hello\u001e4€€€", V4.encodePayload(List.of(message("hello"), message("€€€"))));
    assertEquals(List.of(message("😀"), message("€")), V4.decodePayload("4😀\u001e4€"));
    // [SIO5] Sample session, request 5: "42["hello"]\x1e42["world"]".
    assertEquals(List.of(message("2[\"hello\"]"), message("2[\"world\"]")),
        V4.decodePayload("42[\"hello\"]\u001e42[\"world\"]"));
    // [SIO5] Request 1: one packet is the whole body, "0{"sid":...}".
    assertEquals("0" + OPEN_DATA, V4.encodePayload(List.of(text(PacketType.OPEN, OPEN_DATA))));
  }

  @Test
  void v4Base64PacketsAreBinaryMessages() throws Exception {
    // [EIO4] "4hello\x1ebAQIDBA==" (b, then buffer <01 02 03 04> in base64; no type digit).
    assertEquals(List.of(message("hello"), new EngineIoPacket(PacketType.MESSAGE, "", true)),
        V4.decodePayload("4hello\u001ebAQIDBA=="));
    assertThrows(EngineIoException.class, () -> V4.decodePayload("bAQ*DBA=="));
  }

  @Test
  void v4BinaryFramesAreRawMessages() throws Exception {
    // [EIO4] WebSocket: "Binary payloads are sent as is"; [PARSER] v4 <Buffer 01 02 03>.
    assertEquals(new EngineIoPacket(PacketType.MESSAGE, "", true), V4.decodeBinaryFrame(new byte[] {1, 2, 3}));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "\u001e", "4hello\u001e", "\u001e4hello", "4a\u001e\u001e4b", "4a\u001e9b"})
  void v4RefusesMalformedPayloads(String body) {
    assertThrows(EngineIoException.class, () -> V4.decodePayload(body));
  }

  @Test
  void v4NeverEncodesTheSeparatorInsideData() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> V4.encodePayload(List.of(message("a\u001eb"))));
    assertTrue(e.getMessage().contains("separator"));
  }
}
