# listo: one binary, its SQLite database on a volume at /data.
# Build:  docker build -t listo .
# Run:    docker run -p 8080:8080 -v listo-data:/data listo

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
