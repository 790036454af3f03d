#!/usr/bin/env bash
# Clients generated from listo's OpenAPI document work as they are.
#
#   bash scripts/clients/run.sh                          uses target/release/listo
#   LISTO_BIN=/path/to/listo bash scripts/clients/run.sh
#
# Needs python3 (3.11+) with pip and venv, node 20+ with npm, cargo, and the PyPI, npm and crates.io
# registries.
# 1. `listo openapi` → a temporary spec file.
# 2. Python: a throwaway venv with the pinned tools (python/requirements.txt, hashes checked);
#    openapi-python-client generates a client package, which is installed into the venv; mypy --strict
#    checks python/flow.py against it.
# 3. TypeScript: `npm ci` (ts/package-lock.json); openapi-typescript generates ts/generated/listo.ts;
#    tsc (strict) checks ts/flow.ts against it and compiles it to ts/build/.
#    Either generator printing anything beyond its one progress line (a warning, a skipped schema,
#    "Cannot ...") fails the run.
# 4. Rust: `cargo build --locked` in rust/ (its own package and Cargo.lock; target/ kept between
#    runs, so only the first run compiles the dependencies, for minutes); its build.rs runs
#    progenitor's Generator on the spec (LISTO_SPEC). A `warning` in the build fails the run.
# 5. Two real listos on free 127.0.0.1 ports, each with a temporary database and outbox: "main"
#    (LISTO_SESSION_TTL=600) and "short" (SHORT_TTL, default 2 s).
#    On main, the Python and TypeScript flows walk the whole story (register … logout, then the old
#    token's 401 Problem), then the account's life: list sessions, sign in twice more and end one by
#    id, logout scope=others, change the password (the old one refused), reset it with the code read
#    from the outbox (every token revoked), sign in with the new one, delete the account (login
#    refused). On main, all three flows walk the lists story: GET /v1/lists (one default list,
#    "Tasks"), create "Groceries", add two tasks to it (POST /v1/lists/{id}/tasks) and list them,
#    move one to the default list (PATCH /v1/tasks/{id} list_id: it shows last in /v1/tasks,
#    Groceries' task_count drops to 1), rename with If-Match (a stale one: 412 with current_list),
#    GET /v1/changes (a list_upsert for Groceries, an upsert of the moved task with the default
#    list_id), the default list refused deletion (409), Groceries deleted (204), then its 404
#    not_found Problem, decoded as the generated type. On short, all three flows keep one sign-in
#    alive past 3 access-token lifetimes through refresh alone (no second login code mailed), read
#    a 304 on an unchanged task as a success, log out, and see the old token and refresh token
#    refused; the Rust flow also registers, signs in and decodes every refusal into the generated
#    Problem there.
#    SIGTERM must stop both listos with exit 0 and their logs must hold no ERROR line.
# Ends with "clients: N passed, M failed" (python, ts and rust flows, each listo's clean stop) and
# exits non-zero on any failure.
# Every step has a timeout, and the whole run is capped at RUN_TIMEOUT seconds (default 840, under
# CI's 900: a first run, which compiles the Rust client's dependencies, takes about 6 minutes on a
# busy 2-core machine, a later one under 3).
set -Eeuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The whole run under one deadline: timeout signals our process group, the TERM trap cleans up.
if [ -z "${LISTO_CLIENTS_WATCHDOG:-}" ]; then
  export LISTO_CLIENTS_WATCHDOG=1
  status=0
  timeout -k 15 "${RUN_TIMEOUT:-840}" bash "${BASH_SOURCE[0]}" "$@" || status=$?
  [ "$status" -ne 124 ] || echo "clients: FAIL: the run took longer than ${RUN_TIMEOUT:-840} s" >&2
  exit "$status"
fi

