package io.switchboard.config;

import io.switchboard.config.SwitchboardConfig.Auth;
import io.switchboard.config.SwitchboardConfig.ClientLimits;
import io.switchboard.config.SwitchboardConfig.Ice;
import io.switchboard.config.SwitchboardConfig.Setting;
import io.switchboard.config.SwitchboardConfig.Tls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and validates the security settings (TLS, token authentication, ICE servers, per-client
 * limits) for {@link SwitchboardConfig}. Each check throws a {@link ConfigException} naming the
 * variable at fault, so a node with a half-configured security setting never starts.
 */
final class SecuritySettings {
  /** RFC 7518 3.2: an HS256 key must be at least as long as the hash, 256 bits. */
  static final int MIN_HS256_SECRET_BYTES = 32;
  static final int MIN_TURN_SECRET_CHARS = 16;
  private static final Pattern PEM = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");

  private SecuritySettings() {}

  static Tls tls(Function<Setting, String> get) {
    String cert = get.apply(Setting.TLS_CERT_FILE);
    String key = get.apply(Setting.TLS_KEY_FILE);
    if (cert.isEmpty() != key.isEmpty()) {
      Setting set = cert.isEmpty() ? Setting.TLS_KEY_FILE : Setting.TLS_CERT_FILE;
      Setting missing = cert.isEmpty() ? Setting.TLS_CERT_FILE : Setting.TLS_KEY_FILE;
      throw new ConfigException(set.name(), "set together with " + missing.name() + " (a PEM file)");
    }
    requireReadable(Setting.TLS_CERT_FILE, cert, "a readable PEM certificate (chain) file");
    requireReadable(Setting.TLS_KEY_FILE, key, "a readable PEM private key file");
    return new Tls(cert, key);
  }

  static Auth auth(Function<Setting, String> get) {
    String secret = get.apply(Setting.AUTH_JWT_SECRET);
    String keyFile = get.apply(Setting.AUTH_JWT_PUBLIC_KEY_FILE);
    String algorithm = get.apply(Setting.AUTH_JWT_ALGORITHM);
    String issuer = get.apply(Setting.AUTH_JWT_ISSUER);
    List<String> audience = list(get.apply(Setting.AUTH_JWT_AUDIENCE));
    int leeway = integer(Setting.AUTH_JWT_LEEWAY_SECONDS, get.apply(Setting.AUTH_JWT_LEEWAY_SECONDS));
    int grace = integer(Setting.AUTH_EXPIRY_GRACE_SECONDS, get.apply(Setting.AUTH_EXPIRY_GRACE_SECONDS));
    require(leeway >= 0 && leeway <= 300, Setting.AUTH_JWT_LEEWAY_SECONDS, "an integer 0-300");
    require(grace >= 0 && grace <= 86400, Setting.AUTH_EXPIRY_GRACE_SECONDS, "an integer 0-86400");

    if (secret.isEmpty() && keyFile.isEmpty()) {
      // A verifier setting without a key would make an operator believe tokens are checked.
      for (Setting s : List.of(Setting.AUTH_JWT_ALGORITHM, Setting.AUTH_JWT_ISSUER, Setting.AUTH_JWT_AUDIENCE)) {
        require(get.apply(s).isEmpty(), s,
            "unset: no AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY_FILE is set, so no token would be checked");
      }
      return new Auth("", "", "", List.of(), leeway, grace);
    }
    require(secret.isEmpty() || keyFile.isEmpty(), Setting.AUTH_JWT_PUBLIC_KEY_FILE,
        "unset when AUTH_JWT_SECRET is set: one verification key, HS256 or RS256/ES256");
    if (!secret.isEmpty()) {
      require(secret.getBytes(StandardCharsets.UTF_8).length >= MIN_HS256_SECRET_BYTES, Setting.AUTH_JWT_SECRET,
          "at least " + MIN_HS256_SECRET_BYTES + " bytes (256 bits) for HS256");
      require(algorithm.isEmpty() || algorithm.equals("HS256"), Setting.AUTH_JWT_ALGORITHM,
          "HS256 (or unset) with AUTH_JWT_SECRET, got '" + algorithm + "'");
      return new Auth("HS256", secret, issuer, audience, leeway, grace);
    }
    PublicKey key = publicKey(keyFile);
    String keyAlgorithm;
    if (key.getAlgorithm().equals("RSA")) {
      keyAlgorithm = "RS256";
    } else if (key instanceof ECPublicKey ec && ec.getParams().getCurve().getField().getFieldSize() == 256) {
      keyAlgorithm = "ES256";
    } else {
      throw new ConfigException(Setting.AUTH_JWT_PUBLIC_KEY_FILE.name(),
          "an RSA or P-256 EC public key, got a " + key.getAlgorithm() + " key");
    }
    require(algorithm.isEmpty() || algorithm.equals(keyAlgorithm), Setting.AUTH_JWT_ALGORITHM,
        keyAlgorithm + " (or unset) for the key in AUTH_JWT_PUBLIC_KEY_FILE, got '" + algorithm + "'");
    return new Auth(keyAlgorithm, pem(key), issuer, audience, leeway, grace);
  }

