package io.switchboard.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.switchboard.config.SwitchboardConfig;
import io.switchboard.config.SwitchboardConfig.Setting;
import io.switchboard.support.ServerFixture;
import io.switchboard.support.Metrics;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * No Docker or Kubernetes engine runs here, so this test reads the Dockerfile, docker-compose.yml,
 * the nginx, Prometheus and Grafana files and every Kubernetes manifest, and checks that they
 * agree with the code and the docs: ports, probe paths (asked of a real server), settings,
 * drain timing, the Redis address, sticky routing for Socket.IO and metric names.
 */
class DeploymentManifestsTest {
  private static final Path K8S = Path.of("k8s");
  private static final Path BASE = K8S.resolve("base");
  private static final Path COMPOSE = Path.of("docker-compose.yml");
  private static final Path DOCKERFILE = Path.of("Dockerfile");
  private static final Path NGINX = Path.of("deploy", "nginx", "nginx.conf");
  private static final Path PROMETHEUS = Path.of("deploy", "prometheus", "prometheus.yml");
  private static final Path ALERTS = Path.of("deploy", "prometheus", "alerts.yml");
  private static final Path GRAFANA_DASHBOARD = Path.of("k8s", "monitoring", "dashboards", "switchboard.json");
  private static final Path PROMETHEUS_RULE = Path.of("k8s", "monitoring", "prometheusrule.yaml");
  private static final Path OPERATIONS = Path.of("docs", "operations.md");
  private static final Path GRAFANA_PROVISIONING = Path.of("deploy", "grafana", "provisioning");
  private static final Pattern METRIC = Pattern.compile("\\b((?:switchboard|jvm|process|system|vertx)_[a-z0-9_]+)");

  private static final YAMLMapper YAML = new YAMLMapper();
  private static List<JsonNode> baseResources;
  private static JsonNode compose;
  private static Map<String, String> configMap;
  private static JsonNode deployment;
  private static JsonNode container;

  @BeforeAll
  static void load() throws IOException {
    baseResources = new ArrayList<>();
    JsonNode kustomization = yaml(BASE.resolve("kustomization.yaml")).get(0);
    for (JsonNode resource : kustomization.path("resources")) {
      baseResources.addAll(yaml(BASE.resolve(resource.asText())));
    }
    compose = yaml(COMPOSE).get(0);
    configMap = new LinkedHashMap<>();
    JsonNode generators = kustomization.path("configMapGenerator");
    assertEquals(1, generators.size(), "one generated ConfigMap: the server's settings");
    for (JsonNode literal : generators.get(0).path("literals")) {
      String[] kv = literal.asText().split("=", 2);
      configMap.put(kv[0], kv[1]);
    }
    deployment = resource("Deployment", "switchboard");
    JsonNode containers = deployment.at("/spec/template/spec/containers");
    assertEquals(1, containers.size());
    container = containers.get(0);
  }

  // ---- parsing ----

  @Test
  void everyManifestParsesAndNamesItsKind() throws IOException {
    List<Path> files = yamlFiles(K8S);
    files.addAll(yamlFiles(Path.of("deploy")));
    files.add(COMPOSE);
    assertTrue(files.size() >= 15, "found " + files);
    for (Path file : files) {
      List<JsonNode> docs = yaml(file);
      assertFalse(docs.isEmpty(), file + " is empty");
      if (file.startsWith(K8S) && !file.getFileName().toString().equals("kustomization.yaml")) {
        for (JsonNode doc : docs) {
          assertTrue(doc.hasNonNull("apiVersion") && doc.hasNonNull("kind"), file + ": apiVersion and kind");
          assertTrue(doc.at("/metadata/name").isTextual(), file + ": metadata.name");
        }
      }
    }
    assertTrue(new ObjectMapper().readTree(GRAFANA_DASHBOARD.toFile()).path("panels").size() > 0);
  }

  @Test
  void kustomizationsReferenceExistingFilesAndTheBaseUsesEveryManifest() throws IOException {
    for (Path file : yamlFiles(K8S)) {
      if (!file.getFileName().toString().equals("kustomization.yaml")) {
        continue;
      }
      JsonNode k = yaml(file).get(0);
      for (JsonNode r : k.path("resources")) {
        assertTrue(Files.exists(file.getParent().resolve(r.asText())), file + " lists missing " + r.asText());
      }
      for (JsonNode p : k.path("patches")) {
        if (p.has("path")) {
          assertTrue(Files.exists(file.getParent().resolve(p.get("path").asText())), file + " patches with a missing file");
        }
      }
    }
    Set<String> listed = new TreeSet<>();
    yaml(BASE.resolve("kustomization.yaml")).get(0).path("resources").forEach(r -> listed.add(r.asText()));
    Set<String> present = yamlFiles(BASE).stream().map(p -> p.getFileName().toString())
        .filter(n -> !n.equals("kustomization.yaml")).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(present, listed, "every manifest in k8s/base is applied by kubectl apply -k k8s/");
    assertEquals(List.of("base"), textList(yaml(K8S.resolve("kustomization.yaml")).get(0).path("resources")));
    // The ServiceMonitor needs the Prometheus Operator's CRD, so the base must apply without it.
    assertTrue(baseResources.stream().noneMatch(r -> r.path("kind").asText().equals("ServiceMonitor")));
  }

