#!/usr/bin/env bash
# Real-browser test of listo:
#   docs.test.mjs  Swagger UI's "Try it out" with the prefilled examples at a person's pace and the
#                  default 30 s TTL (refresh when it runs out), under the Content-Security-Policy
#                  /docs is sent with (the header, X-Frame-Options: DENY, no violation reported);
#                  the Account operations; a list made, a task added to it, moved to the default
#                  list;
#   cors.test.mjs  CORS from a page on another origin (listed, unset, another origin);
#   live.test.mjs  an app page on a listed origin that stays signed in through refresh and follows
#                  changes with the browser's EventSource and a ticket.
# Run from the repo root, as root:
#
#   bash scripts/browser/run.sh                              # uses target/release/listo
#   LISTO_BIN=/path/to/listo bash scripts/browser/run.sh
#
# Needs Node 20+ and npm; installs Debian's chromium with apt-get if /usr/bin/chromium is missing
# and playwright-core (pinned in package-lock.json) with npm ci: no browser is downloaded. The test
# starts and stops every listo it needs (fresh database and outbox in a temporary folder, loopback
# only). A screenshot of every step goes to screenshots/ in that folder, which is kept (the CI
# artifacts; the path is printed at the end), with each listo's log; on failure the whole folder is.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/browser
LISTO_BIN="${LISTO_BIN:-target/release/listo}"
TEST_TIMEOUT="${BROWSER_TEST_TIMEOUT:-600}" # seconds for the whole node test run

say() { echo "browser: $*"; }
fail() {
  echo "browser: FAIL: $*" >&2
  exit 1
}

[ -x "$LISTO_BIN" ] || fail "no executable listo at $LISTO_BIN (cargo build --release --locked, or set LISTO_BIN)"
LISTO_BIN="$(realpath "$LISTO_BIN")"
command -v node >/dev/null || fail "needs node (20 or later)"
command -v npm >/dev/null || fail "needs npm"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail "needs node 20 or later, found $(node --version)"

work="$(mktemp -d "${TMPDIR:-/tmp}/listo-browser.XXXXXX")"
status=1
cleanup() {
  # Every listo the test started wrote its pid here; none may outlive the run.
  if [ -f "$work/listo.pids" ]; then
    while read -r p; do
      if kill -0 "$p" 2>/dev/null && grep -q listo "/proc/$p/cmdline" 2>/dev/null; then
        echo "browser: stopping leftover listo (pid $p)" >&2
        kill -TERM "$p" 2>/dev/null || true
        sleep 1
        kill -KILL "$p" 2>/dev/null || true
      fi
    done <"$work/listo.pids"
  fi
  if [ "$status" -eq 0 ]; then
    # Databases and outboxes (codes) go; screenshots and logs stay.
    find "$work" -mindepth 2 \( -name 'listo.db*' -o -name outbox \) -prune -exec rm -rf {} + 2>/dev/null || true
    say "screenshots of every step: $work/screenshots/ ($(find "$work/screenshots" -name '*.png' 2>/dev/null | wc -l) files)"
  else
    echo "browser: FAIL: kept $work (screenshots/ of every step, */listo.log)" >&2
  fi
}
trap cleanup EXIT

if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -q >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; fail "apt-get update"; }
  timeout 900 apt-get install -y -q --no-install-recommends chromium fonts-liberation >>"$work/apt.log" 2>&1 ||
    { tail -n 20 "$work/apt.log" >&2; fail "apt-get install chromium"; }
fi
# (Debian's launcher script prints a harmless shell warning on stderr on some machines.)
chromium_version="$(timeout 60 /usr/bin/chromium --version 2>/dev/null)" || fail "/usr/bin/chromium does not run"
say "$chromium_version"

say "npm ci (playwright-core from package-lock.json)"
(cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 npm ci --no-audit --no-fund --loglevel=error) ||
  fail "npm ci in $here"

say "running $here/*.test.mjs against $LISTO_BIN (at most ${TEST_TIMEOUT}s)"
start=$(date +%s)
set +e
# One file at a time: each starts its own chromium and its listo processes.
LISTO_BIN="$LISTO_BIN" BROWSER_WORK="$work" \
  timeout -k 10 "$TEST_TIMEOUT" node --test --test-concurrency=1 --test-reporter=spec \
  "$here/docs.test.mjs" "$here/cors.test.mjs" "$here/live.test.mjs"
status=$?
set -e
say "took $(($(date +%s) - start)) s"
case "$status" in
  0) say "OK" ;;
  124 | 137) fail "timed out after ${TEST_TIMEOUT}s" ;;
  *) fail "the browser test failed (exit $status); see the failing steps above" ;;
esac
