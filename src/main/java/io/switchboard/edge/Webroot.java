package io.switchboard.edge;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The browser side served by every node: {@code /switchboard.js} (the client library) and the
 * demo page at {@code /}, from {@code webroot/} on the classpath (docs/client.md).
 */
final class Webroot {
  private static final String DIR = "webroot";

  private Webroot() {
  }

  /** Serves the files on GET and HEAD; a path with no file falls through to the router's 404. */
  static void mount(Router router) {
    StaticHandler files = StaticHandler.create(DIR)
        .setDirectoryListing(false)
        .setIncludeHidden(false)
        .setDefaultContentEncoding("UTF-8");
    router.route().method(HttpMethod.GET).method(HttpMethod.HEAD).handler(rc -> {
      rc.addHeadersEndHandler(v -> {
        if (rc.response().getStatusCode() < 400) {
          // The URLs carry no version and change with each server upgrade: a browser may keep
          // its copy but must revalidate it (a cheap 304) before each use, never run a stale one.
          rc.response().headers()
              .set(HttpHeaders.CACHE_CONTROL, "no-cache")
              .set("X-Content-Type-Options", "nosniff");
        }
      });
      rc.next();
    }).handler(files);
  }
}