  // ---- settings ----

  @Test
  void everyVariableSetAnywhereIsASettingTheServerReadsAndIsDocumented() throws IOException {
    Set<String> settings = Arrays.stream(Setting.values()).map(Enum::name).collect(Collectors.toSet());
    Map<String, Set<String>> setBy = new LinkedHashMap<>();
    setBy.put("k8s ConfigMap", configMap.keySet());
    setBy.put("k8s Deployment env", names(container.path("env")));
    setBy.put("k8s managed-redis overlay", names(yaml(K8S.resolve("overlays/managed-redis/redis-url-from-secret.yaml")).get(0)
        .at("/spec/template/spec/containers/0/env")));
    setBy.put("docker-compose.yml", fieldNames(composeService("switchboard").path("environment")));
    setBy.put("Dockerfile", new LinkedHashSet<>(dockerfileEnv().keySet()));

    String readme = Files.readString(Path.of("README.md"));
    String operations = Files.readString(Path.of("docs", "operations.md"));
    for (Map.Entry<String, Set<String>> e : setBy.entrySet()) {
      for (String name : e.getValue()) {
        assertTrue(settings.contains(name), e.getKey() + " sets " + name + ", which the server does not read");
      }
    }
    for (String doc : List.of(readme, operations)) {
      Matcher row = Pattern.compile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|").matcher(doc);
      while (row.find()) {
        assertTrue(settings.contains(row.group(1)), "a table documents " + row.group(1) + ", which the server does not read");
      }
    }
    for (String name : settings) {
      assertTrue(Pattern.compile("(?m)^\\| `" + name + "` \\|").matcher(readme).find(), name + " missing from the README table");
      assertTrue(operations.contains("`" + name + "`"), name + " missing from docs/operations.md");
    }
  }

  @Test
  void theConfiguredValuesAreAcceptedByTheServer() {
    Map<String, String> k8s = new HashMap<>(configMap);
    k8s.put("NODE_ID", "switchboard-5d9c7b6f4-x2x9q"); // what the downward API gives: a pod name
    SwitchboardConfig fromK8s = SwitchboardConfig.fromEnv(k8s);
    assertEquals("metadata.name", env(container, "NODE_ID").at("/valueFrom/fieldRef/fieldPath").asText());
    assertTrue(fromK8s.clustered());

    Map<String, String> composeEnv = new HashMap<>();
    composeService("switchboard").path("environment").fields()
        .forEachRemaining(f -> composeEnv.put(f.getKey(), f.getValue().asText()));
    assertTrue(SwitchboardConfig.fromEnv(composeEnv).clustered());
  }

  // ---- ports and probes ----

  @Test
  void everyPortIsTheConfiguredPort() throws IOException {
    int port = Integer.parseInt(configMap.getOrDefault("PORT", Setting.PORT.defaultValue));
    int composePort = Integer.parseInt(composeService("switchboard").path("environment").path("PORT")
        .asText(Setting.PORT.defaultValue));
    assertEquals(port, composePort, "compose and Kubernetes run the server on one port");

    assertEquals(port, containerPort("http"));
    JsonNode service = resource("Service", "switchboard");
    for (JsonNode p : service.at("/spec/ports")) {
      assertEquals(port, port(p.get("targetPort")), "Service targetPort");
    }
    // /metrics and the server API live on the admin port, which only the cluster reaches.
    int adminPort = Integer.parseInt(configMap.get("ADMIN_PORT"));
    assertNotEquals(port, adminPort);
    assertEquals(adminPort, containerPort("admin"));
    assertEquals(Integer.toString(adminPort), deployment.at("/spec/template/metadata/annotations").path("prometheus.io/port").asText());
    JsonNode adminService = resource("Service", "switchboard-admin");
    assertEquals(Set.of("admin"), servicePortNames(adminService));
    JsonNode ingressBackend = resource("Ingress", "switchboard").at("/spec/rules/0/http/paths/0/backend/service");
    assertEquals("switchboard", ingressBackend.path("name").asText());
    assertTrue(servicePortNames(service).contains(ingressBackend.at("/port/name").asText()), "Ingress names a Service port");
    JsonNode monitor = yaml(K8S.resolve("monitoring/servicemonitor.yaml")).get(0);
    assertEquals("admin", monitor.at("/spec/endpoints/0/port").asText(), "Prometheus scrapes the admin port");
    assertEquals("admin", monitor.at("/spec/selector/matchLabels").path("app.kubernetes.io/component").asText());
    assertFalse(servicePortNames(service).contains("admin"), "the clients' Service never carries the admin port");

    assertEquals(List.of(Integer.toString(port)), dockerfile("EXPOSE"));
    for (JsonNode mapping : composeService("switchboard").path("ports")) {
      assertTrue(mapping.asText().endsWith(":" + port), "compose publishes container port " + port + ": " + mapping);
    }
    List<String> upstreamServers = nginxDirectives("server").stream().filter(s -> !s.startsWith("{")).toList();
    assertFalse(upstreamServers.isEmpty());
    for (String server : upstreamServers) {
      assertTrue(server.startsWith("switchboard:" + port + " "), "nginx upstream server " + server);
    }
    JsonNode sd = yaml(PROMETHEUS).get(0).at("/scrape_configs/0/dns_sd_configs/0");
    assertEquals(port, sd.path("port").asInt());
    assertEquals(List.of("switchboard"), textList(sd.path("names")));
  }

