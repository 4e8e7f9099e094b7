# syntax=docker/dockerfile:1
# Switchboard container image: docker build -t switchboard .
# The build stage has Maven and a JDK; the runtime stage gets only a JRE and the fat jar.

FROM maven:3-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
COPY src/main ./src/main
# The cache mount keeps downloaded dependencies between builds without putting them in a layer.
# Tests need Redis and run in CI, not in an image build.
RUN --mount=type=cache,target=/root/.m2 mvn -B -q -Dmaven.test.skip=true package

# The Ubuntu-based JRE image rather than Alpine: its glibc lets Netty load the native epoll
# transport (Alpine's musl would fall back to NIO), and it ships curl for the health check.
FROM eclipse-temurin:17-jre
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid switchboard --no-create-home --shell /usr/sbin/nologin switchboard
WORKDIR /app
COPY --from=build /src/target/switchboard.jar /app/switchboard.jar

# Heap as a share of the container's memory limit, fixed from the start (the -Xms = -Xmx that
# docs/performance.md measured with): half, leaving the rest to Netty's direct buffers, thread
# stacks and metaspace. The parallel collector costs the least CPU per relayed message.
# ExitOnOutOfMemoryError lets the orchestrator replace a node instead of keeping a broken one.
# Override with `docker run -e JDK_JAVA_OPTIONS=...`.
ENV JDK_JAVA_OPTIONS="-XX:InitialRAMPercentage=50 -XX:MaxRAMPercentage=50 -XX:+UseParallelGC -XX:+ExitOnOutOfMemoryError"

EXPOSE 8080
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Shell form so that a PORT given at run time is honoured.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT:-8080}/health/live" >/dev/null || exit 1
# Exec form: java is PID 1 and receives SIGTERM itself, which starts the drain.
ENTRYPOINT ["java", "-jar", "/app/switchboard.jar"]
