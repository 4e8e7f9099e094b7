package io.switchboard.support;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

/**
 * Calls a node's admin port over real HTTP with the JDK's client (bounded by
 * {@link TestClient#WAIT}); blocks the test thread only.
 */
public final class AdminClient {
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(TestClient.WAIT)
      .version(HttpClient.Version.HTTP_1_1)
      .build();
  private final int port;
  private final String key;

  /** @param key sent as {@code Authorization: Bearer <key>}; none when null */
  public AdminClient(int port, String key) {
    this.port = port;
    this.key = key;
  }

  /** An answer: status, body, and the body as JSON when it is a JSON object (else null). */
  public record Answer(int status, String body, Map<String, java.util.List<String>> headers) {
    public JsonObject json() {
      try {
        return new JsonObject(body);
      } catch (RuntimeException e) {
        return null;
      }
    }

    /** {@code error.code} of a refusal, or null. */
    public String errorCode() {
      JsonObject json = json();
      return json == null || json.getJsonObject("error") == null ? null : json.getJsonObject("error").getString("code");
    }

    public String header(String name) {
      return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0)).findFirst().orElse(null);
    }
  }

  public Answer get(String path) {
    return send("GET", path, null, key);
  }

  public Answer post(String path, String body) {
    return send("POST", path, body, key);
  }

  /** Any method, body (none when null) and key (none when null). */
  public Answer send(String method, String path, String body, String key) {
    Wait.requireTestThread();
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(TestClient.WAIT)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    if (key != null) {
      request.header("Authorization", "Bearer " + key);
    }
    try {
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(response.statusCode(), response.body(), response.headers().map());
    } catch (IOException e) {
      throw new UncheckedIOException(method + " " + path, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
