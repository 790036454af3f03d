#!/usr/bin/env bash
# LISTO_REPLICA end to end, the way the Docker image runs it: the release binary with
# LISTO_REPLICA=s3://… against a real S3 server on loopback (moto, pinned: scripts/lib/moto.sh) and
# the pinned Litestream (scripts/lib/litestream.sh) as listo's own child. No litestream.yml, no
# -exec: listo writes Litestream's config, restores, takes the lease and gates itself.
#
#   1. crash: sign in, create TASKS tasks (each acknowledged id recorded), move MOVES to the start,
#      wait past monitor + sync interval (1 s + 1 s), kill -9 listo (Litestream follows it: it
#      gets SIGTERM through PR_SET_PDEATHSIG), delete the data folder, start: every acknowledged
#      task is back, in the same order.
#   2. stop: create TASKS more, SIGTERM right after the last acknowledgement (exit 0), delete the
#      data folder, start: all back, in order.
# The Rust stories (tests/api/replica.rs) cover the cases in depth; this checks the release binary.
#
#   bash scripts/litestream/run.sh       from the repo root; ~1 min for moto's venv the first time
#   LISTO_BIN=/path/to/listo TASKS=50 MOVES=10 bash scripts/litestream/run.sh
#   LISTO_TEST_S3=http://127.0.0.1:PORT  use that S3 server (.ci/run's moto) instead of starting one
#   LISTO_TEST_LITESTREAM=/path          use that litestream 0.5.17 instead of installing it
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
script=litestream
pid=""
# shellcheck source=../lib/listo.sh
. "$here/../lib/listo.sh"
# shellcheck source=../lib/moto.sh
. "$here/../lib/moto.sh"
# shellcheck source=../lib/litestream.sh
. "$here/../lib/litestream.sh"
TASKS="${TASKS:-50}"
MOVES="${MOVES:-10}"

say() { echo "litestream-test: $*"; }
fail() {
  echo "litestream-test: FAIL: $*" >&2
  [ -s "${work:-/nonexistent}/listo.log" ] && { echo "--- last lines of listo.log" >&2; tail -n 25 "$work/listo.log" >&2; }
  exit 1
}
command -v curl >/dev/null || fail "needs curl"
command -v python3 >/dev/null || fail "needs python3"
bin="${LISTO_BIN:-target/release/listo}"
[ -x "$bin" ] || fail "no listo binary at $bin (build it with cargo build --release, or set LISTO_BIN)"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d)"
moto_dir=""
cleanup() {
  local status=$?
  [ -z "$pid" ] || { kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true
  [ -z "$moto_dir" ] || moto_stop "$moto_dir"
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${LISTO_TEST_LITESTREAM:-}" ]; then
  ls_bin="$LISTO_TEST_LITESTREAM"
  [ "$("$ls_bin" version)" = "$LITESTREAM_VERSION" ] || fail "$ls_bin is not litestream $LITESTREAM_VERSION"
else
  ls_bin="$(litestream_install "$work/bin")" || fail "installing litestream $LITESTREAM_VERSION"
fi
if [ -n "${LISTO_TEST_S3:-}" ]; then
  s3="$LISTO_TEST_S3"
else
  # A folder of our own: moto_start stops whatever moto was started from the same folder.
  moto_dir="${MOTO_VENV:-/tmp/listo-moto-litestream-test}"
  say "moto's venv in $moto_dir"
  moto_venv "$moto_dir" || fail "creating moto's venv in $moto_dir"
  s3="$(moto_start "$moto_dir")" || fail "starting moto"
fi
bucket="litestream-test-$$-$(date +%s)"
curl -fsS -X PUT "$s3/$bucket" >/dev/null || fail "creating bucket $bucket on $s3"
say "litestream $LITESTREAM_VERSION ($ls_bin), S3 at $s3, replica s3://$bucket/listo"

port="$(free_port)"
base="http://127.0.0.1:$port"
# "The disk" is $work/data; the outbox is not (the emailed codes outlive it).
unset PORT LISTO_SMTP_URL AWS_CA_BUNDLE LITESTREAM_ACCESS_KEY_ID LITESTREAM_SECRET_ACCESS_KEY
export LISTO_DATABASE="$work/data/listo.db" LISTO_OUTBOX="$work/outbox" LISTO_ADDR="127.0.0.1:$port"
export LISTO_REPLICA="s3://$bucket/listo" LISTO_REPLICA_ENDPOINT="$s3" LISTO_REPLICA_REGION=us-east-1
export LISTO_LITESTREAM="$ls_bin" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export LISTO_SESSION_TTL=600 LISTO_LOGIN_LIMIT_PER_EMAIL=0 RUST_LOG=info

now_ms() { date +%s%3N; }
start_listo() {  # sets ready_ms: start to the first /readyz 200 (the gate answers 503 until then)
  local t0
  t0=$(now_ms)
  "$bin" serve >>"$work/listo.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    if curl -fs --max-time 2 "$base/readyz" >/dev/null 2>&1; then
      ready_ms=$(( $(now_ms) - t0 ))
      return
    fi
    kill -0 "$pid" 2>/dev/null || fail "listo exited during start-up"
    sleep 0.05
  done
  fail "listo not ready after 60 s"
}
wipe() {
  rm -rf "$work/data"
  [ ! -e "$LISTO_DATABASE" ] || fail "$LISTO_DATABASE still there"
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }
# request METHOD PATH [BODY] [TOKEN] [STATUS PREFIX, 2 by default] -> the body on stdout
request() {
  local method="$1" path="$2" body="${3:-}" token="${4:-}" want="${5:-2}" out status
  out="$(mktemp -p "$work")"
  status="$(curl -sS --max-time 10 -o "$out" -w '%{http_code}' -X "$method" "$base$path" \
    ${body:+-H 'content-type: application/json' -d "$body"} \
    ${token:+-H "authorization: Bearer $token"})" || fail "$method $path: curl failed"
  [[ "$status" == "$want"* ]] || fail "$method $path answered $status, not $want..: $(head -c 300 "$out")"
  cat "$out"
  rm -f "$out"
}
sign_in() {  # the newest outbox email after the login carries the code
  local before challenge code="" mail
  before="$(find "$LISTO_OUTBOX" -name '*.eml' 2>/dev/null | wc -l)"
  challenge="$(request POST /v1/auth/login "$credentials" | json "d['challenge_id']")"
  for _ in $(seq 1 100); do
    [ "$(find "$LISTO_OUTBOX" -name '*.eml' 2>/dev/null | wc -l)" -gt "$before" ] && break
    sleep 0.05
  done
  # shellcheck disable=SC2012  # listo names the files; newest first
  mail="$(ls -t "$LISTO_OUTBOX"/*.eml 2>/dev/null | head -n 1)"
  [ -n "$mail" ] && code="$(sed 's/=$//' "$mail" | tr -d '\r\n' | grep -o 'code is [0-9]\{6\}' | grep -o '[0-9]\{6\}' | head -n 1 || true)"
  [ -n "$code" ] || fail "no code in the outbox"
  request POST /v1/auth/verify "{\"challenge_id\":\"$challenge\",\"code\":\"$code\"}" | json "d['access_token']"
}
order() { request GET "/v1/tasks?page=1&per_page=100" "" "$1" | json "[t['id'] for t in d['items']]"; }
create() {  # $1 token, $2 how many, $3 label
  local i
  for i in $(seq 1 "$2"); do
    request POST /v1/tasks "{\"date\":\"2026-12-03\",\"task\":\"$3 $i\",\"status\":\"Incomplete\"}" "$1" 201 >/dev/null
  done
}
check_order() {  # $1 what happened; compares the order now with $before
  local token after
  token="$(sign_in)"
  after="$(order "$token")"
  [ "$after" = "$before" ] || fail "after $1 the order differs
  before: $before
  after:  $after"
}

# --- 1. crash: kill -9 listo, lose the disk ---------------------------------------------------
start_listo
first_ms=$ready_ms
ls_pid="$(pgrep -P "$pid" -x litestream | head -n 1 || true)"
[ -n "$ls_pid" ] || fail "no litestream child of listo"
credentials='{"email":"replica@example.com","password":"correct horse battery"}'
request POST /v1/auth/register "$credentials" >/dev/null
token="$(sign_in)"
t0=$(now_ms)
create "$token" "$TASKS" crash
ids="$(order "$token")"
step=$(( TASKS / (MOVES > 0 ? MOVES : 1) )); [ "$step" -ge 1 ] || step=1
moved=0
for id in $(echo "$ids" | python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin))))'); do
  [ "$moved" -lt "$MOVES" ] || break
  request POST "/v1/tasks/$id/move" '{"to":"start"}' "$token" 200 >/dev/null
  moved=$((moved + 1))
