# Sportello's image: built in one stage with the Rust toolchain and npm (the build fetches the pinned
# bootstrap-italia package once and embeds it), run in another that holds the binary (the scheme files are built
# in), the example configuration and the CA certificates: no compiler, no npm, no package lists. It runs as an
# unprivileged account (uid 10001), never as root.
#
#   docker build -t sportello .
#   docker run --rm -p 8080:8080 -e SPORTELLO_DATABASE_URL=postgres://… sportello
#
# docs/DEPLOY.md runs it in the topology of deploy/compose/compose.yaml.

FROM rust:1.94-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs=18.* npm=9.* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p sportello --bin sportello \
    && install -D -m 0755 target/release/sportello /out/sportello

FROM debian:bookworm-slim AS run
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311* \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sportello \
    && useradd --system --uid 10001 --gid sportello --home-dir /var/lib/sportello --create-home sportello
COPY --from=build /out/sportello /usr/local/bin/sportello
COPY docs/sportello.example.toml /usr/share/sportello/sportello.example.toml
USER 10001:10001
WORKDIR /var/lib/sportello
ENV SPORTELLO_HTTP__LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sportello"]
CMD ["serve", "--config", "/etc/sportello/sportello.toml"]
