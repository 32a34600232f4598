# A PostgreSQL 15 member under Patroni, from Debian's packages, as deploy/local-cluster runs them. Configured by
# PATRONI_* variables (compose.yaml); it runs as `postgres`, made here with a fixed id before the package would make
# it with whatever id is free, so that volumes keep one owner.
FROM debian:bookworm-slim
RUN groupadd --system --gid 10002 postgres \
    && useradd --system --uid 10002 --gid postgres --home-dir /var/lib/postgresql postgres \
    && apt-get update \
    && apt-get install -y --no-install-recommends patroni=3.0.* postgresql-15=15.* \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 0700 /var/lib/patroni /var/lib/patroni/wal-archive
COPY --chown=10002:10002 patroni.yml /etc/patroni/patroni.yml
USER 10002:10002
WORKDIR /var/lib/patroni
EXPOSE 5432 8008
ENTRYPOINT ["/usr/bin/patroni", "/etc/patroni/patroni.yml"]
