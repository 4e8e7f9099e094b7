package io.switchboard.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.support.KubernetesTools;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Renders {@code k8s/}, every overlay and {@code k8s/monitoring} with {@code kubectl kustomize}
 * and validates every object against the Kubernetes schemas and those of the CRDs used
 * (ServiceMonitor, PrometheusRule, ScaledObject, HTTPRoute), with zero errors allowed; then
 * checks what schemas cannot: namespaces, who scales the Deployment, what the Ingress and the
 * HTTPRoute expose, and that the Secrets are optional. The schemas reject wrong types, missing
 * required fields and values outside an enum; like kubeconform without -strict they do not
 * reject unknown fields, which the checks below cover where it matters.
 */
class RenderedManifestsTest {
  private static final Path K8S = Path.of("k8s");
  private static final String APP_NAMESPACE = "switchboard";
  private static final String MONITORING_NAMESPACE = "monitoring";
  /** What clients use (README); nothing else is routed from outside. */
  private static final Set<String> CLIENT_PATHS = Set.of("/ws", "/direct", "/relay", "/socket.io", "/ice-servers",
      "/switchboard.js", "/", "/index.html", "/demo.js", "/demo.css");
  private static final YAMLMapper YAML = new YAMLMapper();

  /** Rendered objects by kustomization directory: k8s, k8s/overlays/*, k8s/monitoring. */
  private static final Map<Path, List<JsonNode>> RENDERED = new LinkedHashMap<>();

  @BeforeAll
  static void render() throws IOException {
    List<Path> dirs = new ArrayList<>(List.of(K8S));
    try (Stream<Path> overlays = Files.list(K8S.resolve("overlays"))) {
      overlays.filter(d -> Files.isRegularFile(d.resolve("kustomization.yaml"))).sorted().forEach(dirs::add);
    }
    dirs.add(K8S.resolve("monitoring"));
    for (Path dir : dirs) {
      String yaml = KubernetesTools.kustomize(dir);
      try (var parser = new YAMLFactory().createParser(yaml)) {
        RENDERED.put(dir, YAML.readValues(parser, JsonNode.class).readAll().stream().filter(n -> n != null && !n.isNull()).toList());
      }
    }
    assertTrue(RENDERED.size() >= 5, "k8s, its overlays and monitoring: " + RENDERED.keySet());
  }

  @Test
  void everyRenderingValidatesAgainstTheSchemasWithZeroErrors() throws IOException {
    ObjectMapper json = new ObjectMapper();
    for (Map.Entry<Path, List<JsonNode>> e : RENDERED.entrySet()) {
      ArrayNode objects = json.createArrayNode().addAll(e.getValue());
      JsonNode result = json.readTree(KubernetesTools.validate(json.writeValueAsString(objects)));
      assertEquals(objects.size(), result.path("checked").asInt(), e.getKey() + ": every object checked");
      assertEquals(List.of(), textList(result.path("errors")), e.getKey() + ": schema errors");
    }
  }

  @Test
  void theAppRendersIntoItsNamespaceAndMonitoringIntoItsOwn() {
    for (Map.Entry<Path, List<JsonNode>> e : RENDERED.entrySet()) {
      boolean monitoring = e.getKey().endsWith("monitoring");
      for (JsonNode object : e.getValue()) {
        if (object.path("kind").asText().equals("Namespace")) {
          assertFalse(monitoring, "k8s/monitoring must not own (and so on delete, remove) the monitoring namespace");
          continue;
        }
        assertEquals(monitoring ? MONITORING_NAMESPACE : APP_NAMESPACE, object.at("/metadata/namespace").asText(),
            e.getKey() + ": " + id(object));
      }
    }
    List<JsonNode> monitoring = RENDERED.get(K8S.resolve("monitoring"));
    Set<String> kinds = new TreeSet<>();
    monitoring.forEach(o -> kinds.add(o.path("kind").asText()));
    assertEquals(Set.of("ConfigMap", "PrometheusRule", "ServiceMonitor"), kinds);
    for (JsonNode object : monitoring) {
      assertTrue(object.at("/metadata/labels/release").isTextual(), "kube-prometheus-stack selects on release: " + id(object));
    }
    JsonNode monitor = only(monitoring, "ServiceMonitor");
    assertEquals(List.of(APP_NAMESPACE), textList(monitor.at("/spec/namespaceSelector/matchNames")));
    JsonNode service = only(RENDERED.get(K8S), "Service", "switchboard");
    assertEquals(service.at("/metadata/labels/app.kubernetes.io~1name"), monitor.at("/spec/selector/matchLabels/app.kubernetes.io~1name"));
  }

