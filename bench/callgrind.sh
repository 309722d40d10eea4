#!/usr/bin/env bash
# Instructions per request on the read rows, counted by callgrind: a measure that does not move with the
# machine's load, to compare two builds of the read path.
#
# Usage: bench/callgrind.sh EDMO_BIN [N]     (N requests per target, default 200)
#
# The real binary behind the real nginx config (nginx/render), on SQLite, as bench/run.sh sets it up:
# one ADMIN user, 100 full assistants, a session cookie. The setup runs on a plain edmo; then edmo is
# restarted under `valgrind --tool=callgrind` (one worker), warmed up, and for each target the counters
# are zeroed (`callgrind_control -z`), N requests go through nginx (one curl, one kept HTTP connection,
# nginx keeping its FastCGI connections as in production), and the counters are dumped
# (`callgrind_control -d`). Every thread of edmo is counted; the idle ones add nothing measurable.
# Prints, per target, instructions per request and the top functions by their own instructions (self cost).
#
# Environment: CALLGRIND_KEEP=1 keeps the run directory (the callgrind.out.* files, for callgrind_annotate).
set -euo pipefail
die() { echo "callgrind: $*" >&2; exit 1; }

[ $# -ge 1 ] || { echo "usage: $0 EDMO_BIN [N]" >&2; exit 2; }
repo=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd -P)
[ -x "$1" ] || die "not an executable: $1"
EDMO_BIN=$(CDPATH= cd -- "$(dirname -- "$1")" && pwd -P)/$(basename -- "$1")
n=${2:-200}
case $n in ''|*[!0-9]*) die "N must be a whole number" ;; esac
command -v valgrind >/dev/null || die "needs valgrind (apt-get install -y valgrind)"
PATH=$PATH:/usr/sbin

tmp=$(mktemp -d /tmp/edmo-callgrind.XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp/web"
edmo_pid='' nginx_started=''
stop_edmo() {
    [ -n "$edmo_pid" ] || return 0
    kill -TERM "$edmo_pid" 2>/dev/null || true
    local i
    for i in $(seq 300); do kill -0 "$edmo_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$edmo_pid" 2>/dev/null && kill -KILL "$edmo_pid" 2>/dev/null
    wait "$edmo_pid" 2>/dev/null || true
    edmo_pid=''
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    set +e
    [ "$status" -eq 0 ] || tail -n 20 "$tmp/edmo.log" >&2
    stop_edmo
    [ -n "$nginx_started" ] && nginx -q -s quit -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/error.log" 2>/dev/null
    if [ "${CALLGRIND_KEEP:-}" = 1 ]; then echo "callgrind: kept $tmp" >&2; else rm -rf "$tmp"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base=http://127.0.0.1:$port
EDMO_NGINX_LOGIN_RATE=1000000r/m EDMO_NGINX_LOGIN_BURST=100000 \
    "$repo/nginx/render" "$port" "$tmp/edmo.sock" "$tmp/web" "$tmp" > "$tmp/nginx.conf"
nginx -q -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/error.log" || die "nginx did not start"
nginx_started=1

export EDMO_DATABASE=$tmp/db.sqlite EDMO_MIGRATIONS=$repo/migrations
export EDMO_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
echo 'bench-password-1' | "$EDMO_BIN" users add --email bench@example.edu --role ADMIN --password-stdin \
    >"$tmp/users.log" 2>&1 || { cat "$tmp/users.log" >&2; die "edmo users add failed"; }

# start_edmo [COMMAND...]: edmo serve (one worker) on $tmp/edmo.sock, run by COMMAND if given.
start_edmo() {
    rm -f "$tmp/edmo.sock"
    "$@" "$EDMO_BIN" serve --socket "$tmp/edmo.sock" --socket-mode 666 --workers 1 2>>"$tmp/edmo.log" &
    edmo_pid=$!
    local i
    for i in $(seq 600); do
        [ -S "$tmp/edmo.sock" ] && return 0
        kill -0 "$edmo_pid" 2>/dev/null || die "edmo exited before creating its socket"
        sleep 0.1
    done
    die "edmo did not create its socket within 60 s"
}

start_edmo
curl -sS -D "$tmp/login.headers" -o /dev/null --fail -H 'Content-Type: application/json' \
    --data '{"email":"bench@example.edu","password":"bench-password-1"}' "$base/api/auth/login" || die "login failed"
token=$(tr -d '\r' < "$tmp/login.headers" | sed -n 's/^[Ss]et-[Cc]ookie: *auth-token=\([^;]*\).*/\1/p' | head -n 1)
[ -n "$token" ] || die "no auth-token cookie"
auth="Cookie: auth-token=$token"
# The same 100 assistants as bench/run.sh.
assistant='{"name":"Bench Assistant","firstMessage":"Hello! How can I help you today?","firstMessageMode":"assistant-speaks-first",
 "model":{"provider":"openai","model":"gpt-4o","temperature":0.7,"maxTokens":1024,
          "messages":[{"role":"system","content":"You are a helpful enrollment assistant for a university."}]},
 "voice":{"provider":"openai","voiceId":"alloy"},"transcriber":{"provider":"deepgram","model":"nova-2"},
 "endCallPhrases":["goodbye","bye"],"metadata":{"team":"admissions"},"maxDurationSeconds":1800}'
for i in $(seq 100); do
    assistant_id=$(curl -sS --fail -H "$auth" -H 'Content-Type: application/json' -d "$assistant" "$base/api/assistants" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || die "could not create assistant $i"
done
stop_edmo

start_edmo valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out.%p" --dump-instr=no
vg_pid=$edmo_pid

# requests PATH COUNT: COUNT requests to PATH over one kept HTTP connection, GETs unless the target names a
# write (POST or PATCH of an assistant, with its JSON body); every answer must be the target's success.
requests() {
    local i method=GET body='' code=200
    case $1 in
        /api/assistants\ POST) method=POST code=201 body=$tmp/assistant.json ;;
        *\ PATCH) method=PATCH body=$tmp/patch.json ;;
    esac
    {
        # Once, for every URL: a repeated data option would be joined to the one before it.
        [ -z "$body" ] || printf 'request = "%s"\ndata-binary = "@%s"\nheader = "Content-Type: application/json"\n' "$method" "$body"
        for i in $(seq "$2"); do echo "url = \"$base${1% *}\""; echo 'output = "/dev/null"'; done
    } > "$tmp/curl.cfg"
    codes=$(curl -sS -H "$auth" -w '%{http_code}\n' --config "$tmp/curl.cfg") || die "curl failed on $1"
    bad=$(grep -vc "^$code\$" <<< "$codes" || true)
    [ "$bad" = 0 ] || die "$bad of $2 requests to $1 did not answer $code"
}