  @Test
  void probePathsAndMetricsPathAnswerOnARealServer() throws IOException {
    String ready = container.at("/readinessProbe/httpGet/path").asText();
    String live = container.at("/livenessProbe/httpGet/path").asText();
    assertEquals("/health/ready", ready, "readiness must be the probe that turns 503 while draining");
    assertEquals("/health/live", live, "liveness must not fail while draining or while Redis is down");
    assertEquals(port(container.at("/readinessProbe/httpGet/port")), containerPort("http"));
    assertEquals(port(container.at("/livenessProbe/httpGet/port")), containerPort("http"));
    String healthcheck = String.join(" ", dockerfile("HEALTHCHECK"));
    Matcher url = Pattern.compile("http://127\\.0\\.0\\.1:\\$\\{PORT:-(\\d+)}(/\\S*?)\"").matcher(healthcheck);
    assertTrue(url.find(), "HEALTHCHECK asks the server on its PORT: " + healthcheck);
    assertEquals(Setting.PORT.defaultValue, url.group(1));
    String metricsPath = deployment.at("/spec/template/metadata/annotations").path("prometheus.io/path").asText();
    Set<String> paths = new TreeSet<>(List.of(ready, live, url.group(2), metricsPath,
        yaml(K8S.resolve("monitoring/servicemonitor.yaml")).get(0).at("/spec/endpoints/0/path").asText(),
        yaml(PROMETHEUS).get(0).at("/scrape_configs/0/metrics_path").asText()));
    try (ServerFixture server = ServerFixture.start()) {
      for (String path : paths) {
        assertEquals(200, server.get(path).status(), "GET " + path);
      }
    }
  }

  // ---- drain timing ----

  @Test
  void terminationGracePeriodCoversPreStopDrainDelayAndShutdownGrace() {
    int drain = Integer.parseInt(configMap.get("DRAIN_DELAY_SECONDS"));
    int grace = Integer.parseInt(configMap.get("SHUTDOWN_GRACE_SECONDS"));
    int terminationGrace = deployment.at("/spec/template/spec/terminationGracePeriodSeconds").asInt();
    List<String> preStop = textList(container.at("/lifecycle/preStop/exec/command"));
    assertEquals("sleep", preStop.get(0));
    int sleep = Integer.parseInt(preStop.get(1));
    assertTrue(drain > 0 && drain < terminationGrace, "drain delay " + drain + " within the grace period");
    // The kubelet counts the grace period from the start of preStop; SIGTERM comes after it.
    assertTrue(sleep + drain + grace < terminationGrace,
        "preStop " + sleep + " + drain " + drain + " + shutdown grace " + grace + " < terminationGracePeriodSeconds " + terminationGrace);
    // Readiness must notice a draining pod within the drain delay.
    JsonNode readiness = container.path("readinessProbe");
    assertTrue(readiness.path("periodSeconds").asInt() * readiness.path("failureThreshold").asInt() <= drain + sleep);

    JsonNode service = composeService("switchboard");
    int composeDrain = Integer.parseInt(service.at("/environment/DRAIN_DELAY_SECONDS").asText());
    int composeGrace = Integer.parseInt(service.at("/environment/SHUTDOWN_GRACE_SECONDS").asText());
    assertTrue(composeDrain + composeGrace < seconds(service.path("stop_grace_period").asText()),
        "compose stop_grace_period lets a replica drain before SIGKILL");
  }

  // ---- Redis ----

