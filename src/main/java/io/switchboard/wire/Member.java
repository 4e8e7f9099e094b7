package io.switchboard.wire;

/**
 * A room member as others see it: its peer id and the raw JSON object it joined with
 * ({@code "{}"} when it gave none).
 */
public record Member(PeerId peer, String metaJson) {
  public static final String EMPTY_META = "{}";

  public Member {
    if (metaJson == null) {
      metaJson = EMPTY_META;
    }
  }
}
