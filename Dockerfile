# listo: one binary, its SQLite database on a volume at /data.
# Build:  docker build -t listo .
# Run:    docker run --name listo -p 8080:8080 -v listo-data:/data listo
# Codes:  without LISTO_SMTP_URL they are .eml files in /data/outbox; the image has no shell, so
#         copy them out: docker cp listo:/data/outbox ./outbox   (docs/DEPLOY.md)
# Health: HEALTHCHECK below is liveness (`listo healthcheck` GETs /healthz); /readyz is for
#         routing only (it answers 503 while database writes fail).

# ---- build: the same command scripts/smoke.sh runs and checks outside Docker
FROM rust:1.95-slim-bookworm AS build
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
COPY --from=build --chown=65532:65532 /data /data
ENV PORT=8080 \
    LISTO_DATABASE=/data/listo.db \
    LISTO_OUTBOX=/data/outbox \
    LISTO_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/listo", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/listo"]
CMD ["serve"]