done
before="$(order "$token")"
writes_ms=$(( $(now_ms) - t0 ))
sleep 3  # more than monitor interval + sync interval (1 s + 1 s) after the last acknowledgement
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pid=""
for _ in $(seq 1 100); do kill -0 "$ls_pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$ls_pid" 2>/dev/null && fail "litestream ($ls_pid) still runs 5 s after listo's kill -9"
lost_kib="$(du -sk "$work/data" | cut -f1)"
wipe
start_listo
crash_restore_ms=$ready_ms
check_order "kill -9 and a wipe"
say "kill -9 + wipe: $TASKS tasks and $moved moves back in order (restore $crash_restore_ms ms)"

# --- 2. stop: SIGTERM right after writes, lose the disk ----------------------------------------
create "$token" "$TASKS" stop
before="$(order "$token")"
t0=$(now_ms)
stop_listo || fail "listo exited $? after SIGTERM"
stop_ms=$(( $(now_ms) - t0 ))
grep -q 'every acknowledged write is on the replica' "$work/listo.log" || fail "no final-sync line in listo's log"
wipe
start_listo
stop_restore_ms=$ready_ms
check_order "SIGTERM right after writes and a wipe"
stop_listo || fail "listo exited $? after SIGTERM"
say "SIGTERM right after $TASKS creates + wipe: all back in order"

figure() { printf '  %-44s %s\n' "$1" "$2"; }
printf '\nlitestream-test: figures\n'
figure "litestream / store" "$LITESTREAM_VERSION / moto S3 on loopback, sync interval 1 s"
figure "first start to /readyz 200" "$first_ms ms (lease, empty replica, first sync)"
figure "$TASKS creates, $moved moves, reads" "$writes_ms ms"
figure "data folder lost at the kill -9" "$lost_kib KiB"
figure "kill -9 + wipe: start to /readyz 200" "$crash_restore_ms ms (waits out the dead holder's 30 s lease, restores)"
figure "SIGTERM right after writes to exit 0" "$stop_ms ms"
figure "SIGTERM + wipe: start to /readyz 200" "$stop_restore_ms ms (lease released: restores at once)"
figure "acknowledged writes lost" "0 of $((TASKS + moved)) (kill -9), 0 of $TASKS (SIGTERM)"
printf '\nlitestream-test: 2 passed, 0 failed\n'
say "OK"
