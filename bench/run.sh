#!/usr/bin/env bash
# Benchmark edmo behind nginx against two baselines on this machine, in one run:
#   /bench/nginx   nginx answering by itself (return 200)
#   /bench/hello   nginx + a bare C libfcgi responder (bench/hello.c)
#   /api/...       nginx + edmo, authenticated with a real session cookie
#
# Usage: bench/run.sh EDMO_BIN                 throughput table + target line, ..., contention rows
#        bench/run.sh EDMO_BIN --starvation    load at -c128/-c256, then time one request
#        bench/run.sh EDMO_BIN --reads         the baselines and the read rows only (to compare two builds)
#        bench/run.sh EDMO_BIN --contention    only the contention rows: GET /api/assistants without and
#                                              with a bad-login flood and slow model calls behind it
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
#
# Exit status: 0 when the benchmark ran, whether or not the target is met;
# non-zero when something broke (a server did not start, a non-2xx response,
# socket errors under load, a request hanging after load).
set -euo pipefail

die() { echo "bench: $*" >&2; exit 1; }

[ $# -ge 1 ] || { echo "usage: $0 EDMO_BIN [--starvation|--contention|--reads]" >&2; exit 2; }
edmo_arg=$1
mode=table
case ${2:-} in
    '') ;;
    --starvation) mode=starvation ;;
    --contention) mode=contention ;;
    --reads) mode=reads ;;
    *) echo "usage: $0 EDMO_BIN [--starvation|--contention|--reads]" >&2; exit 2 ;;
esac

repo=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd -P)
[ -x "$edmo_arg" ] || die "not an executable: $edmo_arg (build with: swift build -c release --product edmo)"
EDMO_BIN=$(CDPATH= cd -- "$(dirname -- "$edmo_arg")" && pwd -P)/$(basename -- "$edmo_arg")

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
for v in seconds connections wrk_threads runs warmup workers hello_threads contention_connections flood_clients \
         slow_calls ramp slow_model_seconds; do
    case ${!v} in ''|*[!0-9]*) die "$v must be a whole number, not '${!v}'" ;; esac
done
[ "$runs" -ge 1 ] || die "BENCH_RUNS must be at least 1"
# The slow calls must still be in flight when the measurement ends.
[ "$slow_model_seconds" -ge $(( ramp + seconds + 2 )) ] || slow_model_seconds=$(( ramp + seconds + 2 ))

# ---- tools (installed quietly if missing; Debian package names) ------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v cc >/dev/null || need+=(gcc)
command -v curl >/dev/null || need+=(curl)
[ -r /usr/include/fcgiapp.h ] || need+=(libfcgi-dev)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing ${need[*]}; install them (apt-get install -y ${need[*]})"
    echo "bench: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${need[@]}" >/dev/null; } \
        || die "could not install ${need[*]}"
fi
PATH=$PATH:/usr/sbin

# ---- run directory and cleanup ----------------------------------------------
tmp=$(mktemp -d /tmp/edmo-bench.XXXXXX)
chmod 755 "$tmp"   # nginx workers run as nobody and must reach the sockets
mkdir -p "$tmp/web"
cp -r "$repo/web/." "$tmp/web/"  # the dashboard, for bench/dashboard_timing.py

