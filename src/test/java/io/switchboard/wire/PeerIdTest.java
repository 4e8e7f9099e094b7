package io.switchboard.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class PeerIdTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  @Test
  void theResumableMarkSurvivesTheTextFormAndEveryFirstCharacterIsReachable() {
    StringBuilder firsts = new StringBuilder();
    for (int i = 0; i < 4000; i++) {
      boolean resumable = i % 2 == 0;
      PeerId id = PeerId.random(RANDOM, resumable);
      assertEquals(resumable, id.resumable(), id.value());
      assertEquals(resumable, new PeerId(id.value()).resumable(), "read back from its text");
      assertTrue(PeerId.isWellFormed(id.value()));
      if (firsts.indexOf(id.value().substring(0, 1)) < 0) {
        firsts.append(id.value().charAt(0));
      }
    }
    assertEquals(64, firsts.length(), "each half of the alphabet starts an id of its kind: " + firsts);
    assertEquals(false, PeerId.random(RANDOM).resumable());
  }
}