  @Test
  void theNamespaceEnforcesTheRestrictedPodSecurityProfile() {
    JsonNode namespace = only(RENDERED.get(K8S), "Namespace");
    assertEquals("restricted", namespace.at("/metadata/labels/pod-security.kubernetes.io~1enforce").asText());
    for (JsonNode deployment : all(RENDERED.get(K8S), "Deployment")) {
      JsonNode pod = deployment.at("/spec/template/spec");
      assertTrue(pod.at("/securityContext/runAsNonRoot").asBoolean(), id(deployment));
      assertEquals("RuntimeDefault", pod.at("/securityContext/seccompProfile/type").asText(), id(deployment));
      for (JsonNode c : pod.path("containers")) {
        assertFalse(c.at("/securityContext/allowPrivilegeEscalation").asBoolean(true), id(deployment));
        assertEquals(List.of("ALL"), textList(c.at("/securityContext/capabilities/drop")), id(deployment));
      }
    }
  }

  @Test
  void exactlyOneAutoscalerOwnsTheReplicaCountInEveryRendering() {
    for (Map.Entry<Path, List<JsonNode>> e : RENDERED.entrySet()) {
      if (e.getKey().endsWith("monitoring")) {
        continue;
      }
      JsonNode deployment = only(e.getValue(), "Deployment", "switchboard");
      assertTrue(deployment.at("/spec/replicas").isMissingNode(), e.getKey() + ": replicas would fight the autoscaler");
      List<JsonNode> scalers = new ArrayList<>(all(e.getValue(), "HorizontalPodAutoscaler"));
      scalers.addAll(all(e.getValue(), "ScaledObject"));
      assertEquals(1, scalers.size(), e.getKey() + ": one autoscaler");
      assertEquals("switchboard", scalers.get(0).at("/spec/scaleTargetRef/name").asText());
      JsonNode pdb = only(e.getValue(), "PodDisruptionBudget", "switchboard");
      assertEquals("AlwaysAllow", pdb.at("/spec/unhealthyPodEvictionPolicy").asText(),
          e.getKey() + ": a Redis outage (every pod unready) must not block node drains");
    }
    JsonNode scaled = only(RENDERED.get(K8S.resolve("overlays/keda")), "ScaledObject");
    List<String> triggers = scaled.path("spec").path("triggers").findValuesAsText("type");
    assertEquals(List.of("prometheus", "cpu"), triggers, "sockets first, CPU kept as a fallback");
    assertTrue(scaled.at("/spec/triggers/0/metadata/query").asText().contains("switchboard_connections_open"));
    assertEquals("AverageValue", scaled.at("/spec/triggers/0/metricType").asText(), "per pod");
  }

