#!/usr/bin/env bash
# Benchmark edmo behind nginx against two baselines on this machine, in one run:
#   /bench/nginx   nginx answering by itself (return 200)
#   /bench/hello   nginx + a bare C libfcgi responder (bench/hello.c)
#   /api/...       nginx + edmo, authenticated with a real session cookie
#
# Usage: bench/run.sh EDMO_BIN                 throughput table + target line, ..., contention rows
#        bench/run.sh EDMO_BIN --starvation    load at -c128/-c256/-c1024, then time one request (nginx alone
#                                              and the C hello under the same loads for reference)
#        bench/run.sh EDMO_BIN --reads         the baselines and the read rows only (to compare two builds)
#        bench/run.sh EDMO_BIN --table         the baselines, read and write rows: the table without the chat,
#                                              analytics-at-scale and webhook rows (to compare two builds)
#        bench/run.sh EDMO_BIN --webhooks      the baselines and the webhook row only (to compare two builds)
#        bench/run.sh EDMO_BIN --reporting     the baselines, the analytics-at-scale rows, then the time series and
#                                              CSV export rows (issue 15) only
#        bench/run.sh EDMO_BIN --contention    only the contention rows: GET /api/assistants without and
#                                              with a bad-login flood and slow model calls behind it
#        bench/run.sh EDMO_BIN --events        outbound events delivered per second to a local receiver
#                                              (bench/event_receiver.py): BENCH_EVENTS assistants created
#                                              with the delivery threads off, then edmo restarted with them on
#                                              (BENCH_EVENT_WORKERS, default 2) and timed until all arrived
#
# Environment knobs:
#   BENCH_SECONDS      seconds per wrk run (default 5)
#   BENCH_CONNECTIONS  wrk connections in the table runs (default 64)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_RUNS         wrk runs per target, median taken (default 3)
#   BENCH_WARMUP       warm-up seconds per target, discarded (default 2)
#   EDMO_WORKERS       edmo worker threads, passed as --workers (default 8)
#   HELLO_THREADS      C hello threads (default 8)
#   BENCH_CONTENTION_CONNECTIONS  wrk connections on GET /api/assistants in the contention rows (default 8)
#   BENCH_FLOOD_CLIENTS   concurrent bad-login clients, each in a loop (default 200)
#   BENCH_SLOW_CALLS      concurrent chat calls to the slow fake model (default 20)
#   BENCH_SLOW_MODEL_SECONDS  how long the fake model takes to answer (default 10, at least ramp + seconds + 2)
#   BENCH_CONTENTION_RAMP seconds of background load before measuring (default 2)
#   BENCH_KEEP=1       keep the run directory (logs, raw wrk output) instead of removing it
#   BENCH_STORE        sqlite (default), postgres, or both. postgres: a throwaway PostgreSQL cluster
#                      (tests/pg/cluster, fsync and synchronous_commit on) in the run directory, removed on exit,
#                      and EDMO_DATABASE set to it; everything else is the same. both: this script once per
#                      store (SQLite, then PostgreSQL), then one table of the two side by side with the ratios
#                      and the goals of issue 12 (bench/compare.py); what `make bench` runs
#   BENCH_RESULTS      also write every row to this file, tab-separated (bench/compare.py reads two of them)
#   BENCH_ANALYTICS_ROWS  conversations in the second analytics step (default 1000000; the first is 10000);
#                      the time series and CSV export rows (issue 15) run on that database
#
# Exit status: 0 when the benchmark ran, whether or not the target is met;
# non-zero when something broke (a server did not start, a non-2xx response,
# socket errors under load, a request hanging after load).
set -euo pipefail

die() { echo "bench: $*" >&2; exit 1; }

[ $# -ge 1 ] || { echo "usage: $0 EDMO_BIN [--starvation|--contention|--reads|--table|--webhooks|--reporting|--events]" >&2; exit 2; }
edmo_arg=$1
mode=table
case ${2:-} in
    '') ;;
    --starvation) mode=starvation ;;
    --contention) mode=contention ;;
    --reads) mode=reads ;;
    --table) mode=table-only ;;
    --webhooks) mode=webhooks ;;
    --reporting) mode=reporting ;;
    --events) mode=events ;;
    *) echo "usage: $0 EDMO_BIN [--starvation|--contention|--reads|--table|--webhooks|--reporting|--events]" >&2; exit 2 ;;
esac

repo=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd -P)
[ -x "$edmo_arg" ] || die "not an executable: $edmo_arg (build with: swift build -c release --product edmo)"
EDMO_BIN=$(CDPATH= cd -- "$(dirname -- "$edmo_arg")" && pwd -P)/$(basename -- "$edmo_arg")

store=${BENCH_STORE:-sqlite}
case $store in
    sqlite|postgres) ;;
    both)
        # One run per store, one after the other with the same settings, each writing its rows to a
        # results file; then the two side by side. Both runs go ahead even if the first breaks.
        results=$(mktemp -d /tmp/edmo-bench-both.XXXXXX)
        [ "${BENCH_KEEP:-}" = 1 ] || trap 'rm -rf "$results"' EXIT
        status=0
        for s in sqlite postgres; do
            echo "==== bench: $s ====" >&2
            echo "==== $s"
            BENCH_STORE=$s BENCH_RESULTS=$results/$s.tsv "$repo/bench/run.sh" "$@" || status=$?
        done
        if [ "$status" = 0 ] && [ -s "$results/sqlite.tsv" ] && [ -s "$results/postgres.tsv" ]; then
            echo "==== both stores"
            python3 "$repo/bench/compare.py" "$results/sqlite.tsv" "$results/postgres.tsv"
        fi
        [ "${BENCH_KEEP:-}" = 1 ] && echo "bench: kept the results files in $results" >&2
        exit "$status"
        ;;
    *) die "BENCH_STORE must be sqlite, postgres or both, not '$store'" ;;