cd "$root"
bin="${LISTO_BIN:-target/release/listo}"
[[ "$bin" = /* ]] || bin="$root/$bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/listo-clients.XXXXXX")"
pid=""
# Each step's own limit. --foreground keeps the command in our process group, so the watchdog's
# signal reaches it too (a plain nested timeout would move it to a group of its own).
bounded() { timeout --foreground -k 5 "$@"; }
step() { printf '\n==> clients: %s\n' "$*"; }
fail() {
  echo "clients: FAIL: $*" >&2
  exit 1
}
show() { # show FILE: print a captured log, indented
  sed 's/^/    | /' "$1" >&2
}
script=clients
# shellcheck source=../lib/listo.sh
. "$here/../lib/listo.sh"
cleanup() {
  local rc=$?
  stop_both
  rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work"; }
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# A generator's output must be exactly its progress lines: anything else (warnings, skipped
# schemas, "Cannot take allOf ...") fails the run with the generator's own words.
check_generator_output() { # check_generator_output NAME LOG ALLOWED_REGEX
  local name="$1" log="$2" allowed="$3"
  if grep -qiE 'warn|cannot|unable|error|skipp|not generated|fail|deprecat|invalid|unsupported' "$log"; then
    echo "clients: $name complained:" >&2
    show "$log"
    return 1
  fi
  if grep -vE "$allowed" "$log" | grep -q '[^[:space:]]'; then
    echo "clients: $name printed something unexpected:" >&2
    show "$log"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
step "preflight"
[ -x "$bin" ] || fail "no listo binary at $bin (cargo build --release --locked, or set LISTO_BIN)"
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || fail "needs $python"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || fail "needs Python 3.11+, have $("$python" --version 2>&1)"
for tool in node npm cargo; do command -v "$tool" >/dev/null || fail "needs $tool"; done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || fail "needs Node 20+, have $(node --version)"
echo "listo $("$bin" --version 2>&1 | head -n 1) at $bin; $("$python" --version 2>&1); node $(node --version); npm $(npm --version); $(cargo --version)"

spec="$work/openapi.json"
bounded 20 "$bin" openapi >"$spec" 2>"$work/openapi.err" || { show "$work/openapi.err"; fail "listo openapi failed"; }
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["paths"], "no paths"' "$spec" ||
  fail "listo openapi did not print a JSON document with paths"
echo "spec: $(wc -c <"$spec") bytes"

# ---------------------------------------------------------------------------------------------
python_prepare() {
  local venv="$work/venv"
  step "python: venv + pinned tools (scripts/clients/python/requirements.txt)"
  if bounded 120 "$python" -m venv "$venv" >"$work/venv.log" 2>&1; then
    pip=("$venv/bin/python" -m pip)
  else
    # Debian's python3 without python3-venv has no ensurepip: use the system pip on the venv.
    rm -rf "$venv"
    bounded 120 "$python" -m venv --without-pip "$venv" || { show "$work/venv.log"; return 1; }
    pip=("$python" -m pip --python "$venv/bin/python")
  fi
  bounded 240 "${pip[@]}" install --quiet --disable-pip-version-check --no-input --require-hashes \
    --only-binary :all: -r "$here/python/requirements.txt"

  step "python: openapi-python-client generates the client"
  local out="$work/python-client" log="$work/gen-python.log" rc=0
  (cd "$work" && PATH="$venv/bin:$PATH" bounded 120 "$venv/bin/openapi-python-client" generate \
    --path "$spec" --config "$here/python/generator.yml" --meta pdm --fail-on-warning \
    --output-path "$out") >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "clients: openapi-python-client exited $rc:" >&2
    show "$log"
    return 1
  fi
  check_generator_output openapi-python-client "$log" '^Generating '
  cat "$log"

  step "python: install the generated client into the venv"
  bounded 120 "${pip[@]}" install --quiet --disable-pip-version-check --no-input --no-index --no-deps \
    --no-build-isolation "$out"
  bounded 60 "${pip[@]}" check

  step "python: mypy --strict flow.py against the generated client"
  (cd "$here/python" && bounded 120 "$venv/bin/python" -m mypy --strict --cache-dir "$work/mypy-cache" flow.py)
}

ts_prepare() {
  cd "$here/ts"
  step "ts: npm ci (scripts/clients/ts/package-lock.json)"
  bounded 240 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

  step "ts: openapi-typescript generates the types"
  rm -rf generated build
  mkdir generated
  local log="$work/gen-ts.log" rc=0
  NO_COLOR=1 FORCE_COLOR=0 bounded 120 ./node_modules/.bin/openapi-typescript "$spec" -o generated/listo.ts \
    >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "clients: openapi-typescript exited $rc:" >&2
    show "$log"
    return 1
  fi
  check_generator_output openapi-typescript "$log" '^(✨ openapi-typescript [0-9.]+|🚀 .* → generated/listo\.ts \[[0-9.]+m?s\])$'
  cat "$log"
  [ -s generated/listo.ts ] || fail "openapi-typescript wrote nothing"

  step "ts: tsc (strict) checks flow.ts against the types and compiles it"
  local tsc_log="$work/tsc.log"
  rc=0
  bounded 120 ./node_modules/.bin/tsc -p . >"$tsc_log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] || [ -s "$tsc_log" ]; then
    echo "clients: tsc exited $rc:" >&2
    show "$tsc_log"
    return 1
  fi
  [ -f build/flow.js ] || fail "tsc wrote no build/flow.js"
}

rust_flow="$here/rust/target/debug/listo-client-rust-flow"
rust_prepare() {
  cd "$here/rust"
  step "rust: cargo build (rust/Cargo.lock); build.rs generates the client with progenitor"
  # The build's own target/ (gitignored) is kept between runs: only the first one compiles the
  # dependencies. A new spec path re-runs build.rs, so the client is always generated afresh.
  local log="$work/rust-build.log" rc=0
  rm -f "$rust_flow"
  LISTO_SPEC="$spec" CARGO_TARGET_DIR="$here/rust/target" bounded "${RUST_BUILD_TIMEOUT:-600}" \
    cargo build --locked --color never >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "clients: cargo build of the Rust flow exited $rc:" >&2
    show "$log"
    return 1
  fi
  # A warning from progenitor's generated code (or the flow) fails the run, as a generator's would.
  if grep -qE '^warning' "$log"; then
    echo "clients: the Rust client's build warned:" >&2
    show "$log"
    return 1
  fi
  grep -E '^ *Finished' "$log"
  [ -x "$rust_flow" ] || fail "cargo wrote no $rust_flow"
}

python_ready=0 ts_ready=0 rust_ready=0
set +e
(set -Eeuo pipefail; python_prepare) && python_ready=1
[ "$python_ready" -eq 1 ] || echo "clients: FAIL: preparing the Python client (see above)" >&2
(set -Eeuo pipefail; ts_prepare) && ts_ready=1
[ "$ts_ready" -eq 1 ] || echo "clients: FAIL: preparing the TypeScript client (see above)" >&2
(set -Eeuo pipefail; rust_prepare) && rust_ready=1
[ "$rust_ready" -eq 1 ] || echo "clients: FAIL: preparing the Rust client (see above)" >&2
set -e

# ---------------------------------------------------------------------------------------------
# Two listos: "main" (sessions of 600 s) for the account story, "short" (access tokens of
# SHORT_TTL s) for the keep-alive stories, which must outlive several of them through refresh.
short_ttl="${SHORT_TTL:-2}"
start_listo() { # start_listo NAME TTL: listo serve in $work/NAME on a free port; sets pid and url
  local name="$1" ttl="$2" dir="$work/$1" port ready=0 _
  port="$(free_port)"
  url="http://127.0.0.1:$port"
  mkdir -p "$dir/outbox"
  env -u LISTO_SMTP_URL -u PORT \
    LISTO_ADDR="127.0.0.1:$port" LISTO_DATABASE="$dir/listo.db" LISTO_OUTBOX="$dir/outbox" \
    LISTO_SESSION_TTL="$ttl" LISTO_LOG_FORMAT=text RUST_LOG=info "$bin" serve >"$dir/listo.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || { show "$dir/listo.log"; pid=""; fail "listo ($name) exited during start-up"; }
    if "$python" - "$url/readyz" <<'EOF' 2>/dev/null; then
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=1) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
      ready=1
      break
    fi
    sleep 0.05
  done
  [ "$ready" -eq 1 ] || { show "$dir/listo.log"; fail "listo's ($name) /readyz did not answer 200 within 10 s"; }
  echo "listo ($name, LISTO_SESSION_TTL=$ttl) ready at $url (database and outbox in $dir)"
}
main_pid="" short_pid=""
stop_both() { # cleanup's: whichever listo still runs
  [ -z "$pid" ] || stop_listo || true
  pid="$short_pid" short_pid=""
  stop_listo || true
  pid="$main_pid" main_pid=""
  stop_listo || true
}
step "start listo (main, and short: access tokens of $short_ttl s)"
start_listo main 600
main_pid="$pid" main_url="$url"
pid=""
start_listo short "$short_ttl"
short_pid="$pid" short_url="$url"
pid=""

passed=0 failed=0
run_flow() { # run_flow NAME READY EMAIL COMMAND...
  local name="$1" ready="$2" email="$3"
  shift 3
  step "$name flow"
  if [ "$ready" -ne 1 ]; then
    echo "clients: $name flow not run: its client could not be prepared (see above)" >&2
    failed=$((failed + 1))
    return
  fi
  local started="$SECONDS"
  if LISTO_URL="$main_url" LISTO_OUTBOX="$work/main/outbox" LISTO_SHORT_URL="$short_url" \
    LISTO_SHORT_OUTBOX="$work/short/outbox" LISTO_SHORT_TTL="$short_ttl" FLOW_EMAIL="$email" bounded 90 "$@"; then
    echo "clients: $name flow passed in $((SECONDS - started)) s"
    passed=$((passed + 1))
  else
    echo "clients: $name flow FAILED" >&2
    failed=$((failed + 1))
  fi
}
run_flow python "$python_ready" "python-flow@example.com" "$work/venv/bin/python" "$here/python/flow.py"
run_flow ts "$ts_ready" "ts-flow@example.com" node "$here/ts/build/flow.js"
run_flow rust "$rust_ready" "rust-flow@example.com" "$rust_flow"

stopped() { # stopped NAME PID: SIGTERM → exit 0 and no ERROR in its log; counts a pass or a failure
  local name="$1" log="$work/$1/listo.log" rc=0 ok=1
  pid="$2"
  stop_listo || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "clients: listo ($name) exited $rc after SIGTERM, not 0" >&2
    ok=0
  fi
  if grep -E '^[^ ]+ +ERROR |panicked' "$log" >"$work/$name/errors.log"; then
    echo "clients: listo ($name) logged errors:" >&2
    show "$work/$name/errors.log"
    ok=0
  fi
  if [ "$ok" -eq 1 ]; then
    echo "listo ($name) stopped cleanly"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
}
step "stop both listos (SIGTERM → exit 0, no ERROR in their logs)"
stopped short "$short_pid"
short_pid=""
stopped main "$main_pid"
main_pid=""
if [ "$failed" -ne 0 ]; then
  for name in main short; do
    echo "clients: listo's ($name) log:" >&2
    tail -n 40 "$work/$name/listo.log" | sed 's/^/    | /' >&2
  done
fi

echo
echo "clients: finished in ${SECONDS} s"
echo "clients: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