  static Ice ice(Function<Setting, String> get) {
    List<String> stun = list(get.apply(Setting.STUN_URLS));
    List<String> turn = list(get.apply(Setting.TURN_URLS));
    String secret = get.apply(Setting.TURN_SECRET);
    int ttl = integer(Setting.TURN_TTL_SECONDS, get.apply(Setting.TURN_TTL_SECONDS));
    for (String url : stun) {
      require(url.matches("stuns?:[^\\s,\"\\\\]+"), Setting.STUN_URLS,
          "comma-separated stun: or stuns: URLs, got '" + url + "'");
    }
    for (String url : turn) {
      require(url.matches("turns?:[^\\s,\"\\\\]+"), Setting.TURN_URLS,
          "comma-separated turn: or turns: URLs, got '" + url + "'");
    }
    require(turn.isEmpty() == secret.isEmpty(), turn.isEmpty() ? Setting.TURN_SECRET : Setting.TURN_URLS,
        "set together with " + (turn.isEmpty() ? Setting.TURN_URLS : Setting.TURN_SECRET).name());
    require(secret.isEmpty() || secret.length() >= MIN_TURN_SECRET_CHARS, Setting.TURN_SECRET,
        "at least " + MIN_TURN_SECRET_CHARS + " characters");
    require(ttl >= 60 && ttl <= 604800, Setting.TURN_TTL_SECONDS, "an integer 60-604800");
    return new Ice(stun, turn, secret, ttl);
  }

  static ClientLimits clientLimits(Function<Setting, String> get) {
    int perSecond = integer(Setting.CONNECTIONS_PER_IP_PER_SECOND, get.apply(Setting.CONNECTIONS_PER_IP_PER_SECOND));
    int burst = integer(Setting.CONNECTIONS_PER_IP_BURST, get.apply(Setting.CONNECTIONS_PER_IP_BURST));
    int max = integer(Setting.MAX_CONNECTIONS_PER_IP, get.apply(Setting.MAX_CONNECTIONS_PER_IP));
    String header = get.apply(Setting.CLIENT_IP_HEADER);
    require(perSecond >= 0 && perSecond <= 100_000, Setting.CONNECTIONS_PER_IP_PER_SECOND, "an integer 0-100000");
    require(burst >= 1 && burst <= 100_000, Setting.CONNECTIONS_PER_IP_BURST, "an integer 1-100000");
    require(max >= 0, Setting.MAX_CONNECTIONS_PER_IP, "an integer >= 0");
    require(header.isEmpty() || header.matches("[A-Za-z0-9-]{1,64}"), Setting.CLIENT_IP_HEADER,
        "an HTTP header name such as X-Forwarded-For, got '" + header + "'");
    return new ClientLimits(perSecond, burst, max, header);
  }

  /** The public key of a PEM file holding a {@code PUBLIC KEY} or a {@code CERTIFICATE}. */
  private static PublicKey publicKey(String file) {
    Setting setting = Setting.AUTH_JWT_PUBLIC_KEY_FILE;
    requireReadable(setting, file, "a readable PEM file with a PUBLIC KEY or CERTIFICATE");
    String text;
    try {
      text = Files.readString(Path.of(file), StandardCharsets.US_ASCII);
    } catch (IOException | RuntimeException e) {
      throw new ConfigException(setting.name(), "a readable PEM file, got '" + file + "'");
    }
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      String kind = m.group(1);
      if (!kind.equals("PUBLIC KEY") && !kind.equals("CERTIFICATE")) {
        continue;
      }
      try {
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        if (kind.equals("CERTIFICATE")) {
          return CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der)).getPublicKey();
        }
        for (String algorithm : List.of("RSA", "EC")) {
          try {
            return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
          } catch (GeneralSecurityException e) {
            // try the next key type
          }
        }
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        // not a usable block; look further
      }
    }
    throw new ConfigException(setting.name(),
        "a PEM file with an RSA or EC '-----BEGIN PUBLIC KEY-----' or a '-----BEGIN CERTIFICATE-----', got '" + file + "'");
  }

  /** {@code key} as the minimal PEM the JWT library reads: the header on the first line. */
  private static String pem(PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
  }

  private static void requireReadable(Setting setting, String file, String expected) {
    if (!file.isEmpty() && !Files.isReadable(Path.of(file))) {
      throw new ConfigException(setting.name(), expected + ", got '" + file + "'");
    }
  }

  private static List<String> list(String value) {
    return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  private static int integer(Setting setting, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new ConfigException(setting.name(), "an integer, got '" + value + "'");
    }
  }

  private static void require(boolean ok, Setting setting, String expected) {
    if (!ok) {
      throw new ConfigException(setting.name(), expected);
    }
  }
}
