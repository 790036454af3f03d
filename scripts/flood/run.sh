#!/usr/bin/env bash
# Connection flood test (the "hardening" issue). Starts listo with an open-files limit of 1024,
# then flood.py (beside this file, Python 3.11 standard library) opens 1,100 connections that each
# send half a request and hang, checks that listo closes them within its header timeout, stays
# under 50 % of a core meanwhile and still serves a new client within 20 s; then opens 500 idle
# connections and checks listo closes them too (its keep-alive idle timeout). Loopback only.
#
#   bash scripts/flood/run.sh                         from the repo root; ~1-2 minutes
#   LISTO_BIN=/path/to/listo bash scripts/flood/run.sh
#   FLOOD_IDLE=0 bash scripts/flood/run.sh            skip the idle-connection stage
#
# Other knobs (defaults in flood.py): FLOOD_HALF=1100 FLOOD_HEADER_LIMIT=15 FLOOD_ALL_CLOSED=35
# FLOOD_SERVE_LIMIT=20 FLOOD_CPU_LIMIT=50 FLOOD_IDLE=500 FLOOD_IDLE_LIMIT=75 FLOOD_IDLE_DEADLINE=80
# LISTO_NOFILE=1024 (listo's limit).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
script=flood
# shellcheck source=../lib/listo.sh
. "$here/../lib/listo.sh"

fail() { echo "flood: FAIL: $*" >&2; exit 1; }
command -v python3 >/dev/null || fail "needs python3"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || fail "needs Python 3.9+"

bin="${LISTO_BIN:-target/release/listo}"
[ -x "$bin" ] || fail "no listo binary at $bin (build it with cargo build --release, or set LISTO_BIN)"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
nofile="${LISTO_NOFILE:-1024}"

work="$(mktemp -d)"
pid=""
cleanup() {
  local status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(free_port)"
# listo alone gets the low limit: the subshell lowers it, then becomes listo (same pid).
(
  ulimit -n "$nofile"
  export LISTO_ADDR="127.0.0.1:$port" LISTO_DATABASE="$work/listo.db" LISTO_OUTBOX="$work/outbox"
  export RUST_LOG="${RUST_LOG:-info}"
  unset PORT LISTO_SMTP_URL
  exec "$bin"
) >"$work/listo.log" 2>&1 &
pid=$!

ready=""
for _ in $(seq 1 100); do
  if python3 - "$port" <<'EOF' 2>/dev/null; then ready=1; break; fi
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
    s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert s.recv(64).startswith(b"HTTP/1.1 200")
EOF
  kill -0 "$pid" 2>/dev/null || { cat "$work/listo.log" >&2; fail "listo exited during start-up"; }
  sleep 0.1
done
[ -n "$ready" ] || { tail -n 20 "$work/listo.log" >&2; fail "listo not ready after 10 s"; }
echo "flood: $("$bin" --version 2>/dev/null || echo "listo ?") ready on 127.0.0.1:$port (pid $pid, ulimit -n $nofile)"

status=0
# Bounded: stage 1 <= ~40 s, stage 2 <= ~85 s; the timeout is a backstop only.
timeout --kill-after=10 300 python3 "$here/flood.py" --pid "$pid" --port "$port" || status=$?

if ! kill -0 "$pid" 2>/dev/null; then
  echo "flood: FAIL: listo is no longer running" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "flood: FAIL (exit $status); listo's last log lines:" >&2
  tail -n 15 "$work/listo.log" >&2 || true
  exit "$status"
fi
echo "flood: OK"
