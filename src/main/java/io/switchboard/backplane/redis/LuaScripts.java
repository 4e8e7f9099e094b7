package io.switchboard.backplane.redis;

import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The membership scripts in src/main/resources/redis, run with EVALSHA and, when Redis does not
 * know the script yet (first use, or after a restart), with EVAL, which also caches it.
 */
final class LuaScripts {
  /** One script: its text and SHA-1. */
  record Script(String name, String text, String sha) {}

  static final Script JOIN = load("join");
  static final Script LEAVE = load("leave");
  static final Script REAP = load("reap");
  static final Script REASSERT = load("reassert");
  static final Script DEREGISTER = load("deregister");

  private LuaScripts() {}

  static Future<Response> run(Redis redis, Script script, List<String> keys, List<String> args) {
    return redis.send(request(Command.EVALSHA, script.sha(), keys, args))
        .recover(e -> e.getMessage() != null && e.getMessage().startsWith("NOSCRIPT")
            ? redis.send(request(Command.EVAL, script.text(), keys, args))
            : Future.failedFuture(e));
  }

  private static Request request(Command command, String script, List<String> keys, List<String> args) {
    Request request = Request.cmd(command).arg(script).arg(keys.size());
    keys.forEach(request::arg);
    args.forEach(request::arg);
    return request;
  }

  private static Script load(String name) {
    String path = "/redis/" + name + ".lua";
    try (InputStream in = LuaScripts.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + path);
      }
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      byte[] sha = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
      return new Script(name, text, HexFormat.of().formatHex(sha));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot load " + path, e);
    }
  }
}