# The writes (each durable before its answer, its audit entry in the same transaction): an assistant
# created, and renamed.
printf '%s' "$assistant" > "$tmp/assistant.json"
echo '{"name":"Renamed by callgrind"}' > "$tmp/patch.json"
targets=("auth/me /api/auth/me" "assistant /api/assistants/$assistant_id" "assistants /api/assistants"
    "POST-asst /api/assistants POST" "PATCH-asst /api/assistants/$assistant_id PATCH")
for t in "${targets[@]}"; do requests "${t#* }" 20; done  # warm up: connections opened, caches filled
printf '%-11s %-30s %12s\n' target path 'Ir/request'
for t in "${targets[@]}"; do
    name=${t%% *} path=${t#* }
    callgrind_control -z "$vg_pid" >/dev/null 2>&1
    requests "$path" "$n"
    callgrind_control -d "${name//\//_}" "$vg_pid" >/dev/null 2>&1
    file=$(ls -t "$tmp"/callgrind.out.* | head -n 1)
    total=$(sed -n 's/^summary: *//p;s/^totals: *//p' "$file" | head -n 1)
    printf '%-11s %-30s %12d\n' "$name" "$path" $(( total / n ))
    callgrind_annotate --inclusive=no --auto=no --threshold=100 "$file" 2>/dev/null \
        | awk -v n="$n" -v total="$total" '/^-+$/ { d++; next } d >= 3 && NF >= 2 && $1 ~ /^[0-9,]+$/ {
              ir = $1; gsub(/,/, "", ir); ir += 0
              if (ir >= 0.99 * total) next  # the threads start functions: every instruction is under them
              $1 = ""; $2 = ""; $3 = ($3 ~ /%\)$/) ? "" : $3
              printf "    %10d  %s\n", ir / n, substr($0, 1, 150) }' | sort -rn | sed -n 1,12p > "$tmp/top-${name//\//_}.txt"
    cat "$tmp/top-${name//\//_}.txt"
done