  @Test
  void redisUrlsPointAtTheRedisServiceAndTheOverlayReplacesIt() throws IOException {
    URI k8s = URI.create(configMap.get("REDIS_URL"));
    JsonNode redisService = resource("Service", k8s.getHost());
    assertEquals(k8s.getPort(), redisService.at("/spec/ports/0/port").asInt());
    JsonNode redisDeployment = baseResources.stream()
        .filter(r -> r.path("kind").asText().equals("Deployment"))
        .filter(r -> r.at("/spec/template/metadata/labels").equals(redisService.at("/spec/selector")))
        .findFirst().orElseGet(() -> fail("no Deployment behind Service " + k8s.getHost()));
    assertTrue(redisDeployment.at("/spec/template/spec/containers/0/image").asText().startsWith("redis:"));
    assertEquals(1, redisDeployment.at("/spec/replicas").asInt(), "the demo Redis is a single instance");
    assertEquals(k8s.getPort(), port(redisService.at("/spec/ports/0/targetPort"), redisDeployment.at("/spec/template/spec/containers/0")));

    URI local = URI.create(composeService("switchboard").at("/environment/REDIS_URL").asText());
    assertTrue(composeService(local.getHost()).path("image").asText().startsWith("redis:"));
    assertEquals(6379, local.getPort());
    assertTrue(composeService("switchboard").at("/depends_on/" + local.getHost()).isObject());

    JsonNode overlay = yaml(K8S.resolve("overlays/managed-redis/kustomization.yaml")).get(0);
    assertEquals(List.of("../../base"), textList(overlay.path("resources")));
    Set<String> deleted = new TreeSet<>();
    for (JsonNode patch : overlay.path("patches")) {
      if (patch.has("patch")) {
        JsonNode inline = YAML.readTree(patch.get("patch").asText());
        if (inline.path("$patch").asText().equals("delete")) {
          deleted.add(inline.path("kind").asText() + " " + inline.at("/metadata/name").asText());
        }
      }
    }
    assertEquals(Set.of("Deployment " + k8s.getHost(), "Service " + k8s.getHost(), "NetworkPolicy " + k8s.getHost()), deleted,
        "the overlay drops the demo Redis and its policy");
    JsonNode fromSecret = env(yaml(K8S.resolve("overlays/managed-redis/redis-url-from-secret.yaml")).get(0)
        .at("/spec/template/spec/containers/0"), "REDIS_URL");
    assertTrue(fromSecret.at("/valueFrom/secretKeyRef/name").isTextual());
  }

  // ---- routing ----

  @Test
  void loadBalancersKeepSocketIoPollingStickyAndOutwaitThePingInterval() throws IOException {
    int ping = Integer.parseInt(configMap.get("PING_INTERVAL_SECONDS"));
    int idle = Integer.parseInt(configMap.get("IDLE_TIMEOUT_SECONDS"));

    JsonNode service = resource("Service", "switchboard");
    assertEquals("ClientIP", service.at("/spec/sessionAffinity").asText());
    // The Ingress is controller-neutral: docs/operations.md gives each controller's timeouts and
    // affinity, above the idle timeout.
    String operations = Files.readString(OPERATIONS);
    Matcher ingressTimeout = Pattern.compile("idle\\s+timeouts\\s+of\\s+(\\d+)\\s+s\\s+or\\s+more").matcher(operations);
    assertTrue(ingressTimeout.find(), "docs/operations.md states the proxies' idle timeout");
    assertTrue(Integer.parseInt(ingressTimeout.group(1)) > idle && Integer.parseInt(ingressTimeout.group(1)) > ping);

    String nginx = Files.readString(NGINX);
    for (String timeout : List.of("proxy_read_timeout", "proxy_send_timeout")) {
      List<String> values = nginxDirectives(timeout);
      assertEquals(1, values.size(), timeout);
      assertTrue(seconds(values.get(0)) > idle, "nginx " + timeout + " " + values.get(0));
    }
    assertTrue(nginxDirectives("proxy_set_header").containsAll(List.of("Upgrade $http_upgrade", "Connection $connection_upgrade")));
    assertEquals(List.of("127.0.0.11 valid=5s ipv6=off"), nginxDirectives("resolver"), "Docker's DNS, re-resolved");
    Matcher socketIo = Pattern.compile("location /socket\\.io/ \\{\\s*proxy_pass http://(\\w+);").matcher(nginx);
    assertTrue(socketIo.find(), "nginx routes /socket.io/");
    Matcher upstream = Pattern.compile("upstream " + socketIo.group(1) + " \\{([^}]*)}").matcher(nginx);
    assertTrue(upstream.find());
    assertTrue(upstream.group(1).contains("hash $remote_addr consistent;") || upstream.group(1).contains("ip_hash;"),
        "the Socket.IO upstream is sticky: " + upstream.group(1));
    assertTrue(upstream.group(1).contains(" resolve;"), "the Socket.IO upstream follows scaling");

    JsonNode nginxService = composeService("nginx");
    assertEquals(List.of("127.0.0.1:8080:8080"), textList(nginxService.path("ports")), "nginx on loopback only");
    assertTrue(textList(nginxService.path("volumes")).contains("./" + NGINX.toString().replace('\\', '/') + ":/etc/nginx/nginx.conf:ro"));
  }

