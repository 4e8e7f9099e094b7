package io.switchboard.config;

/**
 * A configuration value was not accepted. The message is one line naming the environment
 * variable and the accepted form, fit to print as the reason the server did not start.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String variable;

  public ConfigException(String variable, String expected) {
    super("invalid configuration: " + variable + " must be " + expected);
    this.variable = variable;
  }

  /** The name of the environment variable at fault. */
  public String variable() {
    return variable;
  }
}
