package io.switchboard.backplane.redis;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The membership and session scripts in src/main/resources/redis, run with EVALSHA and, when
 * Redis does not know the script yet (first use, or after a restart), with EVAL, which also
 * caches it.
 */
final class LuaScripts {
  /** One script: its text and SHA-1. */
  record Script(String name, String text, String sha) {}

  static final Script JOIN = load("join");
  static final Script LEAVE = load("leave");
  static final Script DEAD = load("dead");
  static final Script REAP_ROOM = load("reaproom");
  static final Script BURY = load("bury");
  static final Script REASSERT = load("reassert");
  static final Script DEREGISTER = load("deregister");
  static final Script PUBLISH = load("publish", "buffer");
  /** publish.lua for a Redis Cluster, whose shard subscribers hear only SPUBLISH. */
  static final Script SHARDED_PUBLISH = withCommand(PUBLISH, "PUBLISH", "SPUBLISH");
  static final Script REGISTER = load("register");
  static final Script ACK = load("ack");
  static final Script BOUND = load("bound", "buffer");
  static final Script SUSPEND = load("suspend");
  static final Script CLAIM = load("claim");
  static final Script EXPIRE = load("expire");
  static final Script FORGET = load("forget");
  // Only in the spread layout of a Redis Cluster.
  static final Script REBIND = load("rebind");
  static final Script ENDED = load("ended");
  static final Script ORPHAN = load("orphan");
  static final Script UNINDEX = load("unindex");
  static final Script SESSION_ROOM = load("sessionroom");

  private LuaScripts() {}

  static Future<Response> run(Redis redis, Script script, List<String> keys, List<String> args) {
    return run(redis::send, script, keys, args.stream().map(Buffer::buffer).toList());
  }

  /** On one connection, whose commands Redis runs in the order sent; arguments may be binary. */
  static Future<Response> run(RedisConnection connection, Script script, List<String> keys, List<Buffer> args) {
    return run(connection::send, script, keys, args);
  }

  /**
   * On one connection, in one pipeline with {@code after}, so that both run on the same server
   * (on a Redis Cluster: the master of the script's keys); answers both replies.
   */
  static Future<List<Response>> runThen(RedisConnection connection, Script script, List<String> keys,
      List<Buffer> args, Request after) {
    // A batch's error names the failed command's place first ("ERR [0] NOSCRIPT ...").
    return connection.batch(List.of(request(Command.EVALSHA, script.sha(), keys, args), after))
        .recover(e -> e.getMessage() != null && e.getMessage().contains("NOSCRIPT")
            ? connection.batch(List.of(request(Command.EVAL, script.text(), keys, args), after))
            : Future.failedFuture(e));
  }

  /**
   * The script as an EVAL, for a pipeline of its own: there a NOSCRIPT could not be answered by
   * sending the text after all, as {@link #run} does.
   */
  static Request eval(Script script, List<String> keys, List<String> args) {
    return request(Command.EVAL, script.text(), keys, args.stream().map(Buffer::buffer).toList());
  }

  /** SCRIPT LOAD, so that a later EVALSHA on {@code connection} finds the script. */
  static Future<Response> load(RedisConnection connection, Script script) {
    return connection.send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(script.text()));
  }

  private static Future<Response> run(Function<Request, Future<Response>> send, Script script, List<String> keys,
      List<Buffer> args) {
    return send.apply(request(Command.EVALSHA, script.sha(), keys, args))
        .recover(e -> e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")
            ? send.apply(request(Command.EVAL, script.text(), keys, args))
            : Future.failedFuture(e));
  }

  private static Request request(Command command, String script, List<String> keys, List<Buffer> args) {
    Request request = Request.cmd(command).arg(script).arg(keys.size());
    keys.forEach(request::arg);
    args.forEach(request::arg);
    return request;
  }

  private static Script withCommand(Script script, String command, String replacement) {
    String call = "redis.call('" + command + "',";
    if (!script.text().contains(call)) {
      throw new IllegalStateException(script.name() + ".lua has no " + call);
    }
    String text = script.text().replace(call, "redis.call('" + replacement + "',");
    return new Script(script.name() + "-" + replacement.toLowerCase(Locale.ROOT), text, sha(text));
  }

  private static String sha(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The script {@code name}, after the text of {@code library}, whose functions it calls, if any. */
  private static Script load(String name, String... library) {
    StringBuilder text = new StringBuilder();
    for (String part : library) {
      text.append(resource(part)).append('\n');
    }
    text.append(resource(name));
    return new Script(name, text.toString(), sha(text.toString()));
  }

  private static String resource(String name) {
    String path = "/redis/" + name + ".lua";
    try (InputStream in = LuaScripts.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot load " + path, e);
    }
  }
}
