package io.switchboard.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.support.ServerFixture;
import io.switchboard.support.TestClient;
import io.switchboard.support.WireSocket;
import io.switchboard.support.WireSocket.Frame;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * RFC 6455 conformance of the server side, in the case families of the Autobahn test suite and
 * numbered after it (docs/conformance.md): 1 framing, 2 pings and pongs, 3 reserved bits,
 * 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits. Autobahn drives an echo
 * server; Switchboard has none, so each case runs on a {@code /relay/{room}} (which forwards every
 * message unchanged) with a receiving peer standing in for the echo: a message "echoed" is one the
 * receiver gets byte for byte. Frames are written by {@link WireSocket}, byte by byte when a case
 * sends them "in chops". Each case reads until what it expects is complete, never until a silence.
 */
class WebSocketConformanceTest {
  /** Larger than Autobahn's biggest family-1 message (65,536 bytes), below the frame limit. */
  private static final int MAX_MESSAGE = 131_072;
  private static final int MAX_FRAME = 262_144;
  private static final Duration WAIT = TestClient.WAIT;
  private static ServerFixture fixture;
  private static final Random RANDOM = new Random(6455);

  @BeforeAll
  static void start() {
    fixture = ServerFixture.start(Map.of(
        "MAX_MESSAGE_BYTES", String.valueOf(MAX_MESSAGE),
        "MAX_FRAME_BYTES_HARD", String.valueOf(MAX_FRAME),
        "RATE_LIMIT_PER_SECOND", "10000",
        "RATE_LIMIT_BURST", "10000"));
  }

  @AfterAll
  static void stop() {
    fixture.close();
  }

  /** A message the receiver must get. */
  record Message(int opcode, byte[] payload) {
    static Message text(String s) {
      return new Message(WireSocket.TEXT, s.getBytes(StandardCharsets.UTF_8));
    }

    static Message text(byte[] utf8) {
      return new Message(WireSocket.TEXT, utf8);
    }

    static Message binary(byte[] bytes) {
      return new Message(WireSocket.BINARY, bytes);
    }
  }

  /**
   * What a case expects: the messages relayed to the receiver in order, the pong payloads the
   * sender gets in order, and the close code it is sent (0: the connection stays open).
   */
  record Expect(List<Message> delivered, List<byte[]> pongs, int closeCode) {}

  record Case(String id, String title, Consumer<WireSocket> send, Expect expect) {}

  private static final List<Case> CASES = new ArrayList<>();

  private static void add(String id, String title, Consumer<WireSocket> send, Expect expect) {
    CASES.add(new Case(id, title, send, expect));
  }

  private static Expect delivers(Message... messages) {
    return new Expect(List.of(messages), List.of(), 0);
  }

  private static Expect pongs(byte[]... payloads) {
    return new Expect(List.of(), List.of(payloads), 0);
  }

  private static Expect fails(int code, Message... before) {
    return new Expect(List.of(before), List.of(), code);
  }