esac
results_file=${BENCH_RESULTS:-}
if [ -n "$results_file" ]; then
    case $results_file in /*) ;; *) results_file=$PWD/$results_file ;; esac
    : > "$results_file" || die "cannot write $results_file"
fi

seconds=${BENCH_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-64}
wrk_threads=${BENCH_THREADS:-2}
runs=${BENCH_RUNS:-3}
warmup=${BENCH_WARMUP:-2}
workers=${EDMO_WORKERS:-8}
hello_threads=${HELLO_THREADS:-8}
contention_connections=${BENCH_CONTENTION_CONNECTIONS:-8}
flood_clients=${BENCH_FLOOD_CLIENTS:-200}
slow_calls=${BENCH_SLOW_CALLS:-20}
ramp=${BENCH_CONTENTION_RAMP:-2}
slow_model_seconds=${BENCH_SLOW_MODEL_SECONDS:-10}
analytics_rows=${BENCH_ANALYTICS_ROWS:-1000000}
for v in seconds connections wrk_threads runs warmup workers hello_threads contention_connections flood_clients \
         slow_calls ramp slow_model_seconds analytics_rows; do
    case ${!v} in ''|*[!0-9]*) die "$v must be a whole number, not '${!v}'" ;; esac
done
[ "$runs" -ge 1 ] || die "BENCH_RUNS must be at least 1"
[ "$analytics_rows" -ge 10000 ] || die "BENCH_ANALYTICS_ROWS must be at least 10000 (the first analytics step)"
# The slow calls must still be in flight when the measurement ends.
[ "$slow_model_seconds" -ge $(( ramp + seconds + 2 )) ] || slow_model_seconds=$(( ramp + seconds + 2 ))

# ---- tools (installed quietly if missing; Debian package names) ------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v cc >/dev/null || need+=(gcc)
command -v curl >/dev/null || need+=(curl)
[ -r /usr/include/fcgiapp.h ] || need+=(libfcgi-dev)
if [ "$store" = postgres ]; then
    { command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing ${need[*]}; install them (apt-get install -y ${need[*]})"
    echo "bench: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${need[@]}" >/dev/null; } \
        || die "could not install ${need[*]}"
fi
PATH=$PATH:/usr/sbin
# wrk holds one descriptor per connection (-c1024 in --starvation).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- run directory and cleanup ----------------------------------------------
tmp=$(mktemp -d /tmp/edmo-bench.XXXXXX)
chmod 755 "$tmp"   # nginx workers run as nobody and must reach the sockets
mkdir -p "$tmp/web"
cp -r "$repo/web/." "$tmp/web/"  # the dashboard, for bench/dashboard_timing.py

edmo_pid='' hello_pid='' fake_pid='' nginx_started='' pg_dir='' sampler_pid=''
failed_logs() {
    local f
    for f in edmo.log hello.log error.log pg/server.log; do
        [ -s "$tmp/$f" ] || continue
        echo "---- last lines of $tmp/$f" >&2
        tail -n 20 "$tmp/$f" >&2
    done
}
stop_pid() { # PID NAME: SIGTERM, wait up to 5 s, then SIGKILL (and say so)
    local pid=$1 name=$2 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "bench: $name (pid $pid) ignored SIGTERM for 5 s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local status=$? pid i
    trap - EXIT INT TERM
    set +e
    [ "$status" -eq 0 ] || failed_logs
    [ -n "$edmo_pid" ] && stop_pid "$edmo_pid" edmo
    [ -n "$hello_pid" ] && stop_pid "$hello_pid" hello
    [ -n "$fake_pid" ] && stop_pid "$fake_pid" "fake model server"
    [ -n "${receiver_pid:-}" ] && stop_pid "$receiver_pid" "event receiver"
    [ -n "$sampler_pid" ] && stop_pid "$sampler_pid" "connection sampler"
    if [ -n "$pg_dir" ]; then
        [ "${BENCH_KEEP:-}" = 1 ] && cp "$pg_dir/server.log" "$tmp/postgres.log" 2>/dev/null
        "$repo/tests/pg/cluster" stop "$pg_dir"
    fi
    if [ -n "$nginx_started" ] && [ -s "$tmp/nginx.pid" ]; then
        pid=$(cat "$tmp/nginx.pid")
        nginx -q -s quit -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/error.log" 2>/dev/null
        for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { echo "bench: nginx did not quit; SIGTERM" >&2; kill -TERM "$pid"; sleep 0.5; }
    fi
    if [ "${BENCH_KEEP:-}" = 1 ]; then
        echo "bench: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    else
        local p
        while :; do
            p=$(( 20000 + RANDOM % 20000 ))
            (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
        done
    fi
}

wait_for_socket() { # PATH PID NAME
    local i
    for i in $(seq 100); do
        [ -S "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited before creating $1"
        sleep 0.1
    done
    die "$3 did not create $1 within 10 s"
}

# ---- servers ----------------------------------------------------------------
cc -O2 -o "$tmp/hello" "$repo/bench/hello.c" -lfcgi -lpthread

port=$(free_port)
base=http://127.0.0.1:$port
# nginx's login rate limit is lifted: the contention rows stand for a login flood from many addresses,
# which a per-address limit would not stop (the only other login is the one below).
EDMO_NGINX_LOGIN_RATE=1000000r/m EDMO_NGINX_LOGIN_BURST=100000 \
    "$repo/nginx/render" "$port" "$tmp/edmo.sock" "$tmp/web" "$tmp" > "$tmp/nginx.conf"
nginx -q -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/error.log" || die "nginx did not start (see above)"
nginx_started=1

"$tmp/hello" "$tmp/hello.sock" "$hello_threads" 2>"$tmp/hello.log" &
hello_pid=$!
wait_for_socket "$tmp/hello.sock" "$hello_pid" "C hello"

# ---- the store ----------------------------------------------------------------
# PostgreSQL: a throwaway cluster in the run directory (stopped and removed by cleanup), as the tests use:
# Debian's defaults with fsync and synchronous_commit on, so that every acknowledged write is durable, as
# SQLite's synchronous=FULL makes it. Its settings are printed in the header and checked here.
pool=${EDMO_DATABASE_POOL:-$(( workers + 2 ))}
if [ "$store" = postgres ]; then
    pg_dir=$tmp/pg
    pg_url=$("$repo/tests/pg/cluster" start "$pg_dir") || die "the PostgreSQL cluster did not start"
    export EDMO_DATABASE=$pg_url
    pg_settings=$(psql -X -qAt -d "$pg_url" -F ' ' -c "SELECT split_part(current_setting('server_version'), ' ', 1),
        current_setting('fsync'), current_setting('synchronous_commit'), current_setting('shared_buffers'),
        current_setting('max_connections')") || die "psql cannot reach $pg_url"
    read -r pg_version pg_fsync pg_sync pg_buffers pg_max <<< "$pg_settings"
    [ "$pg_fsync" = on ] && [ "$pg_sync" = on ] \
        || die "PostgreSQL has fsync=$pg_fsync synchronous_commit=$pg_sync: writes would not be durable"
    store_note="PostgreSQL $pg_version ($pg_url), fsync=on synchronous_commit=on shared_buffers=$pg_buffers max_connections=$pg_max; pool $pool per edmo process"
else
    export EDMO_DATABASE=$tmp/db.sqlite
    store_note="SQLite $tmp/db.sqlite, synchronous=FULL"
fi
# db_query SQL: the rows of SQL on the bench's database, whichever the store, columns joined by '|'.
db_query() {
    if [ "$store" = postgres ]; then
        psql -X -qAt -v ON_ERROR_STOP=1 -d "$EDMO_DATABASE" -c "$1"
    else
        python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1], timeout=30).execute(sys.argv[2]): print("|".join(map(str, row)))' \
            "$EDMO_DATABASE" "$1"
    fi
}
# result KIND NAME REQ/S P50_MS P99_MS [NOTE]: one row for the results file (BENCH_RESULTS), tab-separated.
result() {
    [ -n "$results_file" ] || return 0
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "${6:-}" >> "$results_file"
}
# PostgreSQL only: the connections the server sees from this database's clients, sampled every 0.2 s in
# the background for the whole run (except the sampler's own), each sample tagged with the phase named in
# $tmp/phase; pg_connections PHASE prints the most seen in that phase ('' if none).
phase() { echo "$1" > "$tmp/phase"; }
phase setup
start_sampler() {
    [ "$store" = postgres ] || return 0
    (
        while :; do
            n=$(psql -X -qAt -d "$EDMO_DATABASE" -c "SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()" \
                2>/dev/null) && echo "$(cat "$tmp/phase") $n"
            sleep 0.2
        done
    ) >> "$tmp/pg-connections.txt" &
    sampler_pid=$!
}
pg_connections() {
    awk -v p="$1" '$1 == p && $2 > m { m = $2 } $1 == p { n++ } END { if (n) print m " " n }' "$tmp/pg-connections.txt" 2>/dev/null
}

secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export EDMO_SECRET_KEY=$secret EDMO_MIGRATIONS=$repo/migrations
export ANALYTICS_API_KEY=bench-analytics-key-0123456789abcdef EDMO_WEBHOOK_SECRET=bench-webhook-secret-0123456789abcdef
echo 'bench-password-1' | "$EDMO_BIN" users add --email bench@example.edu --role ADMIN --password-stdin \
    >"$tmp/users.log" 2>&1 || { cat "$tmp/users.log" >&2; die "edmo users add failed"; }
# start_edmo [NAME=VALUE...]: edmo serve on $tmp/edmo.sock, with these settings on top of the exported ones.
start_edmo() {
    rm -f "$tmp/edmo.sock"
    env "$@" "$EDMO_BIN" serve --socket "$tmp/edmo.sock" --socket-mode 666 --workers "$workers" 2>>"$tmp/edmo.log" &
    edmo_pid=$!
    wait_for_socket "$tmp/edmo.sock" "$edmo_pid" edmo
}
# The contention rows: chats with model.provider openai go to a slow local fake (EDMO_ALLOW_PRIVATE_URLS lets
# edmo reach 127.0.0.1), and the per-address login lockout is out of the way so every bad login is hashed
# (each uses a new email, so no account lockout applies either).
start_fake_openai() {
    python3 "$repo/bench/fake_openai.py" "$slow_model_seconds" > "$tmp/fake_openai.out" 2>&1 &
    fake_pid=$!
    local i
    for i in $(seq 100); do
        fake_port=$(sed -n 's/^port //p' "$tmp/fake_openai.out")
        [ -n "$fake_port" ] && return 0
        kill -0 "$fake_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$tmp/fake_openai.out" >&2
    die "the fake model server did not start"
}
contention_env() {
    echo "OPENAI_BASE_URL=http://127.0.0.1:$fake_port/v1" EDMO_ALLOW_PRIVATE_URLS=1 EDMO_LOGIN_ADDRESS_MAX_FAILURES=100000
}
if [ "$mode" = contention ]; then
    start_fake_openai
    # shellcheck disable=SC2046 # word splitting intended: NAME=VALUE words without spaces
    start_edmo $(contention_env)
elif [ "$mode" = events ]; then
    # The events are written first, with no delivery thread; the delivery is timed after a restart.
    start_edmo EDMO_ALLOW_PRIVATE_URLS=1 EDMO_EVENT_WORKERS=0
else
    start_edmo
fi
start_sampler

code=$(curl -sS -o "$tmp/login.body" -D "$tmp/login.headers" -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/json' \
    --data '{"email":"bench@example.edu","password":"bench-password-1"}' "$base/api/auth/login") \
    || die "login request failed"
[ "$code" = 200 ] || { cat "$tmp/login.body" >&2; echo >&2; die "login answered $code, not 200"; }
token=$(tr -d '\r' < "$tmp/login.headers" | sed -n 's/^[Ss]et-[Cc]ookie: *auth-token=\([^;]*\).*/\1/p' | head -n 1)
[ -n "$token" ] || die "login answered 200 without an auth-token cookie"
auth="Cookie: auth-token=$token"
rss_mib() { awk -v k="$1" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$edmo_pid/status"; }
idle_rss=$(rss_mib VmRSS)

# ---- measuring --------------------------------------------------------------
# check_200 PATH [HEADER]: one plain request must answer 200 before any load.
check_200() {
    local path=$1 header=${2:-} code
    local args=(-sS -o "$tmp/check.body" -w '%{http_code}' --max-time 10)
    [ -n "$header" ] && args+=(-H "$header")
    code=$(curl "${args[@]}" "$base$path") || die "GET $path failed"
    [ "$code" = 200 ] || { head -c 300 "$tmp/check.body" >&2; echo >&2; die "GET $path answered $code, not 200"; }
}

# to_ms VALUE: wrk's "812.00us" / "6.17ms" / "1.20s" / "2.00m" in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        else if (u == "h") n *= 3600000; else if (u != "ms") { print "?"; exit 1 }
        printf "%.2f", n }'
}