  // ---- scaling and safety ----

  @Test
  void deploymentIsScalableNonRootReadOnlyAndSpread() throws IOException {
    assertTrue(deployment.at("/spec/replicas").isMissingNode(), "the HPA owns the replica count");
    JsonNode podLabels = deployment.at("/spec/template/metadata/labels");
    assertEquals(podLabels, deployment.at("/spec/selector/matchLabels"));
    assertEquals(podLabels, resource("Service", "switchboard").at("/spec/selector"));
    assertEquals(podLabels, resource("PodDisruptionBudget", "switchboard").at("/spec/selector/matchLabels"));
    JsonNode hpa = resource("HorizontalPodAutoscaler", "switchboard");
    assertEquals("switchboard", hpa.at("/spec/scaleTargetRef/name").asText());
    assertEquals(3, hpa.at("/spec/minReplicas").asInt());
    assertTrue(hpa.at("/spec/maxReplicas").asInt() > 3);
    assertNotNull(container.at("/resources/requests/cpu").textValue(), "the HPA scales on CPU, which needs a request");

    JsonNode spec = deployment.at("/spec/template/spec");
    assertTrue(spec.at("/securityContext/runAsNonRoot").asBoolean());
    assertEquals(dockerfile("USER"), List.of(spec.at("/securityContext/runAsUser").asText() + ":"
        + spec.at("/securityContext/runAsGroup").asText()), "the pod runs as the image's user");
    assertTrue(container.at("/securityContext/readOnlyRootFilesystem").asBoolean());
    assertFalse(container.at("/securityContext/allowPrivilegeEscalation").asBoolean(true));
    JsonNode tmp = container.path("volumeMounts").get(0);
    assertEquals("/tmp", tmp.path("mountPath").asText());
    assertTrue(spec.path("volumes").findValues("emptyDir").size() == 1
        && spec.at("/volumes/0/name").asText().equals(tmp.path("name").asText()), "/tmp is a writable emptyDir");
    List<String> spreadKeys = spec.path("topologySpreadConstraints").findValuesAsText("topologyKey");
    assertTrue(spreadKeys.contains("kubernetes.io/hostname"), "spread across nodes: " + spreadKeys);

    JsonNode switchboard = composeService("switchboard");
    assertEquals(3, switchboard.at("/deploy/replicas").asInt());
    assertFalse(switchboard.has("container_name"), "a fixed container name would stop --scale");
    for (JsonNode mapping : switchboard.path("ports")) {
      assertTrue(mapping.asText().matches("(127\\.0\\.0\\.1:)?\\d+-\\d+:\\d+"), "replicas publish a port range: " + mapping);
    }
  }

