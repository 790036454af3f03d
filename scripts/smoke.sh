#!/usr/bin/env bash
# Release smoke test: the binary alone in an empty folder, configured only by environment
# variables, walks the whole flow with curl, survives SIGTERM + restart with every task in
# place, and takes an online backup. Prints the figures README quotes (size, start, RSS).
#
#   scripts/smoke.sh            build (cargo build --release --locked, as the Dockerfile does) and run
#   LISTO_BIN=path scripts/smoke.sh   use an already-built binary
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

fail() { echo "smoke: FAIL: $*" >&2; [ -f "${work:-}/server.log" ] && tail -n 30 "$work/server.log" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "needs $1"; }
need curl
need python3

if [ -z "${LISTO_BIN:-}" ]; then
  (cd "$root" && cargo build --release --locked)
  LISTO_BIN="$root/target/release/listo"
fi

work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cp "$LISTO_BIN" "$work/listo"
cd "$work"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export PORT="$port" LISTO_DATABASE="$work/data/listo.db" LISTO_OUTBOX="$work/outbox" RUST_LOG=info

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }

start() {
  local t0 t1
  t0=$(date +%s%N)
  ./listo >>server.log 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    if curl -fs "$base/readyz" >/dev/null 2>&1; then
      t1=$(date +%s%N)
      echo "smoke: ready in $(( (t1 - t0) / 1000000 )) ms"
      return
    fi
    kill -0 "$pid" 2>/dev/null || fail "server exited during start-up"
    sleep 0.05
  done
  fail "server not ready after 10 s"
}

stop() {
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  pid=""
  [ "$status" -eq 0 ] || fail "exit status after SIGTERM was $status, not 0"
  echo "smoke: SIGTERM -> exit 0"
}

post() { curl -fsS -X POST "$base$1" -H 'content-type: application/json' ${3:+-H "authorization: Bearer $3"} -d "$2"; }
get() { curl -fsS "$base$1" -H "authorization: Bearer $2"; }
order() { get "/v1/tasks?page=1&per_page=100" "$1" | json "[t['id'] for t in d['items']]"; }
# The code in the newest outbox email (quoted-printable soft breaks undone).
newest_code() {
  local mail code
  mail="$(ls -t outbox/*.eml 2>/dev/null | head -n 1 || true)"
  [ -n "$mail" ] || fail "no email in the outbox"
  code="$(sed 's/=$//' "$mail" | tr -d '\n' | grep -o 'code is [0-9]\{6\}' | grep -o '[0-9]\{6\}' || true)"
  [ -n "$code" ] || fail "no code in $mail"
  echo "$code"
}

echo "smoke: binary $(stat -c %s listo) bytes"
start
./listo healthcheck || fail "listo healthcheck did not exit 0"
curl -fs "$base/docs" -o docs.html && grep -qi swagger docs.html || fail "/docs does not serve Swagger UI"
echo "smoke: idle RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"

post /v1/auth/register '{"email":"smoke@example.com","password":"correct horse battery"}' >/dev/null
challenge="$(post /v1/auth/login '{"email":"smoke@example.com","password":"correct horse battery"}' | json "d['challenge_id']")"
code="$(newest_code)"
token="$(post /v1/auth/verify "{\"challenge_id\":\"$challenge\",\"code\":\"$code\"}" | json "d['access_token']")"
secrets=("correct horse battery" "$token" "$code")
get /v1/auth/session "$token" | json "d['user']['email']" | grep -q smoke@example.com || fail "session"

# Long enough to walk the rest of the flow: the token issued above lives LISTO_SESSION_TTL (30 s).
for i in $(seq 1 12); do
  post /v1/tasks "{\"date\":\"2026-11-$(printf %02d "$i")\",\"task\":\"task $i\",\"status\":\"Incomplete\"}" "$token" >/dev/null
done
page2="$(get "/v1/tasks?page=2&per_page=5" "$token" | json "[t['id'] for t in d['items']][::-1]")"
post "/v1/tasks/sort?page=2&per_page=5" "{\"task_ids\":$page2}" "$token" >/dev/null
before="$(order "$token")"
[ "$(echo "$before" | json "d[5:10]")" = "$page2" ] || fail "page 2 not in the posted order: $before"
echo "smoke: 12 tasks, page 2 sorted: $before"

backup="$work/backup.db"
./listo backup "$backup" >/dev/null || fail "listo backup"
count="$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from tasks').fetchone()[0])" "$backup")"
[ "$count" = 12 ] || fail "backup holds $count tasks, not 12"
echo "smoke: online backup holds $count tasks"

curl -fsS -o /dev/null -X POST "$base/v1/auth/logout" -H "authorization: Bearer $token"
status="$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/auth/session" -H "authorization: Bearer $token")"
[ "$status" = 401 ] || fail "token still works after logout ($status)"

stop
start
# A new session on the restarted server: the order must have survived.
challenge="$(post /v1/auth/login '{"email":"smoke@example.com","password":"correct horse battery"}' | json "d['challenge_id']")"
code="$(newest_code)"
token="$(post /v1/auth/verify "{\"challenge_id\":\"$challenge\",\"code\":\"$code\"}" | json "d['access_token']")"
secrets+=("$token" "$code")
after="$(order "$token")"
[ "$after" = "$before" ] || fail "order after restart $after differs from $before"
echo "smoke: after restart every task is there in the same order"
stop
for secret in "${secrets[@]}"; do
  if grep -qF "$secret" server.log; then fail "a password, token or code reached the log"; fi
done
echo "smoke: OK"