# run_wrk OUT CONNS SECONDS PATH [HEADER] -> prints "RPS P99_MS NON2XX SOCKET_ERRORS P50_MS"
run_wrk() {
    local out=$1 conns=$2 secs=$3 path=$4 header=${5:-}
    local args=(-t"$wrk_threads" -c"$conns" -d"${secs}s" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    [ -n "${WRK_SCRIPT:-}" ] && args+=(-s "$WRK_SCRIPT")
    wrk "${args[@]}" "$base$path" > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed on $path"; }
    local rps p50 p99 non2xx errs
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    non2xx=$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")
    # "Socket errors: connect 0, read 0, write 0, timeout 0" (only printed when non-zero)
    errs=$(awk '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$out")
    [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || { cat "$out" >&2; die "could not read wrk output for $path"; }
    echo "$rps $(to_ms "$p99") ${non2xx:-0} ${errs:-0} $(to_ms "$p50")"
}

names=() paths=() med_rps=() med_p99=() all_rps=()
hello_rps=''
kind=baseline  # the kind of the rows measure records in the results file: baseline, read, write, write-hashed

# measure NAME PATH [HEADER]: warm up, BENCH_RUNS wrk runs, keep the median run.
# Fails loudly on a non-200 check, any non-2xx/3xx response or socket error.
measure() {
    local name=$1 path=$2 header=${3:-} i result rps p50 p99 non2xx errs
    local file=${name//[^A-Za-z0-9._-]/_}
    [ -z "${WRK_SCRIPT:-}" ] && check_200 "$path" "$header"
    [ "$warmup" -gt 0 ] && run_wrk "$tmp/wrk-$file-warmup.txt" "$connections" "$warmup" "$path" "$header" >/dev/null
    local lines=() list=''
    for i in $(seq "$runs"); do
        result=$(run_wrk "$tmp/wrk-$file-$i.txt" "$connections" "$seconds" "$path" "$header")
        read -r rps p99 non2xx errs p50 <<< "$result"
        if [ "$non2xx" != 0 ] || [ "$errs" != 0 ]; then
            cat "$tmp/wrk-$file-$i.txt" >&2
            die "$name ($path): $non2xx non-2xx/3xx responses and $errs socket errors under load (run $i)"
        fi
        lines+=("$rps $p99 $p50")
        list+="${list:+/}$(printf '%.0f' "$rps")"
    done
    read -r rps p99 p50 <<< "$(printf '%s\n' "${lines[@]}" | sort -n -k1,1 | sed -n "$(( (runs + 1) / 2 ))p")"
    names+=("$name") paths+=("$path") med_rps+=("$rps") med_p99+=("$p99") all_rps+=("$list")
    result "$kind" "$name" "$rps" "$p50" "$p99" "clients=$connections;runs=$list"
    [ "$path" = /bench/hello ] && hello_rps=$rps
    printf 'bench: %-12s %-16s %10.0f req/s  p99 %7.2f ms  (runs %s)\n' "$name" "$path" "$rps" "$p99" "$list" >&2
}

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", 100 * a / b; else print "?" }'; }

print_table() {
    local i ratio
    printf '\n%-12s %-18s %10s %9s %8s  %s\n' name path 'req/s' 'p99 ms' 'vs C' "runs (req/s)"
    for i in "${!names[@]}"; do
        ratio=$(pct "${med_rps[$i]}" "$hello_rps")
        printf '%-12s %-18s %10.0f %9.2f %7s%%  %s\n' \
            "${names[$i]}" "${paths[$i]}" "${med_rps[$i]}" "${med_p99[$i]}" "$ratio" "${all_rps[$i]}"
    done
}

if [ "$mode" = starvation ]; then load="-c128, -c256 and -c1024, one run each"; else load="-c$connections, median of $runs"; fi
header="$(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg); wrk -t$wrk_threads -d${seconds}s --latency $load; edmo --workers $workers, C hello $hello_threads threads; nginx on $base"
echo "bench: $header" >&2
echo "bench: store: $store_note" >&2
result meta store "$store" '' '' "$store_note"
result meta header '' '' '' "$header"
result meta started '' '' '' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"

if [ "$mode" = starvation ]; then
    # FASTCGI-NOTES pitfall 1: with upstream keep-alive, load leaves every
    # libfcgi thread parked on an idle nginx connection and the next request
    # hangs. Load hard, then time one plain request straight after.
    # The same loads on nginx alone and on the C hello: what p99 this machine (wrk, nginx and a responder
    # sharing its cores) allows at each level, whatever the responder.
    check_200 /api/auth/me "$auth"
    printf '\n%-6s %10s %9s %8s %8s  %-22s %18s %18s\n' conns 'req/s' 'p99 ms' non2xx errors 'next request' \
        'nginx: req/s, p99' 'C hello: req/s, p99'
    verdict=ok
    for conns in 128 256 1024; do
        read -r nginx_rps nginx_p99 _ <<< "$(run_wrk "$tmp/wrk-starve-nginx-$conns.txt" "$conns" "$seconds" /bench/nginx)"
        read -r hello_rps hello_p99 _ <<< "$(run_wrk "$tmp/wrk-starve-hello-$conns.txt" "$conns" "$seconds" /bench/hello)"
        result=$(run_wrk "$tmp/wrk-starve-$conns.txt" "$conns" "$seconds" /api/auth/me "$auth")
        read -r rps p99 non2xx errs _ <<< "$result"
        res=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 -H "$auth" "$base/api/auth/me") \
            || res="failed 30"
        read -r code secs <<< "$res"
        ms=$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1000 }')
        printf '%-6s %10.0f %9.2f %8s %8s  %-22s %9.0f %8.2f %9.0f %8.2f\n' "$conns" "$rps" "$p99" "$non2xx" "$errs" \
            "$code in $ms ms" "$nginx_rps" "$nginx_p99" "$hello_rps" "$hello_p99"
        if [ "$code" != 200 ] || awk -v m="$ms" 'BEGIN { exit !(m >= 500) }' \
            || [ "$non2xx" != 0 ] || [ "$errs" != 0 ]; then
            verdict=starved
        fi
    done
    if [ "$verdict" = ok ]; then
        echo "starvation: none (every load finished without errors; the next request answered 200 in well under 500 ms)"
    else
        echo "starvation: DETECTED (errors under load, or the next request was not a fast 200)"
        exit 1
    fi
    exit 0
fi

# 100 full assistants for the list and single-item targets.
assistant='{"name":"Bench Assistant","firstMessage":"Hello! How can I help you today?","firstMessageMode":"assistant-speaks-first",
 "model":{"provider":"openai","model":"gpt-4o","temperature":0.7,"maxTokens":1024,
          "messages":[{"role":"system","content":"You are a helpful enrollment assistant for a university."}]},
 "voice":{"provider":"openai","voiceId":"alloy"},"transcriber":{"provider":"deepgram","model":"nova-2"},
 "endCallPhrases":["goodbye","bye"],"metadata":{"team":"admissions"},"maxDurationSeconds":1800}'
for i in $(seq 100); do
    assistant_id=$(curl -sS --fail -H "$auth" -H 'Content-Type: application/json' -d "$assistant" "$base/api/assistants" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || die "could not create assistant $i"
done

# ---- contention: GET /api/assistants while logins are flooded and model calls hang -------------------
# contention_line LOADED: wrk on GET /api/assistants (BENCH_CONTENTION_CONNECTIONS connections, BENCH_SECONDS),
# alone (LOADED=0) or (LOADED=1) while BENCH_FLOOD_CLIENTS clients post failed logins in a loop and
# BENCH_SLOW_CALLS chats to an assistant with model.provider openai wait on the fake model. The background
# load starts BENCH_CONTENTION_RAMP seconds before the measurement. Prints one line; a slow or refused GET is
# reported (in its p99, non-2xx or socket errors), not fatal.
contention_line() {
    local loaded=$1 out="$tmp/wrk-contention-$1.txt" flood_pid='' label='alone' i
    local curl_pids=()
    if [ "$loaded" = 1 ]; then
        label="with $flood_clients bad logins + $slow_calls slow model calls"
        wrk -t1 -c"$flood_clients" -d"$(( ramp + seconds + 1 ))s" --timeout 30s -s "$repo/bench/bad_login.lua" "$base" \
            > "$tmp/wrk-flood.txt" 2>&1 &
        flood_pid=$!
        for i in $(seq "$slow_calls"); do
            curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 120 -H "$auth" \
                -H 'Content-Type: application/json' \
                -d "{\"assistantId\":\"$assistant_id\",\"message\":\"Slow question $i?\"}" \
                "$base/api/chat" > "$tmp/slow-chat-$i.txt" 2>>"$tmp/slow-chat-errors.txt" &
            curl_pids+=($!)
        done
        sleep "$ramp"
    fi
    wrk -t1 -c"$contention_connections" -d"${seconds}s" --timeout 30s --latency -H "$auth" "$base/api/assistants" \
        > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed on /api/assistants (contention)"; }
    local flood='' chats=''
    if [ "$loaded" = 1 ]; then
        wait "$flood_pid" || { cat "$tmp/wrk-flood.txt" >&2; die "wrk failed on the login flood"; }
        for i in "${curl_pids[@]}"; do wait "$i" || true; done
        flood=$(awk '/requests in/ { n = $1; d = $4; sub(/,$/, "", d) } /^status counts:/ { sub(/^status counts: ?/, ""); c = $0 }
                     END { printf "%d answered in %s%s", n, d, (c == "" ? "" : " (" c ")") }' "$tmp/wrk-flood.txt")
        chats=$( (cat "$tmp"/slow-chat-*.txt 2>/dev/null || true) | awk '{ n[$1]++; if ($2 > t) t = $2 }
                     END { for (c in n) s = s (s ? " " : "") c ":" n[c]; printf "%s, slowest %.1f s", s, t }')
    fi
    local done_n rps p50 p99 non2xx errs
    done_n=$(awk '/requests in/ { print $1 }' "$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    non2xx=$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")
    errs=$(awk '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$out")
    if [ "${done_n:-0}" -gt 0 ]; then
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
        printf 'contention: GET /api/assistants, %d clients, %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms (%s requests, %s non-2xx, %s socket errors)\n' \
            "$contention_connections" "$label" "$rps" "$p50" "$p99" "$done_n" "${non2xx:-0}" "${errs:-0}"
    else
        printf 'contention: GET /api/assistants, %d clients, %s: no request answered within %d s (%s socket errors)\n' \
            "$contention_connections" "$label" "$seconds" "${errs:-0}"
    fi
    if [ "$loaded" = 1 ]; then
        echo "contention:   bad logins (status:count): $flood; slow chats: $chats"
    fi
}
contention_rows() {
    echo
    contention_line 0
    contention_line 1
}
if [ "$mode" = contention ]; then
    contention_rows
    exit 0
fi

# webhook_row: 16 clients sending end-of-call reports of new calls for the first of $assistants; every
# report answered must be stored.
webhook_row() {
    phase webhook
    BENCH_NOW=$(date -u +%Y-%m-%dT%H:%M:%S.000Z) BENCH_ASSISTANT=${assistants%%,*} \
        wrk -t2 -c16 -d"${seconds}s" --latency -s "$repo/bench/webhook.lua" "$base" > "$tmp/wrk-webhook.txt" 2>&1 || die "wrk failed on webhooks"
    grep -q "Non-2xx" "$tmp/wrk-webhook.txt" && { cat "$tmp/wrk-webhook.txt" >&2; die "webhooks failed under load"; }
    wh_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk-webhook.txt")
    wh_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$tmp/wrk-webhook.txt")")
    wh_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$tmp/wrk-webhook.txt")")
    wh_sent=$(awk '/requests in/ { print $1 }' "$tmp/wrk-webhook.txt")
    # Every answered report must be in the database: wrk's count of requests (each answered 2xx) against the rows.
    phase setup
    stored=$(db_query "SELECT COUNT(*) FROM conversations WHERE id LIKE 'wh-%'")
    if [ "$store" = postgres ]; then durable="synchronous_commit=on, fsync=on"; else durable="synchronous=FULL"; fi
    printf 'webhook end-of-call reports, 16 clients: %.0f per second, p50 %.2f ms, p99 %.2f ms (%s answered, %s stored, each durable before its answer: %s, group commit)\n' \
        "$wh_rps" "$wh_p50" "$wh_p99" "$wh_sent" "$stored" "$durable"
    [ "$stored" -ge "$wh_sent" ] || die "webhooks: $wh_sent reports answered but only $stored stored"
    result webhook "webhook reports, 16 clients" "$wh_rps" "$wh_p50" "$wh_p99" "answered=$wh_sent;stored=$stored"
    if awk -v r="$wh_rps" 'BEGIN { exit !(r >= 2000) }'; then met=MET; else met='NOT MET'; fi
    echo "target: webhook ingestion >= 2000 reports/s: $met ($(printf '%.0f' "$wh_rps")/s)"
}

# ---- events: outbound events delivered per second ---------------------------------------------------
if [ "$mode" = events ]; then
    python3 "$repo/bench/event_receiver.py" > "$tmp/receiver.out" 2>&1 &
    receiver_pid=$!
    for i in $(seq 100); do
        receiver_port=$(sed -n 's/^port //p' "$tmp/receiver.out")
        [ -n "$receiver_port" ] && break
        sleep 0.1
    done
    [ -n "$receiver_port" ] || die "the event receiver did not start"
    code=$(curl -sS -o "$tmp/endpoint.body" -w '%{http_code}' --max-time 10 -H "$auth" -H 'Content-Type: application/json' \
        --data "{\"url\":\"http://127.0.0.1:$receiver_port/hook\",\"eventTypes\":[\"assistant.created\"]}" \
        "$base/api/webhook-endpoints") || die "registering the endpoint failed"
    [ "$code" = 201 ] || { cat "$tmp/endpoint.body" >&2; die "registering the endpoint answered $code"; }
    events=${BENCH_EVENTS:-2000}
    seq "$events" | xargs -P 8 -I '{}' curl -sS --fail -o /dev/null --max-time 30 -H "$auth" -H 'Content-Type: application/json' \
        --data "${assistant//Bench Assistant/Evented \{\}}" "$base/api/assistants" \
        || die "creating the assistants failed"
    stop_pid "$edmo_pid" edmo
    started=$(date +%s.%N)
    start_edmo EDMO_ALLOW_PRIVATE_URLS=1 EDMO_EVENT_WORKERS="${BENCH_EVENT_WORKERS:-2}" EDMO_EVENT_POLL_MS=20
    delivered=0
    for i in $(seq 6000); do
        delivered=$(curl -sS --max-time 5 "http://127.0.0.1:$receiver_port/count" || echo 0)
        [ "$delivered" -ge "$events" ] && break
        sleep 0.1
    done
    elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    [ "$delivered" -ge "$events" ] || die "only $delivered of $events events arrived within 10 minutes"
    printf 'outbound events: %d delivered in %s s after the restart: %.0f per second (%s delivery threads, %s, a receiver that answers at once; the start of edmo is included)\n' \
        "$events" "$elapsed" "$(awk -v n="$events" -v s="$elapsed" 'BEGIN { print n / s }')" "${BENCH_EVENT_WORKERS:-2}" "$store"
    exit 0
fi

# Baselines first (the ratio is against /bench/hello), then edmo endpoints, one line each.
measure nginx        /bench/nginx
measure hello        /bench/hello
# --webhooks: the baselines and the webhook row only (about a minute), for comparing two builds.
if [ "$mode" = webhooks ]; then
    print_table
    assistants=$assistant_id
    webhook_row
    exit 0
fi
# --reporting: from the baselines straight to the analytics at scale and the reporting rows.
[ "$mode" = reporting ] && print_table
if [ "$mode" != reporting ]; then
kind=read; phase reads
measure auth/me      /api/auth/me "$auth"
measure assistant    "/api/assistants/$assistant_id" "$auth"
measure assistants   /api/assistants "$auth"
measure tools        /api/tools "$auth"
measure numbers      /api/phone-numbers "$auth"
measure users        /api/users "$auth"
measure gaps         /api/knowledge-gaps "$auth"
measure knowledge    "/api/assistants/$assistant_id/knowledge" "$auth"
# --reads: the baselines and the read rows only (about two minutes), for comparing two builds.
if [ "$mode" = reads ]; then
    print_table
    exit 0
fi

# measure_write NAME METHOD PATH BODY: the same for a write (%N in BODY is unique per request).
measure_write() {
    export WRK_SCRIPT="$repo/bench/write.lua" BENCH_METHOD=$2 BENCH_BODY=$4
    measure "$1" "$3" "$auth"
    unset WRK_SCRIPT BENCH_METHOD BENCH_BODY
}
kind=write; phase writes
measure_write "POST asst"  POST  /api/assistants "${assistant//Bench Assistant/Bench %N}"
measure_write "PATCH asst" PATCH "/api/assistants/$assistant_id" '{"name":"Renamed %N"}'
measure_write "POST tool"  POST  /api/tools '{"type":"apiRequest","name":"t%N","method":"GET","url":"https://api.example.edu/x"}'
measure_write "POST num"   POST  /api/phone-numbers '{"provider":"twilio","twilioPhoneNumber":"+1%N","twilioAccountSid":"AC0123456789abcdef0123456789abcdef","twilioAuthToken":"t"}'
measure_write "POST kb"    POST  "/api/assistants/$assistant_id/knowledge" '{"title":"Entry %N","content":"Content of entry %N."}'
# Users: each create hashes a password (argon2id, ~75 ms and 64 MiB, two at a time by design): 4 clients.
kind=write-hashed connections=4 measure_write "POST user" POST /api/users '{"email":"u%N@bench.edu","password":"bench-password-%N","role":"VIEWER"}'

# measure_delete NAME CREATE_PATH BODY DELETE_PREFIX: creates and deletes alternately (each DELETE removes
# what the previous POST made), so the row is the rate of the pair's requests.
measure_delete() {
    export WRK_SCRIPT="$repo/bench/create_delete.lua" BENCH_CREATE_PATH=$2 BENCH_BODY=$3 BENCH_DELETE_PREFIX=$4
    measure "$1" "$2" "$auth"
    unset WRK_SCRIPT BENCH_CREATE_PATH BENCH_BODY BENCH_DELETE_PREFIX
}
measure_delete "POST+DEL tool" /api/tools '{"type":"apiRequest","name":"t%N","method":"GET","url":"https://api.example.edu/x"}' /api/tools/
measure_delete "POST+DEL num"  /api/phone-numbers '{"provider":"twilio","twilioPhoneNumber":"+1%N","twilioAccountSid":"AC0123456789abcdef0123456789abcdef","twilioAuthToken":"t"}' /api/phone-numbers/
measure_delete "POST+DEL asst" /api/assistants "${assistant//Bench Assistant/Bench %N}" /api/assistants/

phase after-writes
print_table
# PostgreSQL: the most connections the server saw during the write rows (64 clients on edmo's 8 workers),
# against the pool this edmo process may hold.
if [ "$store" = postgres ]; then
    read -r conns_max conns_samples <<< "$(pg_connections writes)" || true
    if [ -n "${conns_max:-}" ]; then
        if [ "$conns_max" -le "$pool" ]; then verdict="within the pool"; else verdict="MORE than the pool"; fi
        echo "postgres connections during the write rows: at most $conns_max ($conns_samples samples of pg_stat_activity," \
             "every 0.2 s); pool $pool (EDMO_DATABASE_POOL, default workers + 2), $workers worker threads: $verdict"
        result pgconn "writes" "$conns_max" '' '' "pool=$pool;workers=$workers;samples=$conns_samples"
    else
        echo "postgres connections during the write rows: no sample taken"
    fi
fi
[ "$mode" = table-only ] && exit 0

# target NAME PERCENT: NAME's req/s at PERCENT% or more of the C hello, with p99 under 10 ms.
target() {
    local name=$1 want=$2 i
    for i in "${!names[@]}"; do
        [ "${names[$i]}" = "$name" ] || continue
        if awk -v r="${med_rps[$i]}" -v h="$hello_rps" -v w="$want" -v p="${med_p99[$i]}" \
            'BEGIN { exit !(r >= w / 100 * h && p < 10) }'; then met=MET; else met='NOT MET'; fi
        echo "target: ${paths[$i]} >= $want% of C hello and p99 < 10 ms: $met ($(pct "${med_rps[$i]}" "$hello_rps")%, p99 ${med_p99[$i]} ms)"
    done
}
target auth/me 80
target assistant 80
target assistants 35

# A built-in-engine chat turn over a knowledge base of 10,000 entries (two imports of 5,000), 8 clients.
# An assistant of its own: the write rows above added tens of thousands of entries to $assistant_id's.
chat_assistant=$(curl -sS --fail -H "$auth" -H 'Content-Type: application/json' -d "$assistant" "$base/api/assistants" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || die "could not create the chat assistant"
python3 - "$chat_assistant" > "$tmp/kb.json" <<'PY'
import json, random, sys
random.seed(7)
words = "admission tuition housing parking library transcript schedule deadline scholarship course exam campus advisor fee visa".split()
def entry(n):
    w = random.sample(words, 3)
    return {"title": f"Topic {n}: {w[0]} and {w[1]}", "content": f"Answer {n}: everything about {w[0]}, {w[1]} and {w[2]} for topic {n}.",
            "questions": [f"What about {w[0]} for topic {n}?"]}
print(json.dumps([{"entries": [entry(n) for n in range(k, k + 5000)]} for k in (0, 5000)]))
PY
for k in 0 1; do
    python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[int(sys.argv[2])]))" "$tmp/kb.json" "$k" > "$tmp/kb-$k.json"
    curl -sS --fail -o /dev/null -H "$auth" -H 'Content-Type: application/json' --data-binary "@$tmp/kb-$k.json" \
        "$base/api/assistants/$chat_assistant/knowledge/import" || die "could not import knowledge part $k"
done
# One client: the latency of a turn itself. Eight: the same under load, where turns queue for the single
# SQLite writer (each turn commits twice with synchronous=FULL: the user's message before the engine runs,
# then the answer); on PostgreSQL each turn commits twice too, with synchronous_commit=on.
chat_line() {
    local conns=$1 out="$tmp/wrk-chat-$1.txt"
    BENCH_ASSISTANT=$chat_assistant BENCH_COOKIE=${auth#Cookie: } \
        wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$repo/bench/chat.lua" "$base" > "$out" 2>&1 || die "wrk failed on /api/chat"
    grep -q "Non-2xx" "$out" && { cat "$out" >&2; die "chat turns failed under load"; }
    chat_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    chat_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    local rps; rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    printf 'chat turn (10,000 knowledge entries), %d client(s): %.0f turns/s, p50 %.2f ms, p99 %.2f ms\n' \
        "$conns" "$rps" "$chat_p50" "$chat_p99"
    result chat "chat turn, $conns client(s)" "$rps" "$chat_p50" "$chat_p99" "clients=$conns"
}
phase chat
echo
chat_line 8
chat_line 1
if awk -v p="$chat_p50" 'BEGIN { exit !(p < 15) }'; then met=MET; else met='NOT MET'; fi
echo "target: chat turn p50 < 15 ms through nginx (one client): $met (p50 $chat_p50 ms)"
fi  # not --reporting

# Analytics at scale: 10,000 then BENCH_ANALYTICS_ROWS (1,000,000) analysed calls over 120 days
# (10 assistants, 5 numbers), seeded straight into the database (SQLite: inserts; PostgreSQL: \copy) and
# aggregated with `edmo analytics rebuild`; then webhook ingestion.
phase setup
org_id=$(db_query 'SELECT id FROM organizations' | head -n 1)
assistants=$(db_query 'SELECT id FROM assistants LIMIT 10' | paste -sd, -)
[ -n "$org_id" ] && [ -n "$assistants" ] || die "could not read the organisation and assistants from the database"
numbers=''
for i in 1 2 3 4 5; do
    n=$(curl -sS --fail -H "$auth" -H 'Content-Type: application/json' \
        -d "{\"provider\":\"twilio\",\"twilioPhoneNumber\":\"+1786555010$i\",\"twilioAccountSid\":\"AC0123456789abcdef0123456789abcdef\",\"twilioAuthToken\":\"t\"}" \
        "$base/api/phone-numbers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || die "could not create phone number $i"
    numbers+="${numbers:+,}$n"
done
analytics_line() {
    local label=$1 conns=$2 out="$tmp/wrk-analytics-$1-$2.txt"
    wrk -t1 -c"$conns" -d"${seconds}s" --latency -H "X-API-Key: $ANALYTICS_API_KEY" "$base/api/analytics?timeRangeDays=90" > "$out" 2>&1 \
        || die "wrk failed on /api/analytics"
    grep -q "Non-2xx" "$out" && { cat "$out" >&2; die "analytics failed under load"; }
    a_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    a_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    local rps; rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    printf 'analytics 90 days (summary + 100 conversations), %s conversations, %s client(s): %.0f req/s, p50 %.2f ms, p99 %.2f ms\n' \
        "$label" "$conns" "$rps" "$a_p50" "$a_p99"
    result analytics "analytics $label conv, $conns client(s)" "$rps" "$a_p50" "$a_p99" "conversations=$label;clients=$conns"
}
# seed COUNT START: COUNT more conversations, numbered from START, then the aggregates rebuilt from them.
# (Its own connections, the seeding's psql and `edmo analytics rebuild`, are not counted as the server's.)
seed() {
    phase setup
    python3 "$repo/bench/seed_conversations.py" "$EDMO_DATABASE" "$1" 120 "$org_id" "$assistants" "$numbers" "$2" \
        || die "seeding $1 conversations failed"
    local started=$SECONDS
    "$EDMO_BIN" analytics rebuild >/dev/null || die "edmo analytics rebuild failed"
    echo "analytics rebuild: $(( SECONDS - started )) s" >&2
    # PostgreSQL: the rebuilt aggregates vacuumed and analysed, as autovacuum does within a minute of such a
    # load on a live server (the time series' index-only scans need the visibility map).
    if [ "$store" = postgres ]; then db_query 'VACUUM (ANALYZE) analytics_daily, analytics_hourly' >/dev/null; fi
    phase analytics
}
echo
seed 10000 0
analytics_line 10000 8
analytics_line 10000 1
small_p50=$a_p50
seed $(( analytics_rows - 10000 )) 10000
analytics_line "$analytics_rows" 8
analytics_line "$analytics_rows" 1
if awk -v p="$a_p50" -v q="$a_p99" -v s="$small_p50" 'BEGIN { exit !(p < 20 && q < 50 && p <= 2 * s) }'; then met=MET; else met='NOT MET'; fi
echo "target: analytics p50 < 20 ms, p99 < 50 ms at $analytics_rows (one client), p50 at most 2x that at 10,000: $met" \
     "(p50 $a_p50 ms, p99 $a_p99 ms; $(awk -v p="$a_p50" -v s="$small_p50" 'BEGIN { printf "%.1f", p / s }')x)"

# Reporting (issue 15) on the same database: the time series over a year, one client, and the CSV export
# of every conversation through nginx, timed, with edmo's resident memory sampled every 0.1 s meanwhile.
phase reporting
out="$tmp/wrk-timeseries.txt"
wrk -t1 -c1 -d"${seconds}s" --latency -H "X-API-Key: $ANALYTICS_API_KEY" \
    "$base/api/analytics/timeseries?timeRangeDays=365&step=day" > "$out" 2>&1 || die "wrk failed on /api/analytics/timeseries"
grep -q "Non-2xx" "$out" && { cat "$out" >&2; die "the time series failed under load"; }
ts_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
ts_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
ts_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
printf 'analytics time series, 365 days by day, %s conversations, 1 client: %.0f req/s, p50 %.2f ms, p99 %.2f ms\n' \
    "$analytics_rows" "$ts_rps" "$ts_p50" "$ts_p99"
result timeseries "timeseries 365 days $analytics_rows conv, 1 client(s)" "$ts_rps" "$ts_p50" "$ts_p99" "conversations=$analytics_rows;clients=1"
if awk -v p="$ts_p50" 'BEGIN { exit !(p <= 20) }'; then met=MET; else met='NOT MET'; fi
echo "target: time series p50 <= 20 ms for 365 days at $analytics_rows (one client): $met (p50 $ts_p50 ms)"
# The same year in a zone with DST (issue 15): local days summed from the hourly aggregates (24 times the rows).
out="$tmp/wrk-timeseries-tz.txt"
wrk -t1 -c1 -d"${seconds}s" --latency -H "X-API-Key: $ANALYTICS_API_KEY" \
    "$base/api/analytics/timeseries?timeRangeDays=365&step=day&tz=America/New_York" > "$out" 2>&1 \
    || die "wrk failed on /api/analytics/timeseries with tz"
grep -q "Non-2xx" "$out" && { cat "$out" >&2; die "the time series with tz failed under load"; }
tz_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
tz_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
tz_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
printf 'analytics time series, 365 days by day in America/New_York, %s conversations, 1 client: %.0f req/s, p50 %.2f ms, p99 %.2f ms\n' \
    "$analytics_rows" "$tz_rps" "$tz_p50" "$tz_p99"
result timeseries "timeseries tz 365 days $analytics_rows conv, 1 client(s)" "$tz_rps" "$tz_p50" "$tz_p99" \
    "conversations=$analytics_rows;clients=1;tz=America/New_York"
if awk -v p="$tz_p50" 'BEGIN { exit !(p <= 20) }'; then met=MET; else met='NOT MET'; fi
echo "target: time series with tz p50 <= 20 ms for 365 days at $analytics_rows (one client): $met (p50 $tz_p50 ms)"

# edmo's own CPU time during the export (user + system, fields 14 and 15 of /proc/PID/stat): on a busy
# machine the wall time is mostly waiting for a core, this is what the export itself costs.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$edmo_pid/stat"; }
cpu_before=$(cpu_ticks)
rss_before=$(rss_mib VmRSS)
( while kill -0 "$edmo_pid" 2>/dev/null; do rss_mib VmRSS; echo; sleep 0.1; done ) > "$tmp/export-rss.txt" &
rss_sampler=$!
export_started=$(date +%s.%N)
curl -sS --fail -o "$tmp/export.csv" -H "X-API-Key: $ANALYTICS_API_KEY" \
    "$base/api/analytics/conversations.csv?timeRangeDays=365" || die "the CSV export failed"
export_seconds=$(awk -v a="$export_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
export_cpu=$(awk -v a="$cpu_before" -v b="$(cpu_ticks)" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')
kill "$rss_sampler" 2>/dev/null || true
wait "$rss_sampler" 2>/dev/null || true
export_rows=$(( $(wc -l < "$tmp/export.csv") - 1 ))
rss_peak=$(awk -v m="$rss_before" '$1 + 0 > m { m = $1 + 0 } END { printf "%.1f", m }' "$tmp/export-rss.txt")
rss_growth=$(awk -v a="$rss_before" -v b="$rss_peak" 'BEGIN { printf "%.1f", b - a }')
rm -f "$tmp/export.csv"
printf 'CSV export through nginx: %s rows in %s s (%.0f rows/s; edmo busy %s s of CPU); edmo resident %s MiB before, %s MiB at most during: +%s MiB\n' \
    "$export_rows" "$export_seconds" "$(awk -v n="$export_rows" -v s="$export_seconds" 'BEGIN { print n / s }')" \
    "$export_cpu" "$rss_before" "$rss_peak" "$rss_growth"
[ "$export_rows" -eq "$analytics_rows" ] || die "the export has $export_rows rows, not $analytics_rows"
result export "CSV export, $export_rows rows" "$export_seconds" '' '' "rows=$export_rows;cpu_s=$export_cpu;before_mib=$rss_before;peak_mib=$rss_peak;growth_mib=$rss_growth"
if awk -v s="$export_seconds" -v g="$rss_growth" 'BEGIN { exit !(s < 15 && g < 60) }'; then met=MET; else met='NOT MET'; fi
echo "target: CSV export of $analytics_rows rows < 15 s, edmo's memory growth < 60 MiB: $met ($export_seconds s, +$rss_growth MiB)"

if [ "$mode" = reporting ]; then
    echo "memory: edmo resident $idle_rss MiB idle after start, peak $(rss_mib VmHWM) MiB over the reporting rows"
    exit 0
fi
webhook_row

# The dashboard's analytics page on the 1,000,000-conversation database, in headless chromium.
if command -v chromium >/dev/null && python3 -c "import selenium" 2>/dev/null; then
    python3 "$repo/bench/dashboard_timing.py" "$base" bench@example.edu bench-password-1 || echo "dashboard timing failed"
fi

echo
peak_rss=$(rss_mib VmHWM)
echo "memory: edmo resident $idle_rss MiB idle after start, peak $peak_rss MiB over this whole run (targets: < 40 MiB idle, < 150 MiB under load)"
result memory "edmo resident MiB, idle" "$idle_rss" '' ''
result memory "edmo resident MiB, peak" "$peak_rss" '' ''
if [ "$store" = postgres ]; then
    read -r conns_max conns_samples <<< "$(for p in reads writes chat analytics webhook; do pg_connections "$p"; done \
        | awk '$1 > m { m = $1 } { n += $2 } END { if (n) print m " " n }')" || true
    [ -n "${conns_max:-}" ] && echo "postgres connections during the table, chat, analytics and webhook rows: at most $conns_max ($conns_samples samples); pool $pool"
    result pgconn "table to webhooks" "${conns_max:-}" '' '' "pool=$pool;workers=$workers;samples=${conns_samples:-0}"
fi
phase contention

# Last, as it restarts edmo (same database and socket) with the slow fake model behind OpenAI chats.
start_fake_openai
stop_pid "$edmo_pid" edmo
# shellcheck disable=SC2046 # word splitting intended: NAME=VALUE words without spaces
start_edmo $(contention_env)
contention_rows
if [ "$store" = postgres ]; then
    read -r conns_max conns_samples <<< "$(pg_connections contention)" || true
    [ -n "${conns_max:-}" ] && echo "postgres connections during the contention rows: at most $conns_max ($conns_samples samples); pool $pool"
    result pgconn "contention" "${conns_max:-}" '' '' "pool=$pool;workers=$workers;samples=${conns_samples:-0}"
fi
