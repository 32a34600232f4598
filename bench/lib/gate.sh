# Shared by the waiting-room parts (bench/parts/6*-gate-*): the machine, Debian's load tools, a portal process with a
# gate, an nginx beside it, and reading a process's memory. Sourced, not run. Every helper says what failed and where.

# The machine as issue 5 asks each row to name it: cores and memory.
machine() {
    printf '%s cores, %s' "$(nproc)" "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
}

# need_debian COMMAND PACKAGE…: installs the Debian packages when COMMAND is missing (as bench/run does for time).
need_debian() {
    local command=$1; shift
    command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] && return 0
    echo "installing $* (Debian) for $command" >&2
    apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; } || {
        echo "bench/lib/gate.sh: cannot install $* (needed for $command)" >&2; return 1; }
}

NGINX=/usr/sbin/nginx

# Registered with `cleanup_add CMD`; run on exit in reverse order, so that no server outlives the part.
CLEANUP=()
cleanup_add() { CLEANUP=("$1" "${CLEANUP[@]}"); }
cleanup_run() {
    local c
    for c in "${CLEANUP[@]}"; do eval "$c" || true; done
}
trap cleanup_run EXIT

# start_portal NAME CONFIG [ENV=VALUE…]: serves the portal (release build in $BIN) on a free loopback port, on a
# fresh SQLite database in $WORK/NAME.db (or PORTAL_DATABASE_URL), under PORTAL_RUNNER if set (valgrind, say); sets
# PORTAL_PID and PORTAL_URL. Logs go to $WORK/NAME.log.
start_portal() {
    local name=$1 config=$2; shift 2
    local log="$WORK/$name.log"
    env "$@" ${PORTAL_RUNNER:-} "$BIN" --database-url "${PORTAL_DATABASE_URL:-sqlite://$WORK/$name.db}" \
        serve --listen 127.0.0.1:0 --config "$config" 2> "$log" &
    PORTAL_PID=$!
    cleanup_add "kill $PORTAL_PID 2>/dev/null; wait $PORTAL_PID 2>/dev/null"
    local i
    for i in $(seq 1 600); do
        PORTAL_URL=$(sed -n 's/^Sportello is serving on //p' "$log" | head -n1)
        [ -n "$PORTAL_URL" ] && return 0
        kill -0 "$PORTAL_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench: the portal '$name' did not start (config $config); its log $log says:" >&2
    cat "$log" >&2
    return 1
}

# stop PID: SIGTERM, then wait for it.
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# vm_kib PID FIELD: a process's VmRSS or VmHWM, KiB.
vm_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# free_port: a TCP port nothing listens on now.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 30000))
        ss -Htln "sport = :$port" | grep -q . || { echo "$port"; return; }
    done
}

# start_nginx DIR: Debian's nginx serving DIR's files on a free loopback port, one worker per core, no access log,
# keep-alive without a request cap (the portal has none); sets NGINX_URL and NGINX_PID.
start_nginx() {
    local root=$1 port
    port=$(free_port)
    mkdir -p "$WORK/nginx"
    cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
user $(id -un);
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 65;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        root $root;
    }
}
CONF
    "$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
    NGINX_PID=$!
    cleanup_add "kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null"
    NGINX_URL="http://127.0.0.1:$port"
    local i
    for i in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/")" != 000 ] && return 0
        sleep 0.1
    done
    echo "bench: nginx did not start on port $port; $WORK/nginx/error.log says:" >&2
    cat "$WORK/nginx/error.log" >&2
    return 1
}

# take_ticket BASE: takes a place in the waiting room as a JSON client does (a challenge, then its redemption with
# nonce 0, which solves it when the bench config asks for no work) and prints the JSON answer.
take_ticket() {
    local base=$1 offer token
    offer=$(curl -fsS -H 'accept: application/json' "$base/attesa/stato") || {
        echo "bench: GET $base/attesa/stato failed" >&2; return 1; }
    token=$(jq -er '.challenge.token' <<<"$offer") || {
        echo "bench: $base/attesa/stato offered no challenge: $offer" >&2; return 1; }
    curl -fsS -H 'accept: application/json' -H 'content-type: application/json' \
        --data "{\"token\":\"$token\",\"nonce\":0}" "$base/attesa/biglietto" || {
        echo "bench: POST $base/attesa/biglietto refused the challenge" >&2; return 1; }
}

# wrk_rate FILE: requests/s from wrk's output.
wrk_rate() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$1"; }
# wrk_non2xx FILE: wrk's count of answers that were not 2xx or 3xx, and of socket errors.
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
    END { print n + 0 }' "$1"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