  @Test
  void theIngressAndTheHttpRouteRouteOnlyTheClientPaths() {
    JsonNode ingress = only(RENDERED.get(K8S), "Ingress");
    Set<String> ingressPaths = new TreeSet<>();
    for (JsonNode path : ingress.at("/spec/rules/0/http/paths")) {
      ingressPaths.add(path.path("path").asText());
      assertFalse(path.path("path").asText().equals("/") && path.path("pathType").asText().equals("Prefix"),
          "a Prefix / would expose /metrics");
      assertEquals("switchboard", path.at("/backend/service/name").asText());
    }
    assertEquals(new TreeSet<>(CLIENT_PATHS), ingressPaths);
    assertTrue(ingress.at("/metadata/annotations").isMissingNode(), "controller-neutral: no controller's annotations");

    List<JsonNode> gateway = RENDERED.get(K8S.resolve("overlays/gateway-api"));
    assertTrue(all(gateway, "Ingress").isEmpty(), "the HTTPRoute replaces the Ingress");
    JsonNode route = only(gateway, "HTTPRoute");
    Set<String> routePaths = new TreeSet<>(route.path("spec").path("rules").findValuesAsText("value"));
    assertEquals(new TreeSet<>(CLIENT_PATHS), routePaths);
    assertEquals(ingress.at("/spec/rules/0/host").asText(), route.at("/spec/hostnames/0").asText());
    int servicePort = only(gateway, "Service", "switchboard").at("/spec/ports/0/port").asInt();
    assertEquals(servicePort, route.at("/spec/rules/0/backendRefs/0/port").asInt());
  }

