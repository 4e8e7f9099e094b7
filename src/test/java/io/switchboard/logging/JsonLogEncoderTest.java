package io.switchboard.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.KeyValuePair;

/** The JSON log line: node, room and peer as top-level fields, one object per line. */
class JsonLogEncoderTest {
  private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
  private final Logger logger = context.getLogger("io.switchboard.test");
  private final ObjectMapper json = new ObjectMapper();

  private JsonLogEncoder encoder(String node) {
    JsonLogEncoder encoder = new JsonLogEncoder();
    encoder.setContext(context);
    encoder.setNode(node);
    encoder.start();
    return encoder;
  }

  private LoggingEvent event(String message, Throwable cause, Object... args) {
    return new LoggingEvent(Logger.class.getName(), logger, Level.INFO, message, cause, args);
  }

  @Test
  void keyValuePairsAndTheNodeAreTopLevelFields() throws Exception {
    LoggingEvent event = event("join of room {} failed", null, "call-1");
    event.addKeyValuePair(new KeyValuePair("room", "call-1"));
    event.addKeyValuePair(new KeyValuePair("peer", "q3XbH0Tz1kY8sWmPa2LcRw"));
    String line = new String(encoder("switchboard-5d9c7b6f4-x2x9q").encode(event), StandardCharsets.UTF_8);
    assertTrue(line.endsWith("}\n") && line.indexOf('\n') == line.length() - 1, "one line: " + line);
    JsonNode entry = json.readTree(line);
    assertEquals("switchboard-5d9c7b6f4-x2x9q", entry.path("node").asText());
    assertEquals("call-1", entry.path("room").asText());
    assertEquals("q3XbH0Tz1kY8sWmPa2LcRw", entry.path("peer").asText());
    assertEquals("join of room call-1 failed", entry.path("message").asText());
    assertEquals("INFO", entry.path("level").asText());
    assertEquals("io.switchboard.test", entry.path("logger").asText());
    assertTrue(entry.path("timestamp").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), entry.toString());
  }

  @Test
  void mdcEntriesAreFieldsAndAnExceptionIsOneStringField() throws Exception {
    LoggingEvent event = event("failed", new IllegalStateException("boom"));
    event.setMDCPropertyMap(Map.of("room", "r"));
    JsonNode entry = json.readTree(encoder("a").encode(event));
    assertEquals("r", entry.path("room").asText());
    assertTrue(entry.path("exception").asText().contains("java.lang.IllegalStateException: boom"));
  }

  @Test
  void aKeyValuePairCannotOverwriteAFixedFieldAndNoNodeMeansNoField() throws Exception {
    LoggingEvent event = event("hello", null);
    event.addKeyValuePair(new KeyValuePair("level", "ERROR"));
    event.addKeyValuePair(new KeyValuePair("message", "forged"));
    JsonNode entry = json.readTree(encoder("").encode(event));
    assertEquals("INFO", entry.path("level").asText());
    assertEquals("hello", entry.path("message").asText());
    assertEquals("ERROR", entry.path("kv_level").asText());
    assertEquals("forged", entry.path("kv_message").asText());
    assertFalse(entry.has("node"));
  }
}