  private static byte[] bytes(int n, int fill) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) fill);
    return b;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] hex(String h) {
    return HexFormat.of().parseHex(h.replace(" ", ""));
  }

  private static byte[] closePayload(int code, byte[] reason) {
    byte[] p = new byte[2 + reason.length];
    p[0] = (byte) (code >>> 8);
    p[1] = (byte) code;
    System.arraycopy(reason, 0, p, 2, reason.length);
    return p;
  }

  /** Writes a frame one byte at a time, each byte its own TCP write. */
  private static void chops(WireSocket ws, boolean fin, int opcode, byte[] payload) {
    byte[] frame = WireSocket.frame(fin, 0, opcode, payload, true, RANDOM);
    for (byte b : frame) {
      ws.sendRaw(new byte[] {b});
    }
  }

  static {
    // ---- 1. Framing: text and binary messages of every length class, whole and in chops ----
    int[] lengths = {0, 125, 126, 127, 128, 65535, 65536};
    for (int i = 0; i < lengths.length; i++) {
      int n = lengths[i];
      add("1.1." + (i + 1), "text message of " + n + " bytes", ws -> ws.send(WireSocket.TEXT, bytes(n, '*')),
          delivers(Message.text(bytes(n, '*'))));
      add("1.2." + (i + 1), "binary message of " + n + " bytes", ws -> ws.send(WireSocket.BINARY, bytes(n, 0xfe)),
          delivers(Message.binary(bytes(n, 0xfe))));
    }
    add("1.1.8", "text message of 65536 bytes in chops", ws -> chops(ws, true, WireSocket.TEXT, bytes(65536, '*')),
        delivers(Message.text(bytes(65536, '*'))));
    add("1.2.8", "binary message of 65536 bytes in chops", ws -> chops(ws, true, WireSocket.BINARY, bytes(65536, 0xfe)),
        delivers(Message.binary(bytes(65536, 0xfe))));

    // ---- 2. Pings and pongs ----
    add("2.1", "ping without payload", ws -> ws.send(WireSocket.PING, new byte[0]), pongs(new byte[0]));
    add("2.2", "ping with a text payload", ws -> ws.send(WireSocket.PING, utf8("Hello, world!")), pongs(utf8("Hello, world!")));
    add("2.3", "ping with a binary payload", ws -> ws.send(WireSocket.PING, hex("00ff fe fd fc fb 00 ff")), pongs(hex("00fffefdfcfb00ff")));
    add("2.4", "ping with a 125-byte payload", ws -> ws.send(WireSocket.PING, bytes(125, 0xfe)), pongs(bytes(125, 0xfe)));
    add("2.5", "ping with a 126-byte payload", ws -> ws.send(WireSocket.PING, bytes(126, 0xfe)), fails(1002));
    add("2.6", "ping with a 125-byte payload in chops", ws -> chops(ws, true, WireSocket.PING, bytes(125, 0xfe)), pongs(bytes(125, 0xfe)));
    add("2.7", "unsolicited pong without payload", ws -> ws.send(WireSocket.PONG, new byte[0]), pongs());
    add("2.8", "unsolicited pong with payload", ws -> ws.send(WireSocket.PONG, utf8("unsolicited pong payload")), pongs());
    add("2.9", "unsolicited pong, then ping", ws -> {
      ws.send(WireSocket.PONG, utf8("unsolicited pong payload"));
      ws.send(WireSocket.PING, utf8("ping payload"));
    }, pongs(utf8("ping payload")));
    add("2.10", "10 pings", ws -> {
      for (int i = 0; i < 10; i++) {
        ws.send(WireSocket.PING, utf8("payload-" + i));
      }
    }, pongs(Stream.iterate(0, i -> i + 1).limit(10).map(i -> utf8("payload-" + i)).toArray(byte[][]::new)));
    add("2.11", "10 pings in chops", ws -> {
      for (int i = 0; i < 10; i++) {
        chops(ws, true, WireSocket.PING, utf8("payload-" + i));
      }
    }, pongs(Stream.iterate(0, i -> i + 1).limit(10).map(i -> utf8("payload-" + i)).toArray(byte[][]::new)));

    // ---- 3. Reserved bits (no extension is negotiated, so any set bit fails the connection) ----
    add("3.1", "RSV1 on a text frame", ws -> ws.send(true, 4, WireSocket.TEXT, utf8("Hello"), true), fails(1002));
    add("3.2", "text, then RSV2 on a text frame, then ping", ws -> {
      ws.sendText("Hello");
      ws.send(true, 2, WireSocket.TEXT, utf8("Hello"), true);
      ws.send(WireSocket.PING, utf8("Hello"));
    }, fails(1002, Message.text("Hello")));
    add("3.3", "RSV1+RSV2 on a text frame after a text", ws -> {
      ws.sendText("Hello");
      ws.send(true, 6, WireSocket.TEXT, utf8("Hello"), true);
    }, fails(1002, Message.text("Hello")));
    add("3.4", "RSV3 on a text frame in chops", ws -> {
      byte[] frame = WireSocket.frame(true, 1, WireSocket.TEXT, utf8("Hello"), true, RANDOM);
      for (byte b : frame) {
        ws.sendRaw(new byte[] {b});
      }
    }, fails(1002));
    add("3.5", "RSV1+RSV3 on a binary frame", ws -> ws.send(true, 5, WireSocket.BINARY, bytes(8, 0xff), true), fails(1002));
    add("3.6", "RSV2+RSV3 on a ping", ws -> ws.send(true, 3, WireSocket.PING, utf8("Hello"), true), fails(1002));
    add("3.7", "all RSV bits on a close", ws -> ws.send(true, 7, WireSocket.CLOSE, closePayload(1000, new byte[0]), true), fails(1002));

    // ---- 4. Opcodes ----
    int[] dataOpcodes = {3, 4, 5, 6, 7};
    for (int i = 0; i < dataOpcodes.length; i++) {
      int op = dataOpcodes[i];
      add("4.1." + (i + 1), "reserved non-control opcode " + op + " after a text", ws -> {
        ws.sendText("Hello");
        ws.send(true, 0, op, utf8("reserved"), true);
        ws.send(WireSocket.PING, new byte[0]);
      }, fails(1002, Message.text("Hello")));
    }
    int[] controlOpcodes = {0xB, 0xC, 0xD, 0xE, 0xF};
    for (int i = 0; i < controlOpcodes.length; i++) {
      int op = controlOpcodes[i];
      add("4.2." + (i + 1), "reserved control opcode " + op + " after a text", ws -> {
        ws.sendText("Hello");
        ws.send(true, 0, op, utf8("reserved"), true);
        ws.send(WireSocket.PING, new byte[0]);
      }, fails(1002, Message.text("Hello")));
    }

    // ---- 5. Fragmentation ----
    add("5.1", "ping in two fragments", ws -> {
      ws.send(false, 0, WireSocket.PING, utf8("frag1"), true);
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("frag2"), true);
    }, fails(1002));
    add("5.2", "pong in two fragments", ws -> {
      ws.send(false, 0, WireSocket.PONG, utf8("frag1"), true);
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("frag2"), true);
    }, fails(1002));
    add("5.3", "text in two fragments", ws -> {
      ws.send(false, 0, WireSocket.TEXT, utf8("frag1"), true);
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("frag2"), true);
    }, delivers(Message.text("frag1frag2")));
    add("5.4", "text in two fragments, in chops", ws -> {
      chops(ws, false, WireSocket.TEXT, utf8("frag1"));
      chops(ws, true, WireSocket.CONTINUATION, utf8("frag2"));
    }, delivers(Message.text("frag1frag2")));
    add("5.6", "text in two fragments with a ping between", ws -> {
      ws.send(false, 0, WireSocket.TEXT, utf8("frag1"), true);
      ws.send(WireSocket.PING, utf8("pongme!"));
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("frag2"), true);
    }, new Expect(List.of(Message.text("frag1frag2")), List.of(utf8("pongme!")), 0));
    add("5.7", "the same in chops", ws -> {
      chops(ws, false, WireSocket.TEXT, utf8("frag1"));
      chops(ws, true, WireSocket.PING, utf8("pongme!"));
      chops(ws, true, WireSocket.CONTINUATION, utf8("frag2"));
    }, new Expect(List.of(Message.text("frag1frag2")), List.of(utf8("pongme!")), 0));
    add("5.9", "continuation (final) with nothing to continue, then a text", ws -> {
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("non-continuation payload"), true);
      ws.sendText("Hello, world!");
    }, fails(1002));
    add("5.10", "the same in chops", ws -> {
      chops(ws, true, WireSocket.CONTINUATION, utf8("non-continuation payload"));
      chops(ws, true, WireSocket.TEXT, utf8("Hello, world!"));
    }, fails(1002));
    add("5.12", "continuation (not final) with nothing to continue", ws -> {
      ws.send(false, 0, WireSocket.CONTINUATION, utf8("non-continuation payload"), true);
      ws.sendText("Hello, world!");
    }, fails(1002));
    add("5.15", "text, continuation, continuation (not final), then a new text", ws -> {
      ws.send(false, 0, WireSocket.TEXT, utf8("fragment1"), true);
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("fragment2"), true);
      ws.send(false, 0, WireSocket.CONTINUATION, utf8("fragment3"), true);
      ws.send(true, 0, WireSocket.TEXT, utf8("fragment4"), true);
    }, fails(1002, Message.text("fragment1fragment2")));
    add("5.17", "a text starting inside a fragmented text", ws -> {
      ws.send(false, 0, WireSocket.TEXT, utf8("fragment1"), true);
      ws.send(false, 0, WireSocket.TEXT, utf8("fragment2"), true);
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("fragment3"), true);
    }, fails(1002));
    add("5.19", "text in five fragments with pings between", ws -> {
      for (int i = 1; i <= 5; i++) {
        ws.send(i == 5, 0, i == 1 ? WireSocket.TEXT : WireSocket.CONTINUATION, utf8("fragment" + i), true);
        if (i < 5) {
          ws.send(WireSocket.PING, utf8("pongme " + i));
        }
      }
    }, new Expect(List.of(Message.text("fragment1fragment2fragment3fragment4fragment5")),
        List.of(utf8("pongme 1"), utf8("pongme 2"), utf8("pongme 3"), utf8("pongme 4")), 0));
    add("5.20", "binary in 3 fragments, an empty final fragment last", ws -> {
      ws.send(false, 0, WireSocket.BINARY, hex("0102"), true);
      ws.send(false, 0, WireSocket.CONTINUATION, hex("0304"), true);
      ws.send(true, 0, WireSocket.CONTINUATION, new byte[0], true);
    }, delivers(Message.binary(hex("01020304"))));

    // ---- 6. UTF-8 ----
    add("6.1.1", "empty text frame", ws -> ws.send(WireSocket.TEXT, new byte[0]), delivers(Message.text("")));
    add("6.1.2", "empty text in three empty fragments", ws -> {
      ws.send(false, 0, WireSocket.TEXT, new byte[0], true);
      ws.send(false, 0, WireSocket.CONTINUATION, new byte[0], true);
      ws.send(true, 0, WireSocket.CONTINUATION, new byte[0], true);
    }, delivers(Message.text("")));
    add("6.1.3", "text with empty fragments around a middle", ws -> {
      ws.send(false, 0, WireSocket.TEXT, new byte[0], true);
      ws.send(false, 0, WireSocket.CONTINUATION, utf8("middle frame payload"), true);
      ws.send(true, 0, WireSocket.CONTINUATION, new byte[0], true);
    }, delivers(Message.text("middle frame payload")));
    String[] valid = {"Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!", "\u03ba\u1f79\u03c3\u03bc\u03b5",
        "\u007f", "\u0080", "\u07ff", "\u0800", "\uffff", "\ud800\udc00", "\udbff\udfff", "\ud000", "\ue000", "\ufffd"};
    for (int i = 0; i < valid.length; i++) {
      byte[] b = utf8(valid[i]);
      add("6.2." + (i + 1), "valid UTF-8 " + HexFormat.of().formatHex(b) + " in one frame", ws -> ws.send(WireSocket.TEXT, b),
          delivers(Message.text(b)));
      add("6.6." + (i + 1), "valid UTF-8 " + HexFormat.of().formatHex(b) + " split into one-byte fragments", ws -> {
        for (int k = 0; k < b.length; k++) {
          ws.send(k == b.length - 1, 0, k == 0 ? WireSocket.TEXT : WireSocket.CONTINUATION, new byte[] {b[k]}, true);
        }
      }, delivers(Message.text(b)));
    }
    String[] invalid = {
        "cebae1bdb9cf83cebcceb5eda080656469746564", // kosme, then a UTF-16 surrogate, then "edited"
        "f4908080", "80", "bf", "80bf", "c0", "e0", "f0", "f8", "fc", "dfff", "efbf", "f7bfbf", "fe", "ff", "fefeffff",
        "c0af", "e080af", "f08080af", "f888808080af", "c1bf", "e09fbf", "f08fbfbf", "c080", "e08080",
        "eda080", "edadbf", "edb080", "edbfbf", "eda080edb080", "edafbfedbfbf", "cebae1bd"};
    for (int i = 0; i < invalid.length; i++) {
      byte[] b = hex(invalid[i]);
      add("6.3." + (i + 1), "invalid UTF-8 " + invalid[i] + " in one frame", ws -> ws.send(WireSocket.TEXT, b), fails(1007));
      add("6.4." + (i + 1), "invalid UTF-8 " + invalid[i] + " split into one-byte fragments", ws -> {
        for (int k = 0; k < b.length; k++) {
          ws.send(k == b.length - 1, 0, k == 0 ? WireSocket.TEXT : WireSocket.CONTINUATION, new byte[] {b[k]}, true);
        }
      }, fails(1007));
    }
    add("6.5.1", "valid start, then an invalid byte in a later fragment, never finished", ws -> {
      ws.send(false, 0, WireSocket.TEXT, utf8("\u03ba\u1f79\u03c3\u03bc\u03b5"), true);
      ws.send(false, 0, WireSocket.CONTINUATION, hex("f4908080"), true);
    }, fails(1007));

    // ---- 7. Close handling ----
    add("7.1.1", "text, then close 1000", ws -> {
      ws.sendText("Hello World!");
      ws.sendClose(1000, new byte[0]);
    }, fails(1000, Message.text("Hello World!")));
    add("7.1.2", "close twice", ws -> {
      ws.sendClose(1000, new byte[0]);
      ws.sendClose(1000, new byte[0]);
    }, fails(1000));
    add("7.1.3", "close, then a ping", ws -> {
      ws.sendClose(1000, new byte[0]);
      ws.send(WireSocket.PING, utf8("Hello World!"));
    }, fails(1000));
    add("7.1.4", "close, then a text", ws -> {
      ws.sendClose(1000, new byte[0]);
      ws.sendText("Hello World!");
    }, fails(1000));
    add("7.1.5", "a first fragment, then close, then the last fragment", ws -> {
      ws.send(false, 0, WireSocket.TEXT, utf8("fragment1"), true);
      ws.sendClose(1000, new byte[0]);
      ws.send(true, 0, WireSocket.CONTINUATION, utf8("fragment2"), true);
    }, fails(1000));
    add("7.1.6", "a large message, then close", ws -> {
      ws.send(WireSocket.TEXT, bytes(65536, 'x'));
      ws.sendClose(1000, new byte[0]);
    }, fails(1000, Message.text(bytes(65536, 'x'))));
    // No code to echo: Vert.x answers 1000, which RFC 6455 section 5.5.1 allows.
    add("7.3.1", "close without payload", ws -> ws.send(WireSocket.CLOSE, new byte[0]), fails(1000));
    add("7.3.2", "close with a 1-byte payload", ws -> ws.send(WireSocket.CLOSE, new byte[] {0x30}), fails(1002));
    add("7.3.3", "close 1000 without reason", ws -> ws.sendClose(1000, new byte[0]), fails(1000));
    add("7.3.4", "close 1000 with a reason", ws -> ws.sendClose(1000, utf8("Hello World!")), fails(1000));
    add("7.3.5", "close 1000 with a 123-byte reason", ws -> ws.sendClose(1000, bytes(123, '*')), fails(1000));
    add("7.3.6", "close 1000 with a 124-byte reason (payload over 125)", ws -> ws.sendClose(1000, bytes(124, '*')), fails(1002));
    add("7.5.1", "close 1000 with an invalid UTF-8 reason", ws -> ws.sendClose(1000, hex("cebae1bdb9cf83cebcceb5eda080656469746564")),
        fails(1007));
    int[] validCodes = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999};
    for (int i = 0; i < validCodes.length; i++) {
      int code = validCodes[i];
      add("7.7." + (i + 1), "close with valid code " + code, ws -> ws.sendClose(code, new byte[0]), fails(code));
    }
    int[] invalidCodes = {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999};
    for (int i = 0; i < invalidCodes.length; i++) {
      int code = invalidCodes[i];
      add("7.9." + (i + 1), "close with invalid code " + code, ws -> ws.sendClose(code, new byte[0]), fails(1002));
    }

    // ---- 9. Limits (Switchboard's own, where Autobahn's family 9 measures throughput) ----
    add("9.L.1", "text message of MAX_MESSAGE_BYTES", ws -> ws.send(WireSocket.TEXT, bytes(MAX_MESSAGE, 'm')),
        delivers(Message.text(bytes(MAX_MESSAGE, 'm'))));
    add("9.L.2", "binary message of MAX_MESSAGE_BYTES in 64 fragments", ws -> {
      byte[] part = bytes(MAX_MESSAGE / 64, 0x01);
      for (int i = 0; i < 64; i++) {
        ws.send(i == 63, 0, i == 0 ? WireSocket.BINARY : WireSocket.CONTINUATION, part, true);
      }
    }, delivers(Message.binary(bytes(MAX_MESSAGE, 0x01))));
    add("9.L.3", "one frame over MAX_FRAME_BYTES_HARD", ws -> ws.send(WireSocket.TEXT, bytes(MAX_FRAME + 1, 'h')), fails(1009));
    add("9.L.4", "a frame header announcing 2^62 bytes", ws -> ws.sendRaw(hex("81ff 4000000000000000 00000000")), fails(1009));
  }

  @TestFactory
  Stream<DynamicTest> autobahnStyleCases() {
    return CASES.stream().map(c -> DynamicTest.dynamicTest(c.id() + " " + c.title(), () -> run(c)));
  }

  private static void run(Case c) {
    String room = "/relay/conf-" + c.id().replace('.', '-');
    try (WireSocket receiver = WireSocket.open(fixture.port(), room, RANDOM);
        WireSocket sender = WireSocket.open(fixture.port(), room, RANDOM)) {
      sync(sender, receiver);

      c.send().accept(sender);

      List<Frame> senderFrames = new ArrayList<>();
      if (c.expect().closeCode() != 0) {
        int code = sender.awaitClose(WAIT, senderFrames);
        assertEquals(c.expect().closeCode(), code, "close code (1006: TCP closed without a close frame)");
        assertTrue(sender.tcpClosedWithin(WAIT), "TCP connection closed after the close frame");
      } else {
        for (int i = 0; i < c.expect().pongs().size(); i++) {
          Frame f = sender.next(WAIT);
          assertNotNull(f, "pong " + (i + 1) + " of " + c.expect().pongs().size());
          senderFrames.add(f);
        }
      }
      List<byte[]> pongs = senderFrames.stream().filter(f -> f.opcode() == WireSocket.PONG).map(Frame::payload).toList();
      assertEquals(c.expect().pongs().size(), pongs.size(), "pongs: " + senderFrames);
      for (int i = 0; i < pongs.size(); i++) {
        assertArrayEquals(c.expect().pongs().get(i), pongs.get(i), "pong payload " + (i + 1));
      }

      for (Message m : c.expect().delivered()) {
        Frame f = nextData(receiver);
        assertEquals(m.opcode(), f.opcode(), "relayed message type");
        assertTrue(f.fin());
        assertArrayEquals(m.payload(), f.payload(), "relayed message bytes");
      }
      // Nothing else was relayed: the next message the receiver gets is a probe sent after.
      WireSocket prober = c.expect().closeCode() == 0 ? sender : null;
      try (WireSocket fresh = prober == null ? WireSocket.open(fixture.port(), room, RANDOM) : null) {
        WireSocket probe = prober != null ? prober : fresh;
        for (int attempt = 0; attempt < 50; attempt++) {
          probe.sendText("probe");
          Frame f = receiver.next(Duration.ofMillis(200));
          if (f != null) {
            assertEquals(WireSocket.TEXT, f.opcode(), "unexpected frame before the probe: " + f);
            assertEquals("probe", f.text(), "unexpected message before the probe");
            break;
          }
          assertTrue(attempt < 49, "probe never relayed");
        }
      }
    }
  }

  /**
   * Returns once the receiver is in the room: the sender's messages are held until its own join
   * completes, but reach only members joined by then, so it repeats until one arrives, then sends
   * a last one after which no repeat can still be on its way.
   */
  private static void sync(WireSocket sender, WireSocket receiver) {
    for (int attempt = 0; attempt < 50; attempt++) {
      sender.sendText("sync");
      Frame f = receiver.next(Duration.ofMillis(100));
      if (f != null) {
        sender.sendText("synced");
        for (int i = 0; i < 60 && !"synced".equals(f.text()); i++) {
          f = receiver.next(WAIT);
          assertNotNull(f, "synced");
        }
        return;
      }
    }
    throw new AssertionError("receiver never joined");
  }

  private static Frame nextData(WireSocket ws) {
    for (int i = 0; i < 100; i++) {
      Frame f = ws.next(WAIT);
      assertNotNull(f, "a relayed message");
      if (f.opcode() == WireSocket.TEXT || f.opcode() == WireSocket.BINARY) {
        return f;
      }
    }
    throw new AssertionError("no data frame among 100");
  }
}