  @Test
  void dockerfileBuildsWithMavenAndRunsTheJarWithItsOptionsAndAotCacheOnAJre() throws IOException {
    List<String> from = dockerfile("FROM");
    assertEquals(2, from.size(), "two stages: " + from);
    // Exact release tags (or digests), never a moving tag such as 17-jre.
    assertTrue(from.get(0).matches("maven:\\d+\\.\\d+\\.\\d+-eclipse-temurin-17(@sha256:[0-9a-f]{64})? AS \\w+"), from.get(0));
    String buildStage = from.get(0).substring(from.get(0).lastIndexOf(' ') + 1);
    assertTrue(from.get(1).matches("eclipse-temurin:25\\.\\d+\\.\\d+_\\d+-jre-\\w+(@sha256:[0-9a-f]{64})?"), from.get(1));
    String labels = String.join(" ", instructionsOfLastStage("LABEL"));
    for (String label : List.of("title", "version", "revision", "base.name")) {
      assertTrue(labels.contains("org.opencontainers.image." + label + "="), "OCI label " + label);
    }
    List<String> runtimeCopies = instructionsOfLastStage("COPY");
    assertEquals(List.of("--from=" + buildStage + " /src/target/switchboard.jar /src/src/main/jvm/jvm.options /app/"),
        runtimeCopies, "the runtime image gets the fat jar and its JVM options and nothing else");
    assertTrue(instructionsOfLastStage("RUN").stream().noneMatch(r -> r.contains("apt-get install")),
        "no tools installed into the runtime image");
    // The AOT cache is made with exactly the options it is used with, or the JVM ignores it, and
    // with the pods' memory, or Netty's allocator takes a path in training that pods never take.
    assertTrue(instructionsOfLastStage("RUN").contains("java @/app/jvm.options -XX:MaxRAM=${AOT_TRAINING_MEMORY}"
        + " -XX:AOTCacheOutput=/app/switchboard.aot -jar /app/switchboard.jar --train"),
        "the training run: " + instructionsOfLastStage("RUN"));
    String user = dockerfile("USER").get(0);
    assertTrue(user.matches("[1-9]\\d*:[1-9]\\d*"), "numeric non-root user, which runAsNonRoot can verify: " + user);
    assertTrue(dockerfileEnv().keySet().stream().noneMatch(v -> v.matches("JDK_JAVA_OPTIONS|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS")),
        "the launcher prints a non-JSON 'Picked up' line for these");
    List<String> entrypoint = YAML.readValue(dockerfile("ENTRYPOINT").get(0), new com.fasterxml.jackson.core.type.TypeReference<List<String>>() {});
    assertEquals(List.of("java", "@/app/jvm.options", "-XX:AOTCache=/app/switchboard.aot", "-jar", "/app/switchboard.jar"),
        entrypoint, "exec form: java is PID 1 and gets SIGTERM");
    Map<String, String> flags = new HashMap<>();
    for (String flag : Files.readAllLines(Path.of("src", "main", "jvm", "jvm.options"))) {
      String[] kv = flag.strip().split("=", 2);
      flags.put(kv[0], kv.length > 1 ? kv[1] : "");
    }
    // Heap + direct + metaspace + code cache must leave room for stacks and GC within the limit.
    int limitMiB = mebibytes(container.at("/resources/limits/memory").asText());
    assertEquals(limitMiB, mebibytes(composeService("switchboard").at("/deploy/resources/limits/memory").asText()),
        "compose limits a replica to what Kubernetes does");
    assertEquals(limitMiB, io.switchboard.bench.RelayBenchmark.POD_MEMORY_LIMIT_MIB,
        "the benchmark sizes its servers' JVM for the pod's limit");
    List<String> trainingMemory = instructionsOfLastStage("ARG").stream()
        .filter(arg -> arg.startsWith("AOT_TRAINING_MEMORY=")).toList();
    assertEquals(1, trainingMemory.size(), "the training's memory: " + instructionsOfLastStage("ARG"));
    assertEquals(limitMiB, mebibytes(trainingMemory.get(0).substring("AOT_TRAINING_MEMORY=".length())),
        "the AOT cache is trained with the pods' memory");
    int heap = limitMiB * Integer.parseInt(flags.get("-XX:MaxRAMPercentage")) / 100;
    assertEquals(flags.get("-XX:MaxRAMPercentage"), flags.get("-XX:InitialRAMPercentage"), "heap fixed from the start");
    int fixed = heap + mebibytes(flags.get("-XX:MaxDirectMemorySize")) + mebibytes(flags.get("-XX:MaxMetaspaceSize"))
        + mebibytes(flags.get("-XX:ReservedCodeCacheSize"));
    assertTrue(limitMiB - fixed >= 64, "heap + direct + metaspace + code cache = " + fixed + " MiB of " + limitMiB
        + ": at least 64 MiB must be left for thread stacks, GC and native memory");
    assertTrue(flags.containsKey("-XX:+ExitOnOutOfMemoryError"));
    List<String> ignore = Files.readAllLines(Path.of(".dockerignore"));
    assertTrue(ignore.containsAll(List.of("*", "!pom.xml", "!README.md", "!src/main/")), "the build context has what the build copies");
  }

  // ---- metrics ----

