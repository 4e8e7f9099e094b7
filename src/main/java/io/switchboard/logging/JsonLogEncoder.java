package io.switchboard.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.slf4j.event.KeyValuePair;

/**
 * One JSON object per line, with {@code node}, {@code room} and {@code peer} as top-level fields
 * that log collectors can filter on, where logback's own JsonEncoder would nest them under
 * {@code mdc} or in a {@code kvpList} array.
 *
 * <p>{@code node} comes from configuration (every line of a process has it); the others from the
 * event's SLF4J key-value pairs ({@code log.atInfo().addKeyValue("room", room)}) or its MDC.
 * Fields: {@code timestamp} (ISO-8601, UTC), {@code level}, {@code logger}, {@code thread},
 * {@code node}, then key-value pairs and MDC entries, {@code message}, and {@code exception}
 * with the stack trace when there is one. A key-value pair that would overwrite one of the fixed
 * fields is written with a {@code kv_} prefix instead, so a log call cannot forge them.
 */
public final class JsonLogEncoder extends EncoderBase<ILoggingEvent> {
  private static final Set<String> FIXED = Set.of("timestamp", "level", "logger", "thread", "node", "message", "exception");
  private static final byte[] NO_HEADER = new byte[0];

  private final JsonFactory json = new JsonFactory();
  private String node = "";

  /** The node's id ({@code NODE_ID}); logback sets it from the configuration file. */
  public void setNode(String node) {
    this.node = node == null ? "" : node;
  }

  @Override
  public byte[] headerBytes() {
    return NO_HEADER;
  }

  @Override
  public byte[] footerBytes() {
    return NO_HEADER;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = json.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("timestamp", Instant.ofEpochMilli(event.getTimeStamp()).toString());
      g.writeStringField("level", event.getLevel().toString());
      g.writeStringField("logger", event.getLoggerName());
      g.writeStringField("thread", event.getThreadName());
      if (!node.isEmpty()) {
        g.writeStringField("node", node);
      }
      if (event.getKeyValuePairs() != null) {
        for (KeyValuePair pair : event.getKeyValuePairs()) {
          g.writeStringField(field(pair.key), String.valueOf(pair.value));
        }
      }
      Map<String, String> mdc = event.getMDCPropertyMap();
      if (mdc != null) {
        for (Map.Entry<String, String> entry : mdc.entrySet()) {
          g.writeStringField(field(entry.getKey()), entry.getValue());
        }
      }
      g.writeStringField("message", event.getFormattedMessage());
      if (event.getThrowableProxy() != null) {
        g.writeStringField("exception", ThrowableProxyUtil.asString(event.getThrowableProxy()));
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    out.write('\n');
    return out.toByteArray();
  }

  private static String field(String key) {
    return FIXED.contains(key) ? "kv_" + key : key;
  }
}
