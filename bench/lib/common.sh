# Shared by the scripts in bench/parts/ (sourced, not run): a portal to measure, fresh databases, wrk, arithmetic.
# Each part runs with BIN (the release `sportello`) and WORK (an empty scratch folder) set by bench/run.

: "${BIN:?BIN must name the release sportello binary (bench/run sets it)}"
: "${WORK:?WORK must name an empty scratch folder (bench/run sets it)}"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_ADMIN=${SPORTELLO_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

log() { echo "  $PART: $*" >&2; }
die() { echo "bench/parts/$PART: $*" >&2; exit 1; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 1e-9) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# json_field FILE_OR_TEXT KEY: the number after "KEY": in one line of JSON.
json_number() { grep -o "\"$2\":[0-9.e+-]*" <<< "$1" | head -n1 | cut -d: -f2; }
# kv TEXT KEY: the value of KEY=VALUE in a line like wrk's summary from the bench scripts.
kv() { grep -o "\b$2=[^ ]*" <<< "$1" | head -n1 | cut -d= -f2; }

need_wrk() {
    command -v wrk >/dev/null && return
    log "installing wrk (Debian package)"
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } ||
        die "wrk is missing and could not be installed with apt-get"
}

# A configuration for measuring: no waiting room, rate limits and shedding far above any load a part makes, so
# that what is measured is the work, not a guard refusing it.
bench_config() {
    cat > "$WORK/bench.toml" <<TOML
[http]
listen = "127.0.0.1:0"
request_timeout_secs = 120
max_connections = 20000

[limits]
per_address_per_minute = 100000000
per_address_burst = 10000000
per_person_per_hour = 100000000
per_person_burst = 10000000
failures_per_address_per_hour = 100000000

[shedding]
max_in_flight = 100000
max_queued = 100000
max_queue_wait_ms = 120000

[notify]
mailbox = "$WORK/mailbox.jsonl"
TOML
    echo "$WORK/bench.toml"
}

# pg_database NAME: creates a fresh PostgreSQL database and prints its URL; cleanup drops it at exit (by its name:
# this runs in a command substitution, whose variables the part never sees).
pg_available() { psql "$PG_ADMIN" -qAtc 'select 1' >/dev/null 2>&1; }
pg_database() {
    local db="sportello_bench_${PART//-/_}_$1_$$"
    psql "$PG_ADMIN" -qc "drop database if exists $db" >/dev/null
    psql "$PG_ADMIN" -qc "create database $db" >/dev/null || die "cannot create database $db at $PG_ADMIN"
    echo "${PG_ADMIN%/*}/$db"
}

# serve URL: starts `sportello serve` on a free loopback port with the bench configuration; sets SERVER_PID and
# BASE (http://127.0.0.1:PORT).
SERVER_PID=""
serve() {
    local url=$1 config
    config=$(bench_config)
    "$BIN" --database-url "$url" serve --config "$config" > /dev/null 2> "$WORK/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        BASE=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/serve.err" | head -n1 || true)
        if [ -n "$BASE" ] && curl -fsS -o /dev/null "$BASE/healthz"; then return; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; die "sportello serve stopped at start"; }
        sleep 0.1
    done
    die "sportello serve did not answer /healthz within 30 s"
}
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() {
    stop_server
    local db
    if pg_available; then
        for db in $(psql "$PG_ADMIN" -qAtc "select datname from pg_database
                where datname like 'sportello_bench_${PART//-/_}_%_$$'"); do
            psql "$PG_ADMIN" -qc "drop database if exists $db" >/dev/null 2>&1 || true
        done
    fi
}
trap cleanup EXIT

# A registry of about N people and its file: the generator's own mix (about half are entitled to something).
registry_file() {
    local persons=$1 out="$WORK/registry-$1.csv"
    [ -s "$out" ] || "$BIN" registry generate --persons "$persons" --seed 2020 --out "$out" 2>/dev/null ||
        die "registry generate --persons $persons failed"
    echo "$out"
}

# build_example CRATE NAME: builds an example in the profile BIN was built in (release for bench/run) and prints
# its path.
build_example() {
    local profile
    profile=$(basename "$(dirname "$BIN")")
    if [ "$profile" = release ]; then
        (cd "$REPO" && cargo build --release --quiet -p "$1" --example "$2") || die "cannot build the example $2"
    else
        (cd "$REPO" && cargo build --quiet -p "$1" --example "$2") || die "cannot build the example $2"
    fi
    echo "$REPO/target/$profile/examples/$2"
}

machine() {
    echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
}