  @Test
  void dashboardAndAlertsUseOnlyDocumentedMetricsThatTheServerExports() throws IOException {
    String docs = Files.readString(Path.of("docs", "metrics.md"));
    Set<String> documented = new TreeSet<>();
    Matcher row = Pattern.compile("(?m)^\\| `(switchboard_[a-z0-9_]+)` \\|").matcher(docs);
    while (row.find()) {
      documented.add(row.group(1));
    }
    Set<String> families = new TreeSet<>();
    Matcher family = Pattern.compile("`((?:jvm|process|system|vertx)_[a-z_]*)\\*`").matcher(docs);
    while (family.find()) {
      families.add(family.group(1));
    }
    assertFalse(documented.isEmpty() || families.isEmpty());

    JsonNode dashboard = new ObjectMapper().readTree(GRAFANA_DASHBOARD.toFile());
    // Portable between Grafanas: the datasource is a variable, and an instance variable filters.
    Map<String, JsonNode> variables = new HashMap<>();
    dashboard.at("/templating/list").forEach(v -> variables.put(v.path("name").asText(), v));
    assertEquals("datasource", variables.get("datasource").path("type").asText());
    assertEquals("prometheus", variables.get("datasource").path("query").asText());
    assertTrue(variables.get("instance").path("includeAll").asBoolean());
    List<String> expressions = new ArrayList<>();
    for (JsonNode panel : dashboard.path("panels")) {
      assertEquals("${datasource}", panel.at("/datasource/uid").asText(), "panel " + panel.path("title"));
      for (JsonNode target : panel.path("targets")) {
        assertTrue(target.path("expr").asText().contains("instance=~\"$instance\""), "filtered by $instance: " + target.path("expr"));
        expressions.add(target.path("expr").asText());
      }
    }
    yaml(ALERTS).get(0).path("groups").forEach(g -> g.path("rules").forEach(r -> expressions.add(r.path("expr").asText())));

    Set<String> used = new TreeSet<>();
    for (String expr : expressions) {
      Matcher m = METRIC.matcher(expr);
      assertTrue(m.find(), "no metric in " + expr);
      do {
        used.add(m.group(1));
      } while (m.find());
    }
    Set<String> scraped;
    try (ServerFixture server = ServerFixture.start()) {
      scraped = server.metrics().names();
    }
    for (String name : used) {
      if (name.startsWith("switchboard_")) {
        String base = name.replaceFirst("_(bucket|sum|count|max)$", "");
        assertTrue(documented.contains(name) || documented.contains(base), name + " is not in docs/metrics.md");
      } else {
        assertTrue(families.stream().anyMatch(name::startsWith), name + " is in no family docs/metrics.md lists");
        assertTrue(scraped.contains(name), name + " is not exported by the server");
      }
    }
    String provider = yaml(GRAFANA_PROVISIONING.resolve("dashboards/switchboard.yml")).get(0).at("/providers/0/options/path").asText();
    List<String> grafanaVolumes = textList(composeService("grafana").path("volumes"));
    assertTrue(grafanaVolumes.contains("./" + GRAFANA_DASHBOARD.getParent().toString().replace('\\', '/') + ":" + provider + ":ro"),
        "the dashboard is mounted where Grafana looks");
    JsonNode prometheus = yaml(PROMETHEUS).get(0);
    String rules = prometheus.at("/rule_files/0").asText();
    assertTrue(textList(composeService("prometheus").path("volumes")).contains("./" + ALERTS.toString().replace('\\', '/') + ":" + rules + ":ro"));
  }

  @Test
  void thePrometheusRuleHoldsTheAlertsAndEveryAlertHasARunbook() throws IOException {
    JsonNode alerts = yaml(ALERTS).get(0).path("groups");
    JsonNode rule = yaml(PROMETHEUS_RULE).get(0);
    assertEquals("PrometheusRule", rule.path("kind").asText());
    assertEquals(alerts, rule.at("/spec/groups"), "k8s/monitoring/prometheusrule.yaml and deploy/prometheus/alerts.yml agree");
    String operations = Files.readString(OPERATIONS);
    Set<String> anchors = new TreeSet<>();
    Matcher heading = Pattern.compile("(?m)^#{2,4} (.+)$").matcher(operations);
    while (heading.find()) {
      anchors.add(heading.group(1).strip().toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9 _-]", "").replace(' ', '-'));
    }
    int count = 0;
    for (JsonNode group : alerts) {
      for (JsonNode alert : group.path("rules")) {
        count++;
        String runbook = alert.at("/annotations/runbook_url").asText();
        assertTrue(runbook.startsWith("docs/operations.md#"), alert.path("alert") + ": runbook_url into docs/: " + runbook);
        String anchor = runbook.substring(runbook.indexOf('#') + 1);
        assertTrue(anchors.contains(anchor), alert.path("alert") + ": no heading in docs/operations.md for #" + anchor);
      }
    }
    assertTrue(count >= 8, "every alert: " + count);
  }

  // ---- helpers ----

  /** "512Mi", "512M" (compose's megabytes, taken as MiB as Docker does) or "64m" (a JVM flag) in MiB. */
  private static int mebibytes(String size) {
    Matcher m = Pattern.compile("(\\d+)(Mi|M|m|Gi|G|g)").matcher(size.strip());
    assertTrue(m.matches(), "a size: " + size);
    int n = Integer.parseInt(m.group(1));
    return m.group(2).toLowerCase(java.util.Locale.ROOT).startsWith("g") ? n * 1024 : n;
  }

  private static List<JsonNode> yaml(Path file) throws IOException {
    assertTrue(Files.isRegularFile(file), "missing " + file);
    try (var parser = new YAMLFactory().createParser(file.toFile())) {
      return YAML.readValues(parser, JsonNode.class).readAll().stream().filter(n -> n != null && !n.isNull()).toList();
    }
  }

