package io.switchboard.signaling;

import io.switchboard.wire.CloseReason;
import io.switchboard.wire.ErrorCode;
import io.switchboard.wire.PeerId;
import io.switchboard.wire.RoomId;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** docs/protocol.md and the code list the same error codes and close codes. */
class ProtocolDocsTest {
  private static final Path PROTOCOL = Path.of("docs", "protocol.md");

  @Test
  void documentsExactlyTheErrorCodesTheServerSends() throws IOException {
    Set<String> documented = tableKeys(section("## Error codes"), "`([a-z-]+)`");
    Set<String> coded = Arrays.stream(ErrorCode.values()).map(ErrorCode::wire).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(coded, documented);
  }

  @Test
  void documentsExactlyTheCloseCodesTheServerSends() throws IOException {
    Set<String> documented = tableKeys(section("## Close codes"), "(\\d{4})");
    Set<String> coded = Arrays.stream(CloseReason.values()).map(r -> String.valueOf(r.code()))
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(coded, documented);
  }

  @Test
  void peerIdsAreUniqueWellFormedAndRejectAnythingElse() {
    java.security.SecureRandom random = new java.security.SecureRandom();
    Set<String> seen = new TreeSet<>();
    for (int i = 0; i < 1000; i++) {
      String id = PeerId.random(random).value();
      assertTrue(PeerId.isWellFormed(id), id);
      assertTrue(seen.add(id), id);
    }
    for (String bad : new String[] {null, "", "short", "A".repeat(21), "A".repeat(23), "A".repeat(21) + "=", "A".repeat(21) + "+"}) {
      assertTrue(!PeerId.isWellFormed(bad), String.valueOf(bad));
    }
  }

  @Test
  void roomNamesFollowTheDocumentedAlphabetAndLength() {
    assertTrue(RoomId.isValid("AZaz09._:-"));
    assertTrue(RoomId.isValid("x".repeat(128)));
    for (String bad : new String[] {null, "", "x".repeat(129), "a b", "a/b", "caf\u00e9", "#", "a\u0000"}) {
      assertTrue(!RoomId.isValid(bad), String.valueOf(bad));
    }
  }

  private static String section(String heading) throws IOException {
    String doc = Files.readString(PROTOCOL);
    int start = doc.indexOf(heading);
    assertTrue(start >= 0, heading + " missing from " + PROTOCOL);
    int end = doc.indexOf("\n## ", start + heading.length());
    return doc.substring(start, end < 0 ? doc.length() : end);
  }

  /** The first-column keys of the markdown table rows in {@code section}. */
  private static Set<String> tableKeys(String section, String keyPattern) {
    Pattern row = Pattern.compile("(?m)^\\|\\s*" + keyPattern + "\\s*\\|");
    Set<String> keys = new TreeSet<>();
    Matcher m = row.matcher(section);
    while (m.find()) {
      keys.add(m.group(1));
    }
    return keys;
  }
}
