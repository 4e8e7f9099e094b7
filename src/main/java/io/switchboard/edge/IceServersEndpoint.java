package io.switchboard.edge;

import io.switchboard.security.ClientRequest;
import io.switchboard.security.Refused;
import io.switchboard.wire.PeerId;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.security.SecureRandom;

/**
 * {@code GET /ice-servers}: the ICE servers (STUN URLs, TURN URLs with fresh credentials) for
 * clients that do not read them from the native {@code welcome}, such as the other dialects'
 * clients or a page that sets up its RTCPeerConnection before it connects (docs/security.md).
 *
 * <p>With authentication on, the request needs a valid token ({@code Authorization: Bearer} or
 * {@code ?access_token=}); 401 otherwise. With it off, anyone who can reach the node gets
 * credentials, exactly as anyone can open {@code /ws} and read them from its welcome. Each
 * request counts against its address's connection rate ({@code CONNECTIONS_PER_IP_PER_SECOND}).
 * The TURN username's user id is a fresh random id of the peer id's form. Browsers on an origin
 * of {@code ALLOWED_ORIGINS} (any, when it is empty) may read the answer cross-origin.
 */
final class IceServersEndpoint implements Handler<RoutingContext> {
  static final String PATH = "/ice-servers";

  private final Node node;
  private final SecureRandom random = new SecureRandom();

  IceServersEndpoint(Node node) {
    this.node = node;
  }

  @Override
  public void handle(RoutingContext rc) {
    HttpServerRequest request = rc.request();
    HttpServerResponse response = rc.response();
    String origin = request.getHeader("Origin");
    if (origin != null) {
      if (!node.originAllowed(origin)) {
        node.metrics.connectionRejected("origin");
        response.setStatusCode(403).end();
        return;
      }
      response.putHeader("Access-Control-Allow-Origin", origin).putHeader("Vary", "Origin");
    }
    if (request.method() == HttpMethod.OPTIONS) {
      response.putHeader("Access-Control-Allow-Methods", "GET, OPTIONS")
          .putHeader("Access-Control-Allow-Headers", "Authorization")
          .setStatusCode(204).end();
      return;
    }
    if (request.method() != HttpMethod.GET) {
      response.putHeader("Allow", "GET, OPTIONS").setStatusCode(405).end();
      return;
    }
    try {
      node.check(new ClientRequest(request.headers(), request.query(), request.remoteAddress()));
    } catch (Refused refused) {
      if (refused.status() == 401) {
        response.putHeader("WWW-Authenticate", "Bearer");
      } else if (refused.status() == 429) {
        response.putHeader("Retry-After", "1");
      }
      response.setStatusCode(refused.status()).end();
      return;
    }
    JsonArray servers = node.iceServers.forUser(PeerId.random(random).value(), System.currentTimeMillis() / 1000);
    JsonObject body = new JsonObject().put("iceServers", servers == null ? new JsonArray() : servers);
    if (node.config.ice().turnEnabled()) {
      body.put("ttl", node.iceServers.ttlSeconds());
    }
    response.putHeader("Cache-Control", "no-store");
    rc.json(body);
  }
}