  private static List<Path> yamlFiles(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
          .sorted().collect(Collectors.toCollection(ArrayList::new));
    }
  }

  private static JsonNode resource(String kind, String name) {
    return baseResources.stream()
        .filter(r -> r.path("kind").asText().equals(kind) && r.at("/metadata/name").asText().equals(name))
        .findFirst().orElseGet(() -> fail("no " + kind + " " + name + " in k8s/base"));
  }

  private static JsonNode composeService(String name) {
    JsonNode service = compose.at("/services/" + name);
    assertTrue(service.isObject(), "docker-compose.yml has no service " + name);
    return service;
  }

  private static JsonNode env(JsonNode container, String name) {
    for (JsonNode e : container.path("env")) {
      if (e.path("name").asText().equals(name)) {
        return e;
      }
    }
    return fail("no env " + name);
  }

  private static Set<String> names(JsonNode list) {
    Set<String> out = new LinkedHashSet<>();
    list.forEach(n -> out.add(n.path("name").asText()));
    return out;
  }

  private static Set<String> fieldNames(JsonNode object) {
    Set<String> out = new LinkedHashSet<>();
    object.fieldNames().forEachRemaining(out::add);
    return out;
  }

  private static List<String> textList(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static Set<String> servicePortNames(JsonNode service) {
    return service.at("/spec/ports").findValuesAsText("name").stream().collect(Collectors.toSet());
  }

  private static int containerPort(String name) {
    for (JsonNode p : container.path("ports")) {
      if (p.path("name").asText().equals(name)) {
        return p.path("containerPort").asInt();
      }
    }
    return fail("no container port " + name);
  }

  /** A probe's or Service's port: a number, or the name of a port of the Switchboard container. */
  private static int port(JsonNode port) {
    return port(port, container);
  }

  private static int port(JsonNode port, JsonNode of) {
    if (port.isInt()) {
      return port.asInt();
    }
    for (JsonNode p : of.path("ports")) {
      if (p.path("name").asText().equals(port.asText())) {
        return p.path("containerPort").asInt();
      }
    }
    return fail("no port named " + port);
  }

  /** "20s", "2m" or "120" (seconds). */
  private static int seconds(String duration) {
    Matcher m = Pattern.compile("(\\d+)(s|m)?").matcher(duration.trim());
    assertTrue(m.matches(), "a duration: " + duration);
    int n = Integer.parseInt(m.group(1));
    return "m".equals(m.group(2)) ? n * 60 : n;
  }

  /** The arguments of every {@code name} directive in nginx.conf, in order, without the semicolon. */
  private static List<String> nginxDirectives(String name) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(NGINX)) {
      String t = line.strip();
      if (t.startsWith(name + " ")) {
        out.add(t.substring(name.length() + 1).replaceFirst(";$", "").strip());
      }
    }
    return out;
  }

  /** Dockerfile instructions (continuations joined, comments dropped) as [keyword, arguments]. */
  private static List<String[]> dockerfileInstructions() throws IOException {
    List<String[]> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : Files.readAllLines(DOCKERFILE)) {
      String t = line.strip();
      if (t.startsWith("#") && current.length() == 0 || t.isEmpty()) {
        continue;
      }
      if (t.endsWith("\\")) {
        current.append(t, 0, t.length() - 1).append(' ');
        continue;
      }
      current.append(t);
      String[] parts = current.toString().split("\\s+", 2);
      out.add(new String[] {parts[0].toUpperCase(), parts.length > 1 ? parts[1].replaceAll("\\s+", " ").strip() : ""});
      current.setLength(0);
    }
    return out;
  }

  private static List<String> dockerfile(String keyword) throws IOException {
    return dockerfileInstructions().stream().filter(i -> i[0].equals(keyword)).map(i -> i[1]).toList();
  }

  private static List<String> instructionsOfLastStage(String keyword) throws IOException {
    List<String[]> all = dockerfileInstructions();
    int lastFrom = 0;
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i)[0].equals("FROM")) {
        lastFrom = i;
      }
    }
    return all.subList(lastFrom, all.size()).stream().filter(i -> i[0].equals(keyword)).map(i -> i[1]).toList();
  }

  /** ENV instructions of the Dockerfile, in KEY=VALUE form (quoted values allowed). */
  private static Map<String, String> dockerfileEnv() throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    Pattern pair = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\\S+)");
    for (String args : dockerfile("ENV")) {
      Matcher m = pair.matcher(args);
      assertTrue(m.lookingAt(), "ENV in KEY=VALUE form: " + args);
      m.reset();
      while (m.find()) {
        env.put(m.group(1), m.group(2).replaceAll("^\"|\"$", ""));
      }
    }
    return env;
  }
}
