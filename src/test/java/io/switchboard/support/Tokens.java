package io.switchboard.support;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * JWTs for tests, made with the JDK alone (keys from {@link KeyPairGenerator}, signatures from
 * {@link Signature} and {@link Mac}), so the server's verifier is checked against an independent
 * signer; and deliberately broken ones ({@code alg: none}, algorithm confusion) built by hand.
 */
public final class Tokens {
  private Tokens() {}

  public static KeyPair rsa() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A P-256 key pair, for ES256. */
  public static KeyPair ec() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code key} as a {@code -----BEGIN PUBLIC KEY-----} PEM. */
  public static String publicPem(PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
  }

  /** Writes {@code key}'s PEM to a new file in {@code dir}. */
  public static Path writePublicPem(PublicKey key, Path dir, String name) {
    try {
      return Files.writeString(dir.resolve(name), publicPem(key), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Now, in Unix seconds. */
  public static long now() {
    return System.currentTimeMillis() / 1000;
  }

  public static String hs256(byte[] secret, JsonObject claims) {
    String input = signingInput("HS256", claims);
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return input + "." + b64(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String rs256(PrivateKey key, JsonObject claims) {
    return signed("RS256", "SHA256withRSA", key, claims);
  }

  /** ES256: the JOSE signature is r || s, 32 bytes each (the JDK's P1363 format). */
  public static String es256(PrivateKey key, JsonObject claims) {
    return signed("ES256", "SHA256withECDSAinP1363Format", key, claims);
  }

  /** {@code alg: none}: header and claims, an empty signature, as RFC 7519 6.1 writes it. */
  public static String unsigned(JsonObject claims) {
    return signingInput("none", claims) + ".";
  }

  private static String signed(String alg, String jdkAlgorithm, PrivateKey key, JsonObject claims) {
    String input = signingInput(alg, claims);
    try {
      Signature s = Signature.getInstance(jdkAlgorithm);
      s.initSign(key);
      s.update(input.getBytes(StandardCharsets.US_ASCII));
      return input + "." + b64(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String signingInput(String alg, JsonObject claims) {
    JsonObject header = new JsonObject().put("alg", alg).put("typ", "JWT");
    return b64(header.encode().getBytes(StandardCharsets.UTF_8)) + "." + b64(claims.encode().getBytes(StandardCharsets.UTF_8));
  }

  public static String b64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
