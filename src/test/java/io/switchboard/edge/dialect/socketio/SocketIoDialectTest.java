package io.switchboard.edge.dialect.socketio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.switchboard.edge.dialect.Link;
import io.switchboard.signaling.port.SignalingMetrics;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.signaling.Hub;
import io.switchboard.signaling.Limits;
import io.switchboard.wire.Member;
import io.switchboard.signaling.Outbound;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;
import io.switchboard.signaling.Session;
import io.switchboard.signaling.command.Command;
import io.switchboard.signaling.command.Join;
import io.switchboard.signaling.command.Leave;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RequestTag;
import io.switchboard.signaling.Identity;
import io.switchboard.signaling.command.Relay;
import io.switchboard.wire.RelayKind;
import io.switchboard.signaling.event.ErrorReply;
import io.switchboard.signaling.event.Event;
import io.switchboard.signaling.event.Joined;
import io.switchboard.wire.LeaveReason;
import io.switchboard.signaling.event.Left;
import io.switchboard.signaling.event.PeerJoined;
import io.switchboard.signaling.event.PeerLeft;
import io.switchboard.signaling.event.ServerMessage;
import io.switchboard.signaling.event.Pong;
import io.switchboard.signaling.event.Relayed;
import io.switchboard.signaling.event.Welcome;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SocketIoDialectTest {
  private static final PeerId OTHER = new PeerId("BBBBBBBBBBBBBBBBBBBBBB");

  /** Records what the dialect asks of its connection; the hub itself is not involved. */
  private static final class RecordingLink implements Link {
    final Session session;
    final List<Command> commands = new ArrayList<>();
    final List<ErrorReply> rejects = new ArrayList<>();
    final List<String> writes = new ArrayList<>();
    // Everything in order, to check what came first.
    final List<Object> log = new ArrayList<>();
    CloseReason closed;

    RecordingLink() {
      Outbound ignore = new Outbound() {
        @Override
        public void send(Event event) {}

        @Override
        public void close(CloseReason reason) {}

        @Override
        public void execute(Runnable task) {}
      };
      Hub hub = new Hub(null, new Limits(16, 50, 50, 100, 100), SignalingMetrics.NOOP, "test");
      session = hub.open(ignore, System.nanoTime(), Identity.ANONYMOUS);
    }

    @Override
    public Session session() {
      return session;
    }

    @Override
    public void handle(Command command) {
      commands.add(command);
      log.add(command);
    }

    @Override
    public void reject(ErrorCode code, String message, RequestTag tag) {
      ErrorReply reply = new ErrorReply(code, message, tag);
      rejects.add(reply);
      log.add(reply);
    }

    @Override
    public void write(byte[] message, boolean binary) {
      String text = new String(message, StandardCharsets.UTF_8);
      writes.add(text);
      log.add(text);
    }

    @Override
    public void close(CloseReason reason) {
      closed = reason;
    }
  }

  private final RecordingLink link = new RecordingLink();
  private final String me = link.session.peer().value();

  private SocketIoDialect open(int engineIoVersion, boolean disconnectOnDrop) {
    SocketIoDialect dialect = new SocketIoDialect(link, engineIoVersion, disconnectOnDrop);
    dialect.opened();
    return dialect;
  }

  private SocketIoDialect v3() {
    return open(3, true);
  }

  private static void send(SocketIoDialect dialect, String packet) {
    dialect.receive(packet.getBytes(StandardCharsets.UTF_8), false);
  }

  private static String emit(String signalingEvent) {
    return "2[\"message\"," + signalingEvent + "]";
  }

  private static String event(String type, String roomId, String callee) {
    return "{\"type\":\"" + type + "\",\"room\":{\"id\":\"" + roomId + "\"},\"caller\":{\"id\":\"uuid-1\"},"
        + "\"callee\":" + (callee == null ? "null" : "{\"id\":\"" + callee + "\"}") + ",\"payload\":null}";
  }

  /** {@code event} as the server forwards it: its own caller first, the rest as sent. */
  private String forwarded(String type, String roomId, String callee) {
    return "{\"caller\":{\"id\":\"" + me + "\"},\"type\":\"" + type + "\",\"room\":{\"id\":\"" + roomId + "\"},"
        + "\"callee\":" + (callee == null ? "null" : "{\"id\":\"" + callee + "\"}") + ",\"payload\":null}";
  }

  /** What a connection does with an event: writes its message, then lets the dialect react. */
  private byte[] deliver(SocketIoDialect dialect, Event event) {
    byte[] message = dialect.encode(event);
    if (message != null) {
      link.write(message, false);
    }
    dialect.delivered(event);
    return message;
  }

  private static String text(byte[] bytes) {
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  private <T extends Command> T last(Class<T> type) {
    return assertInstanceOf(type, link.commands.get(link.commands.size() - 1));
  }

  /** Sends CONNECT for {@code roomId} (JSON string content) and answers it as the hub would. */
  private Join join(SocketIoDialect dialect, String roomId) {
    int before = link.commands.size();
    send(dialect, emit(event("CONNECT", roomId, null)));
    assertEquals(before + 1, link.commands.size(), () -> "rejects: " + link.rejects);
    Join join = last(Join.class);
    assertEquals("2[\"log\",\"SERVER_LOG\"," + join.metaJson() + "]",
        text(deliver(dialect, new Joined(join.room(), link.session.peer(), List.of(), join.tag()))));
    return join;
  }

  private static void assertRelay(Command command, RelayKind kind, RoomId room, PeerId to, String data) {
    Relay relay = assertInstanceOf(Relay.class, command);
    assertEquals(kind, relay.kind());
    assertEquals(room, relay.room());
    assertEquals(to, relay.to());
    assertEquals(data, relay.data().toString());
  }

  // ---- connecting ----

  @Test
  void engineIo3ConnectsTheMainNamespaceAtOnce() {
    SocketIoDialect dialect = v3();
    assertEquals(List.of("0"), link.writes);
    send(dialect, "0"); // already connected: nothing more to say
    assertEquals(List.of("0"), link.writes);
    send(dialect, emit(event("CONNECT", "r", null)));
    assertInstanceOf(Join.class, link.commands.get(0));
  }

  @Test
  void engineIo4AnswersTheClientsConnectWithThePeerIdAsSid() {
    SocketIoDialect dialect = open(4, true);
    assertEquals(List.of(), link.writes);
    send(dialect, emit(event("CONNECT", "r", null)));
    assertEquals(List.of(), link.commands);
    assertEquals(ErrorCode.BAD_MESSAGE, link.rejects.get(0).code());

    send(dialect, "0{\"token\":\"abc\"}");
    assertEquals(List.of("0{\"sid\":\"" + me + "\"}"), link.writes);
    send(dialect, emit(event("CONNECT", "r", null)));
    assertInstanceOf(Join.class, link.commands.get(0));
  }

  @Test
  void engineIo4ConnectWithoutAuth() {
    SocketIoDialect dialect = open(4, true);
    send(dialect, "0");
    assertEquals(List.of("0{\"sid\":\"" + me + "\"}"), link.writes);
  }

  @Test
  void engineIo4ConnectDataMustBeAnObject() {
    SocketIoDialect dialect = open(4, true);
    send(dialect, "0[1]");
    assertEquals(List.of(), link.writes);
    assertEquals(ErrorCode.BAD_JSON, link.rejects.get(0).code());
  }

  @Test
  void otherNamespacesAreRefusedWithConnectError() {
    SocketIoDialect v3 = v3();
    send(v3, "0/admin,");
    assertEquals("4/admin,\"Invalid namespace\"", link.writes.get(1));
    send(v3, "0/?token=1,"); // the main namespace with a query
    assertEquals(2, link.writes.size());

    SocketIoDialect v4 = open(4, true);
    send(v4, "0/admin,{\"token\":1}");
    assertEquals("4/admin,{\"message\":\"Invalid namespace\"}", link.writes.get(2));
    send(v4, "0/admin");
    assertEquals("4/admin,{\"message\":\"Invalid namespace\"}", link.writes.get(3));
    assertEquals(List.of(), link.rejects);
  }

  @Test
  void aNamespaceWithControlCharactersIsNotEchoed() {
    SocketIoDialect dialect = v3();
    send(dialect, "0/a\u001eb,");
    assertEquals(List.of("0"), link.writes);
    assertEquals(ErrorCode.BAD_MESSAGE, link.rejects.get(0).code());
  }

  @Test
  void eventsOutsideTheMainNamespaceAreRefused() {
    SocketIoDialect dialect = v3();
    send(dialect, "2/admin," + emit(event("CONNECT", "r", null)).substring(1));
    assertEquals(List.of(), link.commands);
    assertEquals(ErrorCode.BAD_MESSAGE, link.rejects.get(0).code());
  }

  @Test
  void aSocketIoDisconnectOfTheMainNamespaceClosesTheConnection() {
    SocketIoDialect dialect = v3();
    send(dialect, "1/admin,");
    assertNull(link.closed);
    send(dialect, "1");
    assertEquals(CloseReason.NORMAL, link.closed);
  }

  // ---- rewriting and routing ----

  @Test
  void rewriteSetsCallerAndKeepsEveryOtherFieldByteForByteInOrder() {
    SocketIoDialect dialect = v3();
    join(dialect, "r");
    String payload = "{ \"sdp\" : \"v=0\\r\\n\\u00e9\", \"n\":[1 , 2.50e3,null] }";
    send(dialect, emit("{\"type\":\"OFFER\" , \"caller\":{\"id\":\"spoofed\"},\"room\":{\"id\":\"r\"},"
        + "\"callee\":{\"id\":\"" + OTHER + "\"},\"payload\":" + payload + ",\"x\":\"é\"}"));
    assertRelay(link.commands.get(1), RelayKind.OFFER, RoomId.scoped("sio", "r"), OTHER,
        "{\"caller\":{\"id\":\"" + me + "\"},\"type\":\"OFFER\",\"room\":{\"id\":\"r\"},"
            + "\"callee\":{\"id\":\"" + OTHER + "\"},\"payload\":" + payload + ",\"x\":\"é\"}");
  }

  @Test
  void rewriteAddsCallerWhenTheClientSentNone() {
    SocketIoDialect dialect = v3();
    join(dialect, "r");
    send(dialect, emit("{\"type\":\"ping-me\",\"room\":{\"id\":\"r\"}}"));
    assertRelay(link.commands.get(1), RelayKind.SIGNAL, RoomId.scoped("sio", "r"), null,
        "{\"caller\":{\"id\":\"" + me + "\"},\"type\":\"ping-me\",\"room\":{\"id\":\"r\"}}");
  }

  @Test
  void connectJoinsWithTheForwardedEventAsMeta() {
    SocketIoDialect dialect = v3();
    send(dialect, emit(event("CONNECT", "test-room", null)));
    Join join = last(Join.class);
    assertEquals(new RoomId("#sio:test-room"), join.room());
    assertEquals(forwarded("CONNECT", "test-room", null), join.metaJson());
    assertEquals(0, join.capacity());
    // The joiner gets its CONNECT echoed in a 'log' event, as peer-data-server echoes every
    // message; the others get the CONNECT as the joiner's peer-joined.
    assertEquals("2[\"log\",\"SERVER_LOG\"," + join.metaJson() + "]",
        text(deliver(dialect, new Joined(join.room(), link.session.peer(), List.of(), join.tag()))));
    assertEquals("2[\"message\"," + join.metaJson() + "]",
        text(dialect.encode(new PeerJoined(join.room(), new Member(OTHER, join.metaJson())))));
  }

  @Test
  void nonAsciiRoomIdsAreHashedIntoTheScope() {
    SocketIoDialect dialect = v3();
    Join join = join(dialect, "café ☕ 1");
    assertEquals(RoomId.scoped("sio", "café ☕ 1"), join.room());
    assertTrue(join.room().value().startsWith("#sio="));
    send(dialect, emit(event("ERROR", "café ☕ 1", null)));
    assertEquals(join.room(), last(Relay.class).room());
  }

  @Test
  void disconnectGoesToTheRoomThenLeavesIt() {
    SocketIoDialect dialect = v3();
    Join join = join(dialect, "r");
    send(dialect, emit(event("DISCONNECT", "r", null)));
    assertRelay(link.commands.get(1), RelayKind.SIGNAL, join.room(), null, forwarded("DISCONNECT", "r", null));
    assertEquals(join.room(), assertInstanceOf(Leave.class, link.commands.get(2)).room());
    assertNull(deliver(dialect, new Left(join.room(), last(Leave.class).tag())));

    send(dialect, emit(event("DISCONNECT", "r", null)));
    assertEquals(3, link.commands.size());
    assertEquals(ErrorCode.NOT_IN_ROOM, link.rejects.get(0).code());
  }

  @Test
  void disconnectFromARoomNeverJoinedIsRefusedOnce() {
    SocketIoDialect dialect = v3();
    send(dialect, emit(event("DISCONNECT", "r", null)));
    assertEquals(List.of(), link.commands);
    assertEquals(1, link.rejects.size());
    assertEquals(ErrorCode.NOT_IN_ROOM, link.rejects.get(0).code());
  }

  @Test
  void offerAnswerAndCandidateGoToTheCalleeOnly() {
    SocketIoDialect dialect = v3();
    RoomId room = join(dialect, "r").room();
    send(dialect, emit(event("OFFER", "r", OTHER.value())));
    send(dialect, emit(event("ANSWER", "r", OTHER.value())));
    send(dialect, emit(event("CANDIDATE", "r", OTHER.value())));
    assertRelay(link.commands.get(1), RelayKind.OFFER, room, OTHER, forwarded("OFFER", "r", OTHER.value()));
    assertRelay(link.commands.get(2), RelayKind.ANSWER, room, OTHER, forwarded("ANSWER", "r", OTHER.value()));
    assertRelay(link.commands.get(3), RelayKind.CANDIDATE, room, OTHER, forwarded("CANDIDATE", "r", OTHER.value()));
    assertEquals(new SocketIoDialect.OfType("OFFER"), ((Relay) link.commands.get(1)).tag());
  }

  @Test
  void otherTypesGoToTheWholeRoom() {
    SocketIoDialect dialect = v3();
    RoomId room = join(dialect, "r").room();
    send(dialect, emit(event("ERROR", "r", null)));
    send(dialect, emit(event("mute", "r", OTHER.value())));
    assertRelay(link.commands.get(1), RelayKind.SIGNAL, room, null, forwarded("ERROR", "r", null));
    assertRelay(link.commands.get(2), RelayKind.SIGNAL, room, null, forwarded("mute", "r", OTHER.value()));
  }

  @Test
  void aCalleeThatIsNoPeerIdIsNotFound() {
    SocketIoDialect dialect = v3();
    join(dialect, "r");
    send(dialect, emit(event("OFFER", "r", "socket-id-of-old-server")));
    assertEquals(1, link.commands.size());
    assertEquals(new ErrorReply(ErrorCode.PEER_NOT_FOUND, "no such peer in this room", new SocketIoDialect.OfType("OFFER")), link.rejects.get(0));
  }

  @Test
  void relayedEventsAreEmittedAsMessage() {
    SocketIoDialect dialect = v3();
    byte[] frame = ("xx" + forwarded("OFFER", "r", me) + "yy").getBytes(StandardCharsets.UTF_8);
    RawJson data = new RawJson(frame, 2, frame.length - 2);
    assertEquals("2[\"message\"," + forwarded("OFFER", "r", me) + "]",
        text(dialect.encode(new Relayed(RelayKind.OFFER, RoomId.scoped("sio", "r"), OTHER, data))));
  }

  @Test
  void acknowledgesEventsThatAskForIt() {
    SocketIoDialect dialect = v3();
    send(dialect, "212" + emit(event("CONNECT", "r", null)).substring(1));
    assertInstanceOf(Join.class, link.log.get(1));
    assertEquals("312[]", link.log.get(2));
  }

  @Test
  void acknowledgesARefusedEventAfterItsError() {
    SocketIoDialect dialect = v3();
    send(dialect, "27" + emit(event("DISCONNECT", "r", null)).substring(1));
    assertEquals(ErrorCode.NOT_IN_ROOM, assertInstanceOf(ErrorReply.class, link.log.get(1)).code());
    assertEquals("37[]", link.log.get(2));
  }

  @Test
  void aMalformedPacketIsNotAcknowledged() {
    SocketIoDialect dialect = v3();
    send(dialect, "27[\"message\",{]");
    assertEquals(List.of("0"), link.writes);
    assertEquals(ErrorCode.BAD_JSON, link.rejects.get(0).code());
  }

  @Test
  void connectIsLimitedInSize() {
    SocketIoDialect dialect = v3();
    String big = "x".repeat(SocketIoDialect.MAX_CONNECT_BYTES);
    send(dialect, emit("{\"type\":\"CONNECT\",\"room\":{\"id\":\"r\"},\"payload\":\"" + big + "\"}"));
    assertEquals(List.of(), link.commands);
    assertEquals(ErrorCode.TOO_LARGE, link.rejects.get(0).code());
    assertEquals(new SocketIoDialect.OfType("CONNECT"), link.rejects.get(0).tag());
  }

  // ---- malformed input: one clear error, nothing else ----

  static Stream<Arguments> malformed() {
    String ok = event("OFFER", "r", OTHER.value());
    return Stream.of(
        Arguments.of("", ErrorCode.BAD_MESSAGE),
        Arguments.of("9[\"message\",{}]", ErrorCode.BAD_MESSAGE),
        Arguments.of("x", ErrorCode.BAD_MESSAGE),
        Arguments.of("3[]", ErrorCode.BAD_MESSAGE),
        Arguments.of("4\"nope\"", ErrorCode.BAD_MESSAGE),
        Arguments.of("51-[\"message\",{\"_placeholder\":true,\"num\":0}]", ErrorCode.BINARY_NOT_SUPPORTED),
        Arguments.of("61-3[{\"_placeholder\":true,\"num\":0}]", ErrorCode.BINARY_NOT_SUPPORTED),
        Arguments.of("2", ErrorCode.BAD_MESSAGE),
        Arguments.of("2{\"type\":\"OFFER\"}", ErrorCode.BAD_MESSAGE),
        Arguments.of("2[1," + ok + "]", ErrorCode.BAD_MESSAGE),
        Arguments.of("2[]", ErrorCode.BAD_MESSAGE),
        Arguments.of("2[\"message\"]", ErrorCode.BAD_MESSAGE),
        Arguments.of("2[\"message\",\"text\"]", ErrorCode.BAD_MESSAGE),
        Arguments.of("2[\"message\"," + ok, ErrorCode.BAD_JSON),
        Arguments.of("2[\"message\"," + ok + ",", ErrorCode.BAD_JSON),
        Arguments.of("2[\"message\"," + ok + "]]", ErrorCode.BAD_JSON),
        Arguments.of("2[\"message\",{\"type\":}]", ErrorCode.BAD_JSON),
        Arguments.of("2[\"message\" " + ok + "]", ErrorCode.BAD_JSON),
        Arguments.of("2[\"ipaddr\"]", ErrorCode.UNKNOWN_TYPE),
        Arguments.of("2[\"error\",{}]", ErrorCode.UNKNOWN_TYPE),
        Arguments.of("2" + "1".repeat(17) + emit(ok).substring(1), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"room\":{\"id\":\"r\"}}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":7,\"room\":{\"id\":\"r\"}}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ERROR\"}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ERROR\",\"room\":\"r\"}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ERROR\",\"room\":{\"id\":42}}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ERROR\",\"room\":{\"id\":\"\"}}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ERROR\",\"room\":{\"name\":\"r\"}}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit(event("OFFER", "r", null)), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ANSWER\",\"room\":{\"id\":\"r\"}}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ANSWER\",\"room\":{\"id\":\"r\"},\"callee\":{\"id\":1}}"), ErrorCode.BAD_MESSAGE),
        Arguments.of(emit("{\"type\":\"ANSWER\",\"room\":{\"id\":\"r\"},\"callee\":\"" + OTHER + "\"}"),
            ErrorCode.BAD_MESSAGE));
  }

  @ParameterizedTest
  @MethodSource("malformed")
  void malformedInputGetsOneErrorAndNothingElse(String packet, ErrorCode code) {
    SocketIoDialect dialect = v3();
    send(dialect, packet);
    assertEquals(List.of(), link.commands);
    assertEquals(List.of("0"), link.writes);
    assertEquals(1, link.rejects.size(), () -> "rejects: " + link.rejects);
    assertEquals(code, link.rejects.get(0).code());
  }

  @Test
  void binaryMessagesAreRefused() {
    SocketIoDialect dialect = v3();
    dialect.receive(new byte[] {1, 2, 3}, true);
    assertEquals(List.of(), link.commands);
    assertEquals(ErrorCode.BINARY_NOT_SUPPORTED, link.rejects.get(0).code());
  }

  // ---- errors ----

  @Test
  void errorsAreASignalingErrorEventNamingTheEventType() {
    SocketIoDialect dialect = v3();
    assertEquals("2[\"signaling-error\",{\"code\":\"not-in-room\",\"message\":\"not a member of room \\\"x\\\"\","
            + "\"type\":\"OFFER\"}]",
        text(dialect.encode(new ErrorReply(ErrorCode.NOT_IN_ROOM, "not a member of room \"x\"", new SocketIoDialect.OfType("OFFER")))));
    assertEquals("2[\"signaling-error\",{\"code\":\"rate-limited\",\"message\":\"slow down\"}]",
        text(dialect.encode(new ErrorReply(ErrorCode.RATE_LIMITED, "slow down", null))));
  }

  @Test
  void aFailedJoinIsReportedAsConnect() {
    SocketIoDialect dialect = v3();
    send(dialect, emit(event("CONNECT", "r", null)));
    Join join = last(Join.class);
    deliver(dialect, new ErrorReply(ErrorCode.ROOM_FULL, "room is full", join.tag()));
    assertEquals("2[\"signaling-error\",{\"code\":\"room-full\",\"message\":\"room is full\",\"type\":\"CONNECT\"}]",
        link.writes.get(1));
    // Not a member: a peer-left for it is nobody's business here.
    assertNull(dialect.encode(new PeerLeft(join.room(), OTHER, LeaveReason.DISCONNECT)));
  }

  // ---- a dropped peer ----

  @Test
  void aDroppedPeerBecomesADisconnectWithTheOriginalRoomId() {
    SocketIoDialect dialect = v3();
    RoomId plain = join(dialect, "r").room();
    RoomId hashed = join(dialect, "Salle n°1 \\\"A\\\"").room();
    String expected = "2[\"message\",{\"type\":\"DISCONNECT\",\"room\":{\"id\":%s},\"caller\":{\"id\":\"" + OTHER
        + "\"},\"callee\":null,\"payload\":null}]";
    assertEquals(String.format(expected, "\"r\""),
        text(dialect.encode(new PeerLeft(plain, OTHER, LeaveReason.DISCONNECT))));
    assertEquals(String.format(expected, "\"Salle n°1 \\\"A\\\"\""),
        text(dialect.encode(new PeerLeft(hashed, OTHER, LeaveReason.NODE_LOST))));
    // A peer that left on purpose already sent its own DISCONNECT.
    assertNull(dialect.encode(new PeerLeft(plain, OTHER, LeaveReason.LEAVE)));
  }

  @Test
  void aServerMessageIsAServerMessageEventNamingTheClientsOwnRoom() {
    SocketIoDialect dialect = v3();
    RoomId plain = join(dialect, "r").room();
    RoomId hashed = join(dialect, "Salle n°1").room();
    byte[] data = "{\"notice\":1}".getBytes(StandardCharsets.UTF_8);
    assertEquals("2[\"server-message\",{\"room\":\"r\",\"data\":{\"notice\":1}}]",
        text(dialect.encode(new ServerMessage(plain, new RawJson(data, 0, data.length)))));
    assertEquals("2[\"server-message\",{\"room\":\"Salle n°1\",\"data\":{\"notice\":1}}]",
        text(dialect.encode(new ServerMessage(hashed, new RawJson(data, 0, data.length)))));
    assertNull(dialect.encode(new ServerMessage(RoomId.scoped("sio", "elsewhere"), new RawJson(data, 0, data.length))),
        "not for a room the client is not in");
  }

  @Test
  void aDroppedPeerIsSilentWhenNotWanted() {
    SocketIoDialect dialect = open(3, false);
    RoomId room = join(dialect, "r").room();
    assertNull(dialect.encode(new PeerLeft(room, OTHER, LeaveReason.DISCONNECT)));
    assertNull(dialect.encode(new PeerLeft(room, OTHER, LeaveReason.NODE_LOST)));
  }

  // ---- ordering around joins ----

  @Test
  void messagesWaitForTheJoinBeforeThem() {
    SocketIoDialect dialect = v3();
    send(dialect, emit(event("CONNECT", "r", null)));
    send(dialect, "25" + emit(event("DISCONNECT", "r", null)).substring(1));
    Join join = last(Join.class);
    assertEquals(1, link.commands.size());
    assertEquals(List.of("0"), link.writes);

    String log = "2[\"log\",\"SERVER_LOG\"," + join.metaJson() + "]";
    assertEquals(log, text(deliver(dialect, new Joined(join.room(), link.session.peer(), List.of(), join.tag()))));
    assertInstanceOf(Relay.class, link.commands.get(1));
    assertInstanceOf(Leave.class, link.commands.get(2));
    assertEquals(List.of("0", log, "35[]"), link.writes);
  }

  @Test
  void aFailedJoinReleasesTheMessagesAfterItsError() {
    SocketIoDialect dialect = v3();
    send(dialect, emit(event("CONNECT", "r", null)));
    send(dialect, emit(event("ERROR", "r", null)));
    Join join = last(Join.class);
    deliver(dialect, new ErrorReply(ErrorCode.TOO_MANY_ROOMS, "too many", join.tag()));
    assertTrue(link.writes.get(1).startsWith("2[\"signaling-error\",{\"code\":\"too-many-rooms\""));
    assertInstanceOf(Relay.class, link.log.get(link.log.size() - 1));
  }

  @Test
  void tooManyMessagesDuringAJoinAreRefused() {
    SocketIoDialect dialect = v3();
    send(dialect, emit(event("CONNECT", "r", null)));
    for (int i = 0; i <= SocketIoDialect.MAX_HELD; i++) {
      send(dialect, emit(event("ERROR", "r", null)));
    }
    assertEquals(1, link.rejects.size());
    assertEquals(ErrorCode.RATE_LIMITED, link.rejects.get(0).code());
  }

  // ---- the rest ----

  @Test
  void welcomePongAndRepliesSayNothing() {
    SocketIoDialect dialect = v3();
    RoomId room = RoomId.scoped("sio", "r");
    assertNull(dialect.encode(new Welcome(link.session.peer())));
    assertNull(dialect.encode(new Pong(null)));
    assertNull(deliver(dialect, new Joined(room, link.session.peer(), List.of(), null)));
    assertNull(deliver(dialect, new Left(room, null)));
  }

  @Test
  void onlyEngineIo3And4() {
    assertThrows(IllegalArgumentException.class, () -> new SocketIoDialect(link, 2, true));
    assertThrows(IllegalArgumentException.class, () -> new SocketIoDialect(link, 5, true));
  }
}
