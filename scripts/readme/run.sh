#!/usr/bin/env bash
# README's curl examples run as written, in order, against a fresh listo.
#
#   bash scripts/readme/run.sh                          from the repo root; uses target/release/listo
#   LISTO_BIN=/path/to/listo bash scripts/readme/run.sh
#
# 0. settings.py (beside this file): docs/DEPLOY.md's configuration table is `listo --help`'s list
#    (Config in src/config.rs): same variables, order, defaults and meanings; and every LISTO_*
#    name in README.md and docs/*.md is a setting listo reads.
# 1. blocks.py (beside this file) takes README.md's ```sh blocks whose fence follows the line
#    `<!-- readme-test: run -->`, in order, with `localhost:8080` replaced by a free port; it fails
#    if a marked block has a curl without --fail-with-body (so every HTTP error stops the run).
# 2. listo starts in an empty temporary folder (its working directory, so ./listo.db and ./outbox
#    are created there, as with `cargo run --release`), with LISTO_*, PORT and RUST_LOG unset but
#    LISTO_ADDR=127.0.0.1:<port>: README's defaults, the 30 s session included.
# 3. The blocks run in that folder in one `bash -Eeuo pipefail`: the first command that fails
#    stops the run, and the test names its README.md line and prints it.
# 4. listo must still be up, its log must hold no ERROR line, and SIGTERM must stop it with exit 0.
# Needs bash, python3 and curl 7.76+ (--fail-with-body). Loopback only; about 2 s; every wait is
# bounded (README_TIMEOUT, default 60 s, caps the blocks). Exits non-zero, saying why, on failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
readme="${README_FILE:-$root/README.md}"  # another file: for testing this script
timeout_s="${README_TIMEOUT:-60}"

work=""
pid=""
fail() {
  echo "readme: FAIL: $*" >&2
  if [ -n "$work" ] && [ -s "$work/listo.log" ]; then
    echo "readme: listo's last log lines:" >&2
    tail -n 20 "$work/listo.log" >&2
  fi
  exit 1
}
cleanup() {
  local status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  [ -n "$work" ] && rm -rf "$work"
  [ "$status" -eq 0 ] || echo "readme: FAILED (exit $status)" >&2
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v python3 >/dev/null || fail "needs python3"
command -v curl >/dev/null || fail "needs curl"
curl --help all 2>/dev/null | grep -q -- '--fail-with-body' || fail "needs curl 7.76 or later (--fail-with-body); found $(curl --version | head -n 1)"

bin="${LISTO_BIN:-target/release/listo}"
[ -x "$bin" ] || fail "no listo binary at $bin (cargo build --release --locked, or set LISTO_BIN)"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# A port free on 127.0.0.1 and on ::1: README says localhost, which curl may try as ::1 first.
port="$(python3 - <<'EOF'
import socket
for _ in range(50):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", port))
    except OSError as e:
        if e.errno == 98:  # in use on ::1
            continue
    print(port)
    break
EOF
)"
[ -n "$port" ] || fail "no free port"

# The docs name the settings the binary has (settings.py beside this file).
"$bin" --help | python3 "$here/settings.py" "$root" || fail "the documented settings differ from listo --help"

work="$(mktemp -d)"
mkdir "$work/run"
python3 "$here/blocks.py" "$readme" "$port" >"$work/readme.sh" || fail "could not take the runnable blocks from README.md"

# listo as README starts it: its own folder, defaults everywhere but the address.
(
  cd "$work/run"
  for var in $(compgen -e); do
    case "$var" in LISTO_* | PORT | RUST_LOG) unset "$var" ;; esac
  done
  export LISTO_ADDR="127.0.0.1:$port"
  exec "$bin"
) >"$work/listo.log" 2>&1 &
pid=$!

ready=""
for _ in $(seq 1 100); do
  if curl -fs --max-time 1 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || fail "listo exited during start-up"
  sleep 0.1
done
[ -n "$ready" ] || fail "listo not ready on 127.0.0.1:$port after 10 s"
echo "readme: $("$bin" --version) ready on 127.0.0.1:$port; running README's blocks"

# The script keeps README's line numbers; the ERR trap records the README line of the first
# command that failed (for a failure inside a function such as `api`, the line that called it).
failed_at="$work/failed-at"
# shellcheck disable=SC2016  # expanded by the bash that runs the blocks, not here
on_error='_rs=$?; _rn=0; [ -z "${FUNCNAME+x}" ] || _rn=${#FUNCNAME[@]}; if [ "$_rn" -gt 1 ]; then _rl=${BASH_LINENO[$((_rn - 2))]}; else _rl=$LINENO; fi; [ -e "$README_FAILED_AT" ] || echo "$_rl $_rs" >"$README_FAILED_AT"'
started=$(date +%s%N)
status=0
(
  cd "$work/run"
  export README_FAILED_AT="$failed_at"
  timeout -k 5 "$timeout_s" bash -Eeuo pipefail -c "trap '$on_error' ERR; source \"\$1\"" readme "$work/readme.sh"
) || status=$?
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
if [ "$status" -eq 124 ]; then
  fail "README's blocks did not finish within $timeout_s s"
elif [ "$status" -ne 0 ]; then
  if [ -s "$failed_at" ]; then
    read -r line code <"$failed_at"
    echo "readme: README.md line $line failed (exit $code):" >&2
    # The whole command: the lines joined to this one by backslash continuations.
    python3 - "$readme" "$line" >&2 <<'EOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
first = last = int(sys.argv[2]) - 1
while first > 0 and lines[first - 1].endswith("\\"):
    first -= 1
while last < len(lines) - 1 and lines[last].endswith("\\"):
    last += 1
print("\n".join(f"  {n + 1}: {lines[n]}" for n in range(first, last + 1)))
EOF
  fi
  fail "a command in README's blocks failed (exit $status)"
fi

kill -0 "$pid" 2>/dev/null || fail "listo is no longer running"
if grep -q ' ERROR ' "$work/listo.log"; then
  grep ' ERROR ' "$work/listo.log" >&2
  fail "listo logged an error during README's examples"
fi
kill -TERM "$pid"
stopped=0
for _ in $(seq 1 150); do
  kill -0 "$pid" 2>/dev/null || { stopped=1; break; }
  sleep 0.1
done
[ "$stopped" -eq 1 ] || fail "listo still running 15 s after SIGTERM"
exit_status=0
wait "$pid" || exit_status=$?
pid=""
[ "$exit_status" -eq 0 ] || fail "listo exited $exit_status after SIGTERM, not 0"

echo "readme: OK: every marked block ran as written ($elapsed_ms ms)"