  @Test
  void secretsAreOptionalAndTheTokenIsNotMounted() {
    JsonNode pod = only(RENDERED.get(K8S), "Deployment", "switchboard").at("/spec/template/spec");
    assertFalse(pod.path("automountServiceAccountToken").asBoolean(true));
    JsonNode container = pod.at("/containers/0");
    assertTrue(container.at("/startupProbe/httpGet/path").isTextual(), "a startupProbe");
    Set<String> fromSecrets = new TreeSet<>();
    for (JsonNode env : container.path("env")) {
      if (env.at("/valueFrom/secretKeyRef").isObject()) {
        fromSecrets.add(env.path("name").asText());
        assertTrue(env.at("/valueFrom/secretKeyRef/optional").asBoolean(), env.toString());
      }
    }
    assertEquals(Set.of("ADMIN_API_KEY", "AUTH_JWT_SECRET", "TURN_SECRET"), fromSecrets);
    int secretVolumes = 0;
    for (JsonNode volume : pod.path("volumes")) {
      if (volume.has("secret")) {
        secretVolumes++;
        assertTrue(volume.at("/secret/optional").asBoolean(), volume.toString());
      }
    }
    assertEquals(2, secretVolumes, "TLS files and key files");
    Map<String, String> tls = configMap(RENDERED.get(K8S.resolve("overlays/tls")));
    Set<String> mounts = new TreeSet<>(container.path("volumeMounts").findValuesAsText("mountPath"));
    for (String file : List.of(tls.get("TLS_CERT_FILE"), tls.get("TLS_KEY_FILE"))) {
      assertTrue(mounts.contains(Path.of(file).getParent().toString()), file + " is under a mounted Secret");
    }
    JsonNode tlsContainer = only(RENDERED.get(K8S.resolve("overlays/tls")), "Deployment", "switchboard")
        .at("/spec/template/spec/containers/0");
    for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
      assertEquals("HTTPS", tlsContainer.at("/" + probe + "/httpGet/scheme").asText(), probe);
    }
  }

  @Test
  void theRenderedSettingsAreAcceptedByTheServerAndNamePoliciedRedis() {
    Map<String, String> env = new HashMap<>(configMap(RENDERED.get(K8S)));
    env.put("NODE_ID", "switchboard-5d9c7b6f4-x2x9q");
    SwitchboardConfig config = SwitchboardConfig.fromEnv(env);
    assertFalse(config.allowedOrigins().isEmpty(), "ALLOWED_ORIGINS is set");
    assertEquals("X-Forwarded-For", env.get("CLIENT_IP_HEADER"));
    URI redis = URI.create(config.redisUrl());

    List<JsonNode> base = RENDERED.get(K8S);
    JsonNode egress = only(base, "NetworkPolicy", "switchboard-egress");
    Set<Integer> egressPorts = new TreeSet<>();
    egress.at("/spec/egress").forEach(rule -> rule.path("ports").forEach(p -> egressPorts.add(p.path("port").asInt())));
    assertEquals(Set.of(53, redis.getPort()), egressPorts, "Switchboard talks to DNS and Redis only");
    JsonNode redisPolicy = only(base, "NetworkPolicy", "switchboard-redis");
    assertEquals("switchboard", redisPolicy.at("/spec/ingress/0/from/0/podSelector/matchLabels/app.kubernetes.io~1name").asText(),
        "only Switchboard pods reach the backplane");
    JsonNode clients = only(base, "NetworkPolicy", "switchboard-clients");
    assertEquals("http", clients.at("/spec/ingress/0/ports/0/port").asText());
    JsonNode prometheus = only(base, "NetworkPolicy", "switchboard-prometheus");
    assertEquals(MONITORING_NAMESPACE,
        prometheus.at("/spec/ingress/0/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name").asText(),
        "Prometheus' namespace, where k8s/monitoring puts the ServiceMonitor");
    assertEquals(only(RENDERED.get(K8S.resolve("monitoring")), "ServiceMonitor").at("/spec/endpoints/0/port").asText(),
        prometheus.at("/spec/ingress/0/ports/0/port").asText(), "the port the ServiceMonitor scrapes");

    List<JsonNode> managed = RENDERED.get(K8S.resolve("overlays/managed-redis"));
    assertTrue(all(managed, "Deployment").stream().noneMatch(d -> d.at("/metadata/name").asText().equals(redis.getHost())));
    assertTrue(all(managed, "NetworkPolicy").stream().noneMatch(d -> d.at("/metadata/name").asText().equals("switchboard-redis")));
    assertTrue(only(managed, "NetworkPolicy", "switchboard-egress").toString().contains("ipBlock"), "egress to the managed Redis");
  }

  @Test
  void theRedisClusterOverlaySetsASettingTheServerAccepts() {
    JsonNode container = only(RENDERED.get(K8S.resolve("overlays/redis-cluster")), "Deployment", "switchboard")
        .at("/spec/template/spec/containers/0");
    Map<String, String> env = new HashMap<>(configMap(RENDERED.get(K8S.resolve("overlays/redis-cluster"))));
    container.path("env").forEach(e -> {
      if (e.has("value")) {
        env.put(e.path("name").asText(), e.path("value").asText());
      }
    });
    // The Secret the operator creates holds the seeds.
    env.put("REDIS_URL", "rediss://:pw@clustercfg.example.internal:6379");
    SwitchboardConfig config = SwitchboardConfig.fromEnv(env);
    assertEquals(SwitchboardConfig.RedisMode.CLUSTER, config.redisMode());
    assertTrue(config.resume().enabled(), "resume stays on (rooms and sessions spread)");
  }

  // ---- helpers ----

  private static Map<String, String> configMap(List<JsonNode> objects) {
    Map<String, String> out = new HashMap<>();
    JsonNode cm = all(objects, "ConfigMap").stream().filter(c -> c.at("/metadata/name").asText().startsWith("switchboard-config"))
        .findFirst().orElseGet(() -> fail("no switchboard-config ConfigMap"));
    cm.path("data").fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().asText()));
    return out;
  }

  private static List<JsonNode> all(List<JsonNode> objects, String kind) {
    return objects.stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
  }

  private static JsonNode only(List<JsonNode> objects, String kind) {
    List<JsonNode> found = all(objects, kind);
    assertEquals(1, found.size(), "one " + kind);
    return found.get(0);
  }

  private static JsonNode only(List<JsonNode> objects, String kind, String name) {
    return all(objects, kind).stream().filter(o -> o.at("/metadata/name").asText().equals(name)).findFirst()
        .orElseGet(() -> fail("no " + kind + " " + name));
  }

  private static String id(JsonNode object) {
    return object.path("kind").asText() + "/" + object.at("/metadata/name").asText();
  }

  private static List<String> textList(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
