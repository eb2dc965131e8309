# currents-relay container image.
#
#   docker build -t currents-relay .
#   docker run --rm -v "$PWD/config/relay.compose.yaml:/etc/currents-relay/relay.yaml:ro" --env-file .env currents-relay
#
# The image has no configuration of its own: mount one at /etc/currents-relay/relay.yaml (as
# docker-compose.yml does) and pass secrets as CURRENTS_RELAY_* environment variables.

# ---- build --------------------------------------------------------------------------------------
# Swift 6.3 on Debian 12 (bookworm), as on the development machines. The package's dependencies need
# Swift tools 6.2 or later (swift-configuration, swift-log, hummingbird, async-http-client, ...), so
# a 6.1 toolchain cannot resolve them; scripts/check-deploy checks this version against them.
FROM swift:6.3-bookworm AS build

# librdkafka's headers for the Crdkafka system-library target (found through pkg-config), and
# jemalloc, the executable's allocator (Sources/MallocConfiguration/malloc_conf.c says why).
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y librdkafka-dev libjemalloc-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Dependencies first, so this layer is cached until Package.swift changes.
COPY Package.swift ./
RUN swift package resolve

# Then the sources (the test targets' directories must exist for the manifest to load).
COPY Sources ./Sources
COPY Tests ./Tests

# The Swift runtime and Foundation are linked statically; librdkafka and jemalloc stay dynamic (Debian's).
RUN swift build -c release --product currents-relay --static-swift-stdlib \
    && mkdir -p /staging \
    && cp "$(swift build -c release --show-bin-path)/currents-relay" /staging/currents-relay

# ---- runtime ------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# librdkafka1 (the same 2.0.2 the binary was built against), libjemalloc2 (its allocator), CA certificates for https to mParticle
# and TLS to brokers, tzdata for Foundation's time zones, curl for the healthcheck.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends librdkafka1 libjemalloc2 ca-certificates tzdata curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid relay --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin relay \
    && mkdir -p /etc/currents-relay

COPY --from=build /staging/currents-relay /usr/local/bin/currents-relay

USER relay

# /metrics, /health/live, /health/ready (http.port in the configuration).
EXPOSE 9464

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:9464/health/live || exit 1

ENTRYPOINT ["currents-relay"]
CMD ["run", "--config", "/etc/currents-relay/relay.yaml"]
