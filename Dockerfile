# syntax=docker/dockerfile:1
# Switchboard container image:
#   docker build --build-arg VERSION=0.1.0 --build-arg GIT_COMMIT=$(git rev-parse --short=12 HEAD) -t switchboard .
# The build stage has Maven and a JDK; the runtime stage gets only a JRE, the fat jar, its JVM
# options and the AOT cache made with them.
#
# Base images are pinned to exact release tags (Maven 3.9.9 on Temurin 17; Temurin 25.0.3+9 JRE
# on Ubuntu 24.04), not digests: no digest could be checked from where this was written. Pin by
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
# Java 25 although the code needs only 17: compact object headers and the AOT cache below cut
# memory per connection and the CPU a fresh node spends on its first connections
# (docs/performance.md, "Per-node capacity").
FROM eclipse-temurin:25.0.3_9-jre-noble
ARG VERSION=0.1.0-SNAPSHOT
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="Switchboard" \
      org.opencontainers.image.description="WebRTC signaling relay on Vert.x" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.base.name="docker.io/library/eclipse-temurin:25.0.3_9-jre-noble"
RUN groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid switchboard --no-create-home --shell /usr/sbin/nologin switchboard
WORKDIR /app
COPY --from=build /src/target/switchboard.jar /src/src/main/jvm/jvm.options /app/
# The AOT cache: classes loaded and linked, and method profiles, recorded while the jar's own
# loopback training (--train: 2,000 connections joining, relaying, resuming, leaving) runs with the same
# JVM options as the entrypoint, so that the cache matches the runtime that uses it.
# And with the memory a pod gets, not the build machine's: Netty's allocator leaves out its
# per-thread caches when the heap is 512 MiB or less (a limit of 1 GiB or less), and a training
# that took the other path records compiled methods the node can never use, which then wait for
# the JIT until a reconnect storm (docs/performance.md, "The AOT cache trained under the pod's
# memory"). For pods with a limit above 1 GiB, build with --build-arg AOT_TRAINING_MEMORY=<limit>.
ARG AOT_TRAINING_MEMORY=512m
RUN java @/app/jvm.options -XX:MaxRAM=${AOT_TRAINING_MEMORY} -XX:AOTCacheOutput=/app/switchboard.aot -jar /app/switchboard.jar --train

EXPOSE 8080
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Shell form so that a PORT given at run time is honoured.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${PORT:-8080}/health/live" >/dev/null || exit 1
# Exec form: java is PID 1 and receives SIGTERM itself, which starts the drain.
#
# The JVM options are in /app/jvm.options (src/main/jvm/jvm.options, one per line), the file the
# benchmark also starts its servers with; not in JDK_JAVA_OPTIONS or JAVA_TOOL_OPTIONS, for which
# the launcher prints "Picked up ...", a line that is not JSON ahead of the JSON logs. Sized for
# the 512 MiB limit of k8s/ and docker-compose.yml (arithmetic: docs/operations.md, Memory):
#   heap        50 % of the container limit, fixed from the start   256 MiB
#     of which the young generation, fixed small (-Xmn16m): the garbage of handshakes and
#     relays reuses the same 16 MiB instead of touching new pages as a node fills up (half of
#     the 32 MiB before: 12-15 MiB less RSS, young pauses as short, twice as many)
#   direct      Netty's buffers (by default as large as the heap)    64 MiB
#   metaspace   about 18 MiB used after start-up                     64 MiB
#   code cache  JIT-compiled code                                    48 MiB
#     of which about 8 MiB used under load; SweeperThreshold=100 stops the JVM from collecting
#     it (a full GC with the serial collector: 35 ms) every time 15 % of the cap has been compiled
#     since the last one, which landed once during warm-up traffic (docs/performance.md)
#     FreqInlineSize=100 and InlineSmallCode=1000 keep C2 from inlining deep trees into code
#     that runs once per connection (100-300 ms of C2 each): set-up costs a third less, relays
#     the same once warm (docs/performance.md, "Set-up cost: the JIT, measured")
#   left for thread stacks, GC structures and native allocations    80 MiB
#     TrimNativeHeapInterval=1000 hands back, every second, what the C library's allocator keeps
#     of freed native memory (the JIT's arenas, mostly): 3 MiB less RSS fresh, 3-6 MiB less with
#     18,000 sockets (docs/performance.md)
# The serial collector: one event loop per two cores needs no parallel GC threads, and with a
# 16 MiB young generation its pauses stay near 1 ms. Compact object headers (Java 25) make
# every object 4 bytes smaller. ExitOnOutOfMemoryError lets the orchestrator replace a node
# instead of keeping a broken one. For another memory limit, override the command (Kubernetes:
# command:, docker run --entrypoint java ...).
ENTRYPOINT ["java", "@/app/jvm.options", "-XX:AOTCache=/app/switchboard.aot", "-jar", "/app/switchboard.jar"]