edmo_pid='' hello_pid='' fake_pid='' nginx_started=''
failed_logs() {
    local f
    for f in edmo.log hello.log error.log; do
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

secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export EDMO_DATABASE=$tmp/db.sqlite EDMO_SECRET_KEY=$secret EDMO_MIGRATIONS=$repo/migrations
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
else
    start_edmo
fi

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

# run_wrk OUT CONNS SECONDS PATH [HEADER] -> prints "RPS P99_MS NON2XX SOCKET_ERRORS"
run_wrk() {
    local out=$1 conns=$2 secs=$3 path=$4 header=${5:-}
    local args=(-t"$wrk_threads" -c"$conns" -d"${secs}s" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    [ -n "${WRK_SCRIPT:-}" ] && args+=(-s "$WRK_SCRIPT")
    wrk "${args[@]}" "$base$path" > "$out" 2>&1 || { cat "$out" >&2; die "wrk failed on $path"; }
    local rps p99 non2xx errs
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    non2xx=$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")
    # "Socket errors: connect 0, read 0, write 0, timeout 0" (only printed when non-zero)
    errs=$(awk '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }' "$out")
    [ -n "$rps" ] && [ -n "$p99" ] || { cat "$out" >&2; die "could not read wrk output for $path"; }
    echo "$rps $(to_ms "$p99") ${non2xx:-0} ${errs:-0}"
}

names=() paths=() med_rps=() med_p99=() all_rps=()
hello_rps=''

# measure NAME PATH [HEADER]: warm up, BENCH_RUNS wrk runs, keep the median run.
# Fails loudly on a non-200 check, any non-2xx/3xx response or socket error.
measure() {
    local name=$1 path=$2 header=${3:-} i result rps p99 non2xx errs
    local file=${name//[^A-Za-z0-9._-]/_}
    [ -z "${WRK_SCRIPT:-}" ] && check_200 "$path" "$header"
    [ "$warmup" -gt 0 ] && run_wrk "$tmp/wrk-$file-warmup.txt" "$connections" "$warmup" "$path" "$header" >/dev/null
    local lines=() list=''
    for i in $(seq "$runs"); do
        result=$(run_wrk "$tmp/wrk-$file-$i.txt" "$connections" "$seconds" "$path" "$header")
        read -r rps p99 non2xx errs <<< "$result"
        if [ "$non2xx" != 0 ] || [ "$errs" != 0 ]; then
            cat "$tmp/wrk-$file-$i.txt" >&2
            die "$name ($path): $non2xx non-2xx/3xx responses and $errs socket errors under load (run $i)"
        fi
        lines+=("$rps $p99")
        list+="${list:+/}$(printf '%.0f' "$rps")"
    done
    read -r rps p99 <<< "$(printf '%s\n' "${lines[@]}" | sort -n -k1,1 | sed -n "$(( (runs + 1) / 2 ))p")"
    names+=("$name") paths+=("$path") med_rps+=("$rps") med_p99+=("$p99") all_rps+=("$list")
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

if [ "$mode" = starvation ]; then load="-c128 and -c256, one run each"; else load="-c$connections, median of $runs"; fi
echo "bench: $(nproc) cores, load $(cut -d" " -f1-3 /proc/loadavg); wrk -t$wrk_threads -d${seconds}s --latency $load;" \
     "edmo --workers $workers, C hello $hello_threads threads; nginx on $base" >&2

if [ "$mode" = starvation ]; then
    # FASTCGI-NOTES pitfall 1: with upstream keep-alive, load leaves every
    # libfcgi thread parked on an idle nginx connection and the next request
    # hangs. Load hard, then time one plain request straight after.
    check_200 /api/auth/me "$auth"
    printf '\n%-6s %10s %9s %8s %8s  %s\n' conns 'req/s' 'p99 ms' non2xx errors 'next request'
    verdict=ok
    for conns in 128 256; do
        result=$(run_wrk "$tmp/wrk-starve-$conns.txt" "$conns" "$seconds" /api/auth/me "$auth")
        read -r rps p99 non2xx errs <<< "$result"
        res=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 -H "$auth" "$base/api/auth/me") \
            || res="failed 30"
        read -r code secs <<< "$res"
        ms=$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1000 }')
        printf '%-6s %10.0f %9.2f %8s %8s  %s in %s ms\n' "$conns" "$rps" "$p99" "$non2xx" "$errs" "$code" "$ms"
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

# Baselines first (the ratio is against /bench/hello), then edmo endpoints, one line each.
measure nginx        /bench/nginx
measure hello        /bench/hello
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
measure_write "POST asst"  POST  /api/assistants "${assistant//Bench Assistant/Bench %N}"
measure_write "PATCH asst" PATCH "/api/assistants/$assistant_id" '{"name":"Renamed %N"}'
measure_write "POST tool"  POST  /api/tools '{"type":"apiRequest","name":"t%N","method":"GET","url":"https://api.example.edu/x"}'
measure_write "POST num"   POST  /api/phone-numbers '{"provider":"twilio","twilioPhoneNumber":"+1%N","twilioAccountSid":"AC0123456789abcdef0123456789abcdef","twilioAuthToken":"t"}'
measure_write "POST kb"    POST  "/api/assistants/$assistant_id/knowledge" '{"title":"Entry %N","content":"Content of entry %N."}'
# Users: each create hashes a password (argon2id, ~75 ms and 64 MiB, two at a time by design): 4 clients.
connections=4 measure_write "POST user" POST /api/users '{"email":"u%N@bench.edu","password":"bench-password-%N","role":"VIEWER"}'

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

print_table

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
python3 - "$assistant_id" > "$tmp/kb.json" <<'PY'
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
        "$base/api/assistants/$assistant_id/knowledge/import" || die "could not import knowledge part $k"
done
# One client: the latency of a turn itself. Eight: the same under load, where turns queue for the single
# SQLite writer (each turn commits twice with synchronous=FULL: the user's message before the engine runs,
# then the answer).
chat_line() {
    local conns=$1 out="$tmp/wrk-chat-$1.txt"
    BENCH_ASSISTANT=$assistant_id BENCH_COOKIE=${auth#Cookie: } \
        wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$repo/bench/chat.lua" "$base" > "$out" 2>&1 || die "wrk failed on /api/chat"
    grep -q "Non-2xx" "$out" && { cat "$out" >&2; die "chat turns failed under load"; }
    chat_p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    chat_p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    printf 'chat turn (10,000 knowledge entries), %d client(s): %.0f turns/s, p50 %.2f ms, p99 %.2f ms\n' \
        "$conns" "$(awk '/^Requests\/sec:/ { print $2 }' "$out")" "$chat_p50" "$chat_p99"
}
echo
chat_line 8
chat_line 1
if awk -v p="$chat_p50" 'BEGIN { exit !(p < 15) }'; then met=MET; else met='NOT MET'; fi
echo "target: chat turn p50 < 15 ms through nginx (one client): $met (p50 $chat_p50 ms)"

# Analytics at scale: 10,000 then 1,000,000 analysed calls over 120 days (10 assistants, 5 numbers),
# seeded straight into the database and aggregated with `edmo analytics rebuild`; then webhook ingestion.
org_id=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT id FROM organizations').fetchone()[0])" "$EDMO_DATABASE")
assistants=$(python3 -c "import sqlite3,sys; print(','.join(r[0] for r in sqlite3.connect(sys.argv[1]).execute('SELECT id FROM assistants LIMIT 10')))" "$EDMO_DATABASE")
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
    printf 'analytics 90 days (summary + 100 conversations), %s conversations, %s client(s): %.0f req/s, p50 %.2f ms, p99 %.2f ms\n' \
        "$label" "$conns" "$(awk '/^Requests\/sec:/ { print $2 }' "$out")" "$a_p50" "$a_p99"
}
echo
python3 "$repo/bench/seed_conversations.py" "$EDMO_DATABASE" 10000 120 "$org_id" "$assistants" "$numbers" 0
"$EDMO_BIN" analytics rebuild >/dev/null
analytics_line 10000 8
analytics_line 10000 1
small_p50=$a_p50
python3 "$repo/bench/seed_conversations.py" "$EDMO_DATABASE" 990000 120 "$org_id" "$assistants" "$numbers" 10000
"$EDMO_BIN" analytics rebuild >/dev/null
analytics_line 1000000 8
analytics_line 1000000 1
if awk -v p="$a_p50" -v q="$a_p99" -v s="$small_p50" 'BEGIN { exit !(p < 20 && q < 50 && p <= 2 * s) }'; then met=MET; else met='NOT MET'; fi
echo "target: analytics p50 < 20 ms, p99 < 50 ms at 1,000,000 (one client), p50 at most 2x that at 10,000: $met" \
     "(p50 $a_p50 ms, p99 $a_p99 ms; $(awk -v p="$a_p50" -v s="$small_p50" 'BEGIN { printf "%.1f", p / s }')x)"

BENCH_NOW=$(date -u +%Y-%m-%dT%H:%M:%S.000Z) BENCH_ASSISTANT=${assistants%%,*} \
    wrk -t2 -c16 -d"${seconds}s" --latency -s "$repo/bench/webhook.lua" "$base" > "$tmp/wrk-webhook.txt" 2>&1 || die "wrk failed on webhooks"
grep -q "Non-2xx" "$tmp/wrk-webhook.txt" && { cat "$tmp/wrk-webhook.txt" >&2; die "webhooks failed under load"; }
wh_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk-webhook.txt")
stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM conversations WHERE id LIKE 'wh-%'\").fetchone()[0])" "$EDMO_DATABASE")
printf 'webhook end-of-call reports, 16 clients: %.0f per second (%s stored, each durable before its answer: synchronous=FULL, group commit)\n' "$wh_rps" "$stored"
if awk -v r="$wh_rps" 'BEGIN { exit !(r >= 2000) }'; then met=MET; else met='NOT MET'; fi
echo "target: webhook ingestion >= 2000 reports/s: $met ($(printf '%.0f' "$wh_rps")/s)"

# The dashboard's analytics page on the 1,000,000-conversation database, in headless chromium.
if command -v chromium >/dev/null && python3 -c "import selenium" 2>/dev/null; then
    python3 "$repo/bench/dashboard_timing.py" "$base" bench@example.edu bench-password-1 || echo "dashboard timing failed"
fi

echo
echo "memory: edmo resident $idle_rss MiB idle after start, peak $(rss_mib VmHWM) MiB over this whole run (targets: < 40 MiB idle, < 150 MiB under load)"

# Last, as it restarts edmo (same database and socket) with the slow fake model behind OpenAI chats.
start_fake_openai
stop_pid "$edmo_pid" edmo
# shellcheck disable=SC2046 # word splitting intended: NAME=VALUE words without spaces
start_edmo $(contention_env)
contention_rows
