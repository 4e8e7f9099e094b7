package io.switchboard.backplane.redis;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The keyspaces of a Redis Cluster, one per master (as {@code CLUSTER SLOTS} names them, in the
 * order of their addresses), for commands that no key routes, such as SCAN. Each master is
 * reached through a client of its own, made on first use with the seed URL's scheme and
 * credentials, and kept until {@link #close}. Any thread.
 */
final class MasterKeyspaces implements RoomListing.Keyspaces {
  private final Vertx vertx;
  private final Commands commands;
  private final RedisOptions base;
  private final URI seed;
  private final Map<String, Redis> clients = new ConcurrentHashMap<>();

  MasterKeyspaces(Vertx vertx, Commands commands, RedisOptions base, String seedUrl) {
    this.vertx = vertx;
    this.commands = commands;
    this.base = base;
    this.seed = URI.create(seedUrl);
  }

  @Override
  public Future<List<Function<Request, Future<Response>>>> list() {
    return commands.send(Request.cmd(Command.CLUSTER).arg("SLOTS")).map(slots -> {
      TreeSet<String> masters = new TreeSet<>();
      for (String master : SlotWatch.masters(slots)) {
        if (master != null) {
          masters.add(master);
        }
      }
      List<Function<Request, Future<Response>>> spaces = new ArrayList<>(masters.size());
      for (String master : masters) {
        Redis client = clients.computeIfAbsent(master, this::client);
        spaces.add(request -> client.send(request).timeout(commands.timeoutMs(), TimeUnit.MILLISECONDS));
      }
      return spaces;
    });
  }

  Future<Void> close() {
    List<Future<Void>> closed = new ArrayList<>();
    clients.values().forEach(client -> closed.add(client.close()));
    return Future.join(closed).mapEmpty();
  }

  private Redis client(String master) {
    return Redis.createClient(vertx, new RedisOptions(base).setEndpoints(List.of(url(seed, master))).setMaxPoolSize(1));
  }

  /** The URL of {@code master} (host:port, as CLUSTER SLOTS names it), with the seed's scheme and credentials. */
  static String url(URI seed, String master) {
    int colon = master.lastIndexOf(':');
    try {
      return new URI(seed.getScheme(), seed.getRawUserInfo() == null ? null : seed.getUserInfo(),
          master.substring(0, colon), Integer.parseInt(master.substring(colon + 1)), null, null, null).toString();
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("no URL for master " + master, e);
    }
  }
}
