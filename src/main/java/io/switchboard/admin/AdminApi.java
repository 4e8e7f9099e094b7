package io.switchboard.admin;

import io.switchboard.signaling.Hub;
import io.switchboard.signaling.port.JoinResult;
import io.switchboard.signaling.port.RoomPage;
import io.switchboard.wire.CloseReason;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RawJson;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The endpoints of the server API, each a function from a request to a future JSON answer; the
 * {@link AdminServer} routes, authenticates and writes them. Every call reaches the cluster
 * through the hub and never blocks.
 */
final class AdminApi {
  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 1000;
  /** What a WebSocket close frame leaves for its reason: 125 bytes of payload less the code. */
  static final int MAX_REASON_BYTES = 123;

  /** Path templates, as the router and the OpenAPI document name them. */
  static final String ROOMS = "/api/v1/rooms";
  static final String ROOM = "/api/v1/rooms/{room}";
  static final String ROOM_MESSAGES = "/api/v1/rooms/{room}/messages";
  static final String PEER_DISCONNECT = "/api/v1/peers/{peer}/disconnect";
  static final String NODE = "/api/v1/node";
  static final String OPENAPI = "/api/v1/openapi.json";
  static final List<String> ROUTES = List.of(ROOMS, ROOM, ROOM_MESSAGES, PEER_DISCONNECT, NODE, OPENAPI);

  private static final Map<String, String> DIALECT_OF_SCOPE = Map.of("relay", "relay", "sio", "socketio",
      "direct", "direct");

  private final Hub hub;
  private final String nodeId;
  private final String version;

  AdminApi(Hub hub, String nodeId, String version) {
    this.hub = hub;
    this.nodeId = nodeId;
    this.version = version;
  }

  Future<JsonObject> rooms(RoutingContext rc) {
    int limit = limit(rc.queryParams().get("limit"));
    String cursor = rc.queryParams().get("cursor");
    if (cursor != null && cursor.isEmpty()) {
      throw ApiError.badRequest("cursor must be a next_cursor from an earlier page");
    }
    return hub.rooms(cursor, limit).recover(e -> Future.failedFuture(e instanceof IllegalArgumentException
            ? ApiError.badRequest("cursor is not a next_cursor of this cluster") : unavailable(e)))
        .map(page -> {
          JsonArray rooms = new JsonArray();
          for (RoomPage.RoomCount count : page.rooms()) {
            rooms.add(describe(count.room()).put("members", count.members()));
          }
          return new JsonObject().put("rooms", rooms).put("next_cursor", page.nextCursor());
        });
  }

  Future<JsonObject> room(RoutingContext rc) {
    RoomId room = room(rc.pathParam("room"));
    return hub.members(room).recover(e -> Future.failedFuture(unavailable(e))).map(members -> {
      if (members.isEmpty()) {
        throw roomNotFound(room);
      }
      JsonArray out = new JsonArray();
      for (JoinResult.Placed placed : members) {
        out.add(new JsonObject()
            .put("peer", placed.member().peer().value())
            .put("node", placed.node())
            .put("meta", Json.decodeValue(placed.member().metaJson())));
      }
      return describe(room).put("members", out);
    });
  }

  Future<JsonObject> disconnect(RoutingContext rc) {
    PeerId peer = peer(rc.pathParam("peer"));
    JsonObject body = object(rc.body().buffer(), true);
    only(body, Set.of("code", "reason"));
    int code = CloseReason.DISCONNECTED.code();
    if (body.containsKey("code")) {
      Object value = body.getValue("code");
      if (!(value instanceof Integer n) || n < 4000 || n > 4999) {
        throw ApiError.badRequest("code must be an integer 4000-4999 (an application close code)");
      }
      code = n;
    }
    String reason = CloseReason.DISCONNECTED.text();
    if (body.containsKey("reason")) {
      if (!(body.getValue("reason") instanceof String text)
          || text.getBytes(StandardCharsets.UTF_8).length > MAX_REASON_BYTES) {
        throw ApiError.badRequest("reason must be a string of at most " + MAX_REASON_BYTES + " bytes of UTF-8");
      }
      reason = text;
    }
    int closeCode = code;
    String closeReason = reason;
    return hub.disconnect(peer, code, reason).recover(e -> Future.failedFuture(unavailable(e))).map(done -> {
      if (!done) {
        throw peerNotFound(peer);
      }
      return new JsonObject().put("peer", peer.value()).put("code", closeCode).put("reason", closeReason);
    });
  }

