package io.switchboard.admin;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.metrics.AdminMetrics;
import io.switchboard.signaling.Hub;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.micrometer.PrometheusScrapingHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin port: the server API under {@code /api/v1/} (every request needs
 * {@code Authorization: Bearer <ADMIN_API_KEY>}) and {@code /metrics}. One instance per node:
 * operators' calls are few, and none of them blocks its event loop.
 *
 * <p>Every answer is JSON; every refusal is {@code {"error":{"code","message"}}} with the status
 * that fits (400, 401, 403, 404, 405, 413, 503), including the router's own 404, 405 and 413.
 */
public final class AdminServer extends VerticleBase {
  private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
  private static final String UNMATCHED = "unmatched";
  // The templates as patterns on the raw path, so that a request is counted under its route
  // whatever refuses it, authentication included.
  private static final Map<String, Pattern> ROUTE_PATTERNS = AdminApi.ROUTES.stream()
      .collect(Collectors.toMap(template -> template, AdminServer::pathPattern));

  private final SwitchboardConfig config;
  private final PrometheusMeterRegistry registry;
  private final AdminApi api;
  private final AdminMetrics metrics;
  private final ApiKey key;
  private final Buffer openApi;
  private HttpServer server;

  /** @param version this build's version, for {@code GET /api/v1/node} */
  public AdminServer(SwitchboardConfig config, Hub hub, PrometheusMeterRegistry registry, String version) {
    this.config = config;
    this.registry = registry;
    this.api = new AdminApi(hub, config.nodeId(), version);
    this.metrics = new AdminMetrics(registry, AdminApi.ROUTES);
    this.key = config.adminApiKey().isEmpty() ? null : new ApiKey(config.adminApiKey());
    this.openApi = resource("/admin/openapi.json");
  }

  /** The port bound; valid once started. */
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.get("/metrics").handler(PrometheusScrapingHandler.create(registry));

    router.route("/api/v1/*").handler(this::count).handler(this::authenticate);
    answer(router.get(routerPath(AdminApi.ROOMS)), api::rooms);
    answer(router.get(routerPath(AdminApi.ROOM)), api::room);
    answer(router.post(routerPath(AdminApi.PEER_DISCONNECT)).handler(body()), api::disconnect);
    answer(router.post(routerPath(AdminApi.ROOM_MESSAGES)).handler(body()), api::message);
    answer(router.get(routerPath(AdminApi.NODE)), api::node);
    router.get(AdminApi.OPENAPI).handler(rc -> {
      rc.response().putHeader("Content-Type", "application/json").end(openApi);
    });

    router.errorHandler(404, rc -> refuse(rc, new ApiError(404, "not-found", "no such path: " + rc.request().path())));
    router.errorHandler(405, rc -> refuse(rc, new ApiError(405, "method-not-allowed",
        rc.request().method() + " is not allowed on " + rc.request().path())));
    router.errorHandler(413, rc -> refuse(rc, new ApiError(413, "payload-too-large",
        "the body is larger than " + config.maxMessageBytes() + " bytes (MAX_MESSAGE_BYTES)")));
    router.errorHandler(500, rc -> {
      log.error("server API request {} {} failed", rc.request().method(), rc.request().path(), rc.failure());
      refuse(rc, new ApiError(500, "internal", "internal error"));
    });

    server = vertx.createHttpServer(new HttpServerOptions().setHost(config.host()).setPort(config.adminPort()))
        .requestHandler(router);
    return server.listen();
  }

  @Override
  public Future<?> stop() {
    return server.shutdown(config.shutdownGraceSeconds(), TimeUnit.SECONDS);
  }

  private void answer(io.vertx.ext.web.Route route, Function<RoutingContext, Future<JsonObject>> endpoint) {
    route.handler(rc -> {
      Future<JsonObject> answer;
      try {
        answer = endpoint.apply(rc);
      } catch (ApiError e) {
        answer = Future.failedFuture(e);
      }
      // The hub's futures may complete on a backplane thread; the response is written here.
      answer.onComplete(ar -> context.runOnContext(v -> {
        if (ar.succeeded()) {
          rc.json(ar.result());
        } else if (ar.cause() instanceof ApiError e) {
          refuse(rc, e);
        } else {
          rc.fail(ar.cause());
        }
      }));
    });
  }

  private void count(RoutingContext rc) {
    String path = rc.request().path();
    String route = ROUTE_PATTERNS.entrySet().stream().filter(e -> e.getValue().matcher(path).matches())
        .map(Map.Entry::getKey).findFirst().orElse(UNMATCHED);
    rc.addEndHandler(ar -> metrics.request(route, rc.response().getStatusCode()));
    rc.next();
  }

  private void authenticate(RoutingContext rc) {
    if (key == null) {
      refuse(rc, new ApiError(403, "api-key-not-configured",
          "ADMIN_API_KEY is not set on this node, so its server API refuses every request"));
      return;
    }
    String authorization = rc.request().getHeader("Authorization");
    if (!key.admits(authorization)) {
      rc.response().putHeader("WWW-Authenticate", "Bearer realm=\"switchboard-admin\"");
      refuse(rc, new ApiError(401, "unauthorized", authorization == null
          ? "missing Authorization: Bearer <ADMIN_API_KEY>" : "wrong API key"));
      return;
    }
    rc.next();
  }

  private BodyHandler body() {
    return BodyHandler.create(false).setBodyLimit(config.maxMessageBytes());
  }

  private static void refuse(RoutingContext rc, ApiError error) {
    if (rc.response().ended()) {
      return;
    }
    rc.response().setStatusCode(error.status());
    rc.json(new JsonObject().put("error", new JsonObject().put("code", error.code()).put("message", error.getMessage())));
  }

  /** A path template with {@code {name}} parameters in the router's {@code :name} form. */
  private static String routerPath(String template) {
    return template.replaceAll("\\{([a-z]+)}", ":$1");
  }

  /** A path template as a pattern on the raw path: {@code {name}} is one segment, the rest literal. */
  private static Pattern pathPattern(String template) {
    return Pattern.compile(Arrays.stream(template.split("/"))
        .map(segment -> segment.matches("\\{[a-z]+}") ? "[^/]+" : Pattern.quote(segment))
        .collect(Collectors.joining("/")));
  }

  private static Buffer resource(String path) {
    try (InputStream in = AdminServer.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException(path + " is missing from the build");
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
