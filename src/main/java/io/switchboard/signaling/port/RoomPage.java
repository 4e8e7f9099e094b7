package io.switchboard.signaling.port;

import io.switchboard.wire.RoomId;
import java.util.List;

/**
 * One page of the rooms that have members anywhere in the cluster, and the cursor of the next
 * page ({@code null} after the last). The cursor is opaque: only the backplane that made it reads
 * it.
 */
public record RoomPage(List<RoomCount> rooms, String nextCursor) {
  public RoomPage {
    rooms = List.copyOf(rooms);
  }

  /** A room and how many members it has on all nodes. */
  public record RoomCount(RoomId room, int members) {}
}