  Future<JsonObject> message(RoutingContext rc) {
    RoomId room = room(rc.pathParam("room"));
    JsonObject body = object(rc.body().buffer(), false);
    only(body, Set.of("data", "to"));
    if (!body.containsKey("data")) {
      throw ApiError.badRequest("data is required (any JSON value)");
    }
    PeerId to = null;
    if (body.containsKey("to")) {
      if (!(body.getValue("to") instanceof String id) || !PeerId.isWellFormed(id)) {
        throw ApiError.badRequest("to must be a peer id");
      }
      to = new PeerId(id);
    }
    byte[] data = Json.encodeToBuffer(body.getValue("data")).getBytes();
    PeerId target = to;
    return hub.sendFromServer(room, to, new RawJson(data, 0, data.length))
        .recover(e -> Future.failedFuture(unavailable(e)))
        .map(sent -> {
          if (sent.roomMembers() == 0) {
            throw roomNotFound(room);
          }
          if (sent.recipients() == 0) {
            throw new ApiError(404, "peer-not-found", "peer " + target + " is not in room " + room);
          }
          return describe(room).put("recipients", sent.recipients());
        });
  }

  Future<JsonObject> node(RoutingContext rc) {
    return Future.succeededFuture(new JsonObject()
        .put("node", nodeId)
        .put("version", version)
        .put("connections", hub.sessionCount())
        .put("rooms", hub.roomCount()));
  }

  /**
   * A room as the API shows it: {@code room} is its id (what the paths take), {@code dialect} the
   * protocol whose clients are in it, {@code name} the name those clients used, or null when the
   * dialect keeps only a hash of it.
   */
  static JsonObject describe(RoomId room) {
    String id = room.value();
    if (!id.startsWith("#")) {
      return new JsonObject().put("room", id).put("dialect", "native").put("name", id);
    }
    int split = 1;
    while (id.charAt(split) >= 'a' && id.charAt(split) <= 'z') {
      split++;
    }
    String scope = id.substring(1, split);
    return new JsonObject()
        .put("room", id)
        .put("dialect", DIALECT_OF_SCOPE.getOrDefault(scope, scope))
        .put("name", id.charAt(split) == ':' ? id.substring(split + 1) : null);
  }

  private static int limit(String text) {
    if (text == null) {
      return DEFAULT_LIMIT;
    }
    try {
      int limit = Integer.parseInt(text);
      if (limit >= 1 && limit <= MAX_LIMIT) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // answered below, like an integer out of range
    }
    throw ApiError.badRequest("limit must be an integer 1-" + MAX_LIMIT);
  }

  private static RoomId room(String id) {
    RoomId room = RoomId.parse(id);
    if (room == null) {
      throw new ApiError(404, "room-not-found", "no room can be called " + quoted(id));
    }
    return room;
  }

  private static PeerId peer(String id) {
    if (!PeerId.isWellFormed(id)) {
      throw new ApiError(404, "peer-not-found", "no peer can be called " + quoted(id));
    }
    return new PeerId(id);
  }

  /** The body as a JSON object; an empty body is an empty object when {@code optional}. */
  private static JsonObject object(Buffer body, boolean optional) {
    if (body == null || body.length() == 0) {
      if (optional) {
        return new JsonObject();
      }
      throw ApiError.badRequest("a JSON object body is required");
    }
    Object value;
    try {
      value = Json.decodeValue(body);
    } catch (DecodeException e) {
      throw ApiError.badRequest("the body is not JSON");
    }
    if (!(value instanceof JsonObject object)) {
      throw ApiError.badRequest("the body must be a JSON object");
    }
    return object;
  }

  // A misspelt field would otherwise be ignored silently, and its default used.
  private static void only(JsonObject body, Set<String> fields) {
    List<String> unknown = new ArrayList<>();
    for (String name : body.fieldNames()) {
      if (!fields.contains(name)) {
        unknown.add(name);
      }
    }
    if (!unknown.isEmpty()) {
      throw ApiError.badRequest("unknown field(s) " + unknown + "; expected " + fields);
    }
  }

  private static ApiError roomNotFound(RoomId room) {
    return new ApiError(404, "room-not-found", "room " + room + " has no members");
  }

  private static ApiError peerNotFound(PeerId peer) {
    return new ApiError(404, "peer-not-found", "no node holds peer " + peer);
  }

  private static ApiError unavailable(Throwable cause) {
    return new ApiError(503, "backplane-unavailable", "the cluster did not answer: " + cause.getMessage() + "; retry");
  }

  private static String quoted(String text) {
    String cut = text.length() > 64 ? text.substring(0, 64) + "..." : text;
    return Json.encode(cut);
  }
}
