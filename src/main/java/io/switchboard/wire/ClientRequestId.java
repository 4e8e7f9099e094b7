package io.switchboard.wire;

/**
 * The {@code id} a client put on a request, as the raw JSON text it sent ({@code "abc"} with its
 * quotes, or {@code 7}), echoed unchanged in the reply.
 */
public record ClientRequestId(String json) implements RequestTag {
  /** The tag for {@code json}, or null when the request had no id. */
  public static ClientRequestId of(String json) {
    return json == null ? null : new ClientRequestId(json);
  }
}
