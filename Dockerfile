# syntax=docker/dockerfile:1
# Switchboard container image:
#   docker build --build-arg VERSION=0.1.0 --build-arg GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t switchboard .
# The build stage has Maven and a JDK; the runtime stage gets only a JRE and the fat jar.
#
# Base images are pinned to exact release tags (Maven 3.9.9 on Temurin 17; Temurin 17.0.13+11 JRE
# on Ubuntu 22.04), not digests: no digest could be checked from where this was written. Pin by
# digest for reproducible builds: docker buildx imagetools inspect IMAGE:TAG shows it.

FROM maven:3.9.9-eclipse-temurin-17 AS build
# The commit /version reports: the build context has no .git (.dockerignore).
ARG GIT_COMMIT=unknown
WORKDIR /src
# README.md: --help prints its settings table from the jar.
COPY pom.xml README.md ./
COPY src/main ./src/main
# The cache mount keeps downloaded dependencies between builds without putting them in a layer.
# Tests need Redis and run in CI, not in an image build.
RUN --mount=type=cache,target=/root/.m2 mvn -B -q -Dmaven.test.skip=true -Dswitchboard.commit=${GIT_COMMIT} package

# The Ubuntu-based JRE image rather than Alpine: its glibc lets Netty load the native epoll
# transport (Alpine's musl would fall back to NIO), and it ships curl for the health check.
FROM eclipse-temurin:17.0.13_11-jre-jammy
ARG VERSION=0.1.0-SNAPSHOT
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="Switchboard" \
      org.opencontainers.image.description="WebRTC signaling relay on Vert.x" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.base.name="docker.io/library/eclipse-temurin:17.0.13_11-jre-jammy"
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid switchboard --no-create-home --shell /usr/sbin/nologin switchboard
WORKDIR /app
COPY --from=build /src/target/switchboard.jar /app/switchboard.jar

EXPOSE 8080
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Shell form so that a PORT given at run time is honoured.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT:-8080}/health/live" >/dev/null || exit 1
# Exec form: java is PID 1 and receives SIGTERM itself, which starts the drain.
#
# The JVM flags are arguments here, not JDK_JAVA_OPTIONS or JAVA_TOOL_OPTIONS: the launcher
# prints "Picked up ..." for either, a line that is not JSON ahead of the JSON logs. Sized for the
# 512 MiB limit of k8s/ and docker-compose.yml (arithmetic: docs/operations.md, Memory):
#   heap        50 % of the container limit, fixed from the start   256 MiB
#   direct      Netty's buffers (by default as large as the heap)    64 MiB
#   metaspace   about 18 MiB used after start-up                     64 MiB
#   code cache  JIT-compiled code                                    48 MiB
#   left for thread stacks, GC structures and native allocations    80 MiB
# The parallel collector costs the least CPU per relayed message; ExitOnOutOfMemoryError lets
# the orchestrator replace a node instead of keeping a broken one. For another memory limit,
# override the command (Kubernetes: command:, docker run --entrypoint java ...).
ENTRYPOINT ["java", "-XX:InitialRAMPercentage=50", "-XX:MaxRAMPercentage=50", "-XX:MaxDirectMemorySize=64m", "-XX:MaxMetaspaceSize=64m", "-XX:ReservedCodeCacheSize=48m", "-XX:+UseParallelGC", "-XX:+ExitOnOutOfMemoryError", "-jar", "/app/switchboard.jar"]
