package io.switchboard.backplane.redis;

import io.switchboard.signaling.port.RoomPage;
import io.switchboard.wire.RoomId;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/**
 * Pages of the cluster's rooms, walked with {@code SCAN} over the rooms' member hashes and counted
 * with {@code HLEN} (pipelined, one round trip per page).
 *
 * <p>A page may end inside one SCAN batch, so the cursor it hands out is the SCAN cursor that
 * produced the batch and the last room taken from it: the next page scans from the same cursor
 * again and takes the rooms after that one, each batch sorted by name. A room that keeps its
 * members during the whole walk is therefore listed at least once, however the keyspace changes
 * (SCAN's own guarantee); one created or emptied meanwhile may or may not be.
 *
 * <p>On a Redis Cluster SCAN walks one master's keyspace, so the walk goes through every master in
 * turn (in the order of their addresses, read again for each page) and the cursor names the
 * master too. A failover or a slot migration during a walk may make it list a room twice or miss
 * one.
 *
 * <p>Touches no state: any thread.
 */
final class RoomListing {
  /** SCAN calls one page may take, for a keyspace where matches are sparse. */
  static final int MAX_SCANS_PER_PAGE = 16;

  /** The keyspaces a walk goes through: one on a standalone server, one per master on a cluster. */
  interface Keyspaces {
    /** Something that sends a command to each keyspace, in a stable order. */
    Future<List<Function<Request, Future<Response>>>> list();
  }

  private final Commands commands;
  private final RedisKeys keys;
  private final Keyspaces keyspaces;

  RoomListing(Commands commands, RedisKeys keys, Keyspaces keyspaces) {
    this.commands = commands;
    this.keys = keys;
    this.keyspaces = keyspaces;
  }

  /** The one keyspace of a standalone (or Sentinel-managed) server, reached through {@code commands}. */
  static Keyspaces single(Commands commands) {
    return () -> Future.succeededFuture(List.of(commands::send));
  }

  Future<RoomPage> page(String cursor, int limit) {
    Position from;
    try {
      from = cursor == null ? new Position("0", null) : Position.decode(cursor);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new IllegalArgumentException("not a cursor of this backplane", e));
    }
    long deadline = System.nanoTime() + commands.timeoutMs() * 1_000_000L;
    return keyspaces.list().compose(spaces -> from.keyspace() >= spaces.size()
        ? Future.failedFuture(new IllegalArgumentException("not a cursor of this backplane: no keyspace "
            + from.keyspace()))
        : walk(spaces, from, limit, new ArrayList<>(), MAX_SCANS_PER_PAGE, deadline));
  }

  private Future<RoomPage> walk(List<Function<Request, Future<Response>>> spaces, Position from, int limit,
      List<RoomId> found, int scansLeft, long deadline) {
    // Each room has two keys (members and seq), and other keys share the keyspace.
    int count = Math.max(100, limit * 2);
    return spaces.get(from.keyspace()).apply(Request.cmd(Command.SCAN).arg(from.scan()).arg("MATCH")
            .arg(keys.membersPattern()).arg("COUNT").arg(count))
        .compose(reply -> {
          String next = reply.get(0).toString();
          List<RoomId> batch = new ArrayList<>();
          for (Response key : reply.get(1)) {
            RoomId room = keys.roomOfMembers(key.toString());
            if (room != null && (from.after() == null || room.value().compareTo(from.after()) > 0)) {
              batch.add(room);
            }
          }
          batch.sort(Comparator.comparing(RoomId::value));
          int take = Math.min(batch.size(), limit - found.size());
          found.addAll(batch.subList(0, take));
          Position resume;
          if (take < batch.size()) {
            resume = new Position(from.keyspace(), from.scan(), found.get(found.size() - 1).value());
          } else if ("0".equals(next) && from.keyspace() + 1 == spaces.size()) {
            resume = null;
          } else {
            Position after = "0".equals(next) ? new Position(from.keyspace() + 1, "0", null)
                : new Position(from.keyspace(), next, null);
            if (found.size() == limit || scansLeft <= 1 || System.nanoTime() > deadline) {
              // A page may come back short; its cursor still continues the walk.
              resume = after;
            } else {
              return walk(spaces, after, limit, found, scansLeft - 1, deadline);
            }
          }
          return counted(found, resume == null ? null : resume.encode());
        });
  }

  private Future<RoomPage> counted(List<RoomId> rooms, String nextCursor) {
    if (rooms.isEmpty()) {
      return Future.succeededFuture(new RoomPage(List.of(), nextCursor));
    }
    List<Request> lengths = rooms.stream().map(room -> Request.cmd(Command.HLEN).arg(keys.members(room))).toList();
    return commands.batch(lengths, "rooms").map(replies -> {
      List<RoomPage.RoomCount> page = new ArrayList<>(rooms.size());
      for (int i = 0; i < rooms.size(); i++) {
        int members = replies.get(i).toInteger();
        if (members > 0) { // emptied since the scan
          page.add(new RoomPage.RoomCount(rooms.get(i), members));
        }
      }
      return new RoomPage(page, nextCursor);
    });
  }

  /**
   * Where a walk resumes: a keyspace (0 on a standalone server), its SCAN cursor, and the last room
   * already taken from its batch (or null). Encoded as "[KEYSPACE.]SCAN[:ROOM]", the keyspace left
   * out when it is 0.
   */
  private record Position(int keyspace, String scan, String after) {
    Position(String scan, String after) {
      this(0, scan, after);
    }

    String encode() {
      String plain = (keyspace == 0 ? "" : keyspace + ".") + (after == null ? scan : scan + ":" + after);
      return Base64.getUrlEncoder().withoutPadding().encodeToString(plain.getBytes(StandardCharsets.UTF_8));
    }

    static Position decode(String cursor) {
      String plain = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
      int keyspace = 0;
      int dot = plain.indexOf('.');
      int colon = plain.indexOf(':');
      if (dot >= 0 && (colon < 0 || dot < colon)) {
        if (!plain.substring(0, dot).matches("[1-9][0-9]{0,3}")) {
          throw new IllegalArgumentException("bad cursor");
        }
        keyspace = Integer.parseInt(plain.substring(0, dot));
        plain = plain.substring(dot + 1);
        colon = plain.indexOf(':');
      }
      String scan = colon < 0 ? plain : plain.substring(0, colon);
      String after = colon < 0 ? null : plain.substring(colon + 1);
      if (!scan.matches("[0-9]{1,20}") || after != null && RoomId.parse(after) == null) {
        throw new IllegalArgumentException("bad cursor");
      }
      return new Position(keyspace, scan, after);
    }
  }
}
