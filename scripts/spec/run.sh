#!/usr/bin/env bash
# listo's OpenAPI document, linted and fuzzed against a live listo.
#
#   bash scripts/spec/run.sh                          uses target/release/listo
#   LISTO_BIN=/path/to/listo bash scripts/spec/run.sh
#
# Needs python3 (3.11+) with pip and venv, node 20.19+ with npm, and the PyPI and npm registries.
# 1. `listo openapi` → a temporary openapi.json; Redocly CLI (pinned in package-lock.json, installed
#    with `npm ci`, the local binary) lints it with the recommended ruleset (redocly.yaml): any error
#    fails the run, warnings are printed and counted.
# 2. A real listo on a free 127.0.0.1 port with a temporary database and outbox and its sign-in and
#    reset rate limits off; a user registers, logs in, reads the code from the newest .eml and
#    verifies: the bearer token that comes back is what the fuzzer sends (hooks.py's auth).
# 3. Schemathesis (requirements.txt, hashes checked, in a throwaway venv) generates requests from the
#    document for every operation in all four phases (examples, coverage, fuzzing, stateful), and
#    checks every answer: no 5xx, status code, content type, headers and body as documented, valid
#    data accepted, 405s right (with Allow), deleted tasks gone, and more ($checks below). Every
#    schemathesis warning fails the run (schemathesis.toml), notably "Schema validation mismatch" /
#    "Missing test data" / "Low valid-input rate": the document allows requests the server mostly
#    refuses. hooks.py fixes up the few valid requests that depend on the server's state (sort,
#    cursor, move anchors, repeated emails, session ids), and signs the fuzzer in: the operations
#    that end sessions or the account (logout, end_session, change_password, delete_account) are
#    sent as a throwaway user that it signs in again, or registers anew, whenever one of them
#    ended its session or changed or deleted it; everything else as the user signed in here, whose
#    session must survive the run. Each of those four must have answered 2xx at least once (hooks.py
#    counts them). listo must stop cleanly on SIGTERM with no ERROR line in its log.
# Ends with a summary (each schemathesis finding on one line) and "spec: N passed, M failed"; exits
# non-zero on any failure. On failure the work folder (openapi.json, listo.log, schemathesis logs
# and JUnit/NDJSON reports) is kept and named. Login is fuzzed like the rest: with the rate limits
# off its ~130 requests a run take under a second of server time (most are refused as malformed
# before any password hashing). The throwaway user's ~100 sign-ins a run (each hashes a password)
# take most of the fuzzing time on a debug build, a few seconds on a release one.
#
# Knobs: SPEC_MAX_EXAMPLES (default 50 per operation), SPEC_SEED (default random; printed, pass it
# to replay a run), SPEC_CHECKS (schemathesis --checks), SPEC_FUZZ_TIMEOUT (default 240 s for the
# main schemathesis run), RUN_TIMEOUT (whole run, default 480 s).
set -Eeuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The whole run under one deadline: timeout signals our process group, the TERM trap cleans up.
if [ -z "${LISTO_SPEC_WATCHDOG:-}" ]; then
  export LISTO_SPEC_WATCHDOG=1
  status=0
  timeout -k 15 "${RUN_TIMEOUT:-480}" bash "${BASH_SOURCE[0]}" "$@" || status=$?
  [ "$status" -ne 124 ] || echo "spec: FAIL: the run took longer than ${RUN_TIMEOUT:-480} s" >&2
  exit "$status"
fi

cd "$root"
bin="${LISTO_BIN:-target/release/listo}"
[[ "$bin" = /* ]] || bin="$root/$bin"
max_examples="${SPEC_MAX_EXAMPLES:-50}"
fuzz_timeout="${SPEC_FUZZ_TIMEOUT:-240}"
seed="${SPEC_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"

work="$(mktemp -d "${TMPDIR:-/tmp}/listo-spec.XXXXXX")"
pid=""
passed=0
failed=0
failures=()
started=$(date +%s)
# Each step's own limit. --foreground keeps the command in our process group, so the watchdog's
# signal reaches it too.
bounded() { timeout --foreground -k 5 "$@"; }
step() { printf '\n==> spec: %s\n' "$*"; }
die() {
  echo "spec: FAIL: $*" >&2
  exit 1
}
show() { sed 's/^/    | /' "$1" >&2; }
pass() {
  passed=$((passed + 1))
  echo "spec: ok: $*"
}
flunk() {
  failed=$((failed + 1))
  failures+=("$*")
  echo "spec: FAIL: $*" >&2
}
script=spec
# shellcheck source=../lib/listo.sh
. "$here/../lib/listo.sh"
cleanup() {
  local rc=$?
  stop_listo || true
  if [ "$rc" -eq 0 ]; then
    rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work"; }
  else
    echo "spec: kept $work (openapi.json, listo.log, redocly.log, schemathesis*.log, report/)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# ---------------------------------------------------------------------------------------------
step "preflight"
[ -x "$bin" ] || die "no listo binary at $bin (cargo build --release --locked, or set LISTO_BIN)"
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || die "needs $python"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "needs Python 3.11+, have $("$python" --version 2>&1)"
for tool in node npm; do command -v "$tool" >/dev/null || die "needs $tool"; done
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "needs Node 20.19+ (Redocly CLI 2), have $(node --version)"
echo "listo: $("$bin" --version 2>&1 | head -n 1) at $bin; $("$python" --version 2>&1); node $(node --version); npm $(npm --version)"

spec="$work/openapi.json"
bounded 20 "$bin" openapi >"$spec" 2>"$work/openapi.err" || { show "$work/openapi.err"; die "listo openapi failed"; }
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["paths"], "no paths"' "$spec" ||
  die "listo openapi did not print a JSON document with paths"
echo "spec: $spec ($(wc -c <"$spec") bytes)"

# ---------------------------------------------------------------------------------------------
step "redocly: npm ci (scripts/spec/package-lock.json)"
(cd "$here" && bounded 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || die "npm ci in $here"

step "redocly lint (recommended ruleset, scripts/spec/redocly.yaml)"
# npx --no-install: the binary npm ci put in node_modules/.bin, never a global one or a download.
redocly() {
  (cd "$here" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1 FORCE_COLOR=0 \
    bounded 120 npx --no-install redocly "$@")
}
echo "redocly $(redocly --version 2>/dev/null | tail -n 1)"
lint_rc=0
redocly lint --config "$here/redocly.yaml" --format=codeframe "$spec" >"$work/redocly.log" 2>&1 || lint_rc=$?
# Node 20's end-of-life banner (Redocly CLI prints it on every run) is left out of the log shown.
sed '/^ *[╔║╚]/d' "$work/redocly.log"
lint_json_rc=0
redocly lint --config "$here/redocly.yaml" --format=json "$spec" >"$work/redocly.json" 2>"$work/redocly-json.err" ||
  lint_json_rc=$?
read -r lint_errors lint_warnings < <("$python" - "$work/redocly.json" <<'EOF' || echo "? ?"
import json, sys
text = open(sys.argv[1]).read()
report = json.loads(text[text.index("{"):])
totals = report["totals"]
print(totals["errors"], totals["warnings"])
EOF
)
if [ "$lint_rc" -ne 0 ] || [ "$lint_json_rc" -ne 0 ] || [ "$lint_errors" != 0 ]; then
  flunk "redocly lint: ${lint_errors} error(s), ${lint_warnings} warning(s) (exit $lint_rc)"
else
  pass "redocly lint: 0 errors, ${lint_warnings} warning(s)"
fi
# Every problem on one line: "warning operation-4xx-response: ... (#/paths/...)".
"$python" - "$work/redocly.json" <<'EOF' || true
import json, sys
text = open(sys.argv[1]).read()
for p in json.loads(text[text.index("{"):])["problems"]:
    where = ", ".join(l.get("pointer", "") for l in p.get("location", []))
    print(f"    {p['severity']} {p['ruleId']}: {p['message']} ({where})")
EOF

# ---------------------------------------------------------------------------------------------
step "schemathesis: venv + pinned tools (scripts/spec/requirements.txt)"
venv="$work/venv"
if bounded 120 "$python" -m venv "$venv" >"$work/venv.log" 2>&1; then
  pip=("$venv/bin/python" -m pip)
else
  # Debian's python3 without python3-venv has no ensurepip: use the system pip on the venv.
  rm -rf "$venv"
  bounded 120 "$python" -m venv --without-pip "$venv" || { show "$work/venv.log"; die "python -m venv"; }
  pip=("$python" -m pip --python "$venv/bin/python")
fi
bounded 300 "${pip[@]}" install --quiet --disable-pip-version-check --no-input --require-hashes \
  --only-binary :all: -r "$here/requirements.txt" || die "pip install -r $here/requirements.txt"
st="$venv/bin/schemathesis"
"$st" --version

# ---------------------------------------------------------------------------------------------
step "start listo"
port="$(free_port)"
url="http://127.0.0.1:$port"
mkdir -p "$work/outbox"
env -u LISTO_SMTP_URL -u PORT -u LISTO_CORS_ORIGINS -u LISTO_TRUST_PROXY \
  LISTO_ADDR="127.0.0.1:$port" LISTO_DATABASE="$work/listo.db" LISTO_OUTBOX="$work/outbox" \
  LISTO_SESSION_TTL=3600 LISTO_LOGIN_LIMIT_PER_EMAIL=0 LISTO_LOGIN_LIMIT_PER_ADDR=0 \
  LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY=0 LISTO_CODE_LIMIT_PER_HOUR=0 LISTO_RESET_LIMIT_PER_HOUR=0 \
  LISTO_LOG_FORMAT=text RUST_LOG=info "$bin" serve >"$work/listo.log" 2>&1 &
pid=$!
ready=0
for _ in $(seq 1 200); do
  kill -0 "$pid" 2>/dev/null || { show "$work/listo.log"; pid=""; die "listo exited during start-up"; }
  if "$python" -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.05
done
[ "$ready" -eq 1 ] || { show "$work/listo.log"; die "listo did not answer /readyz within 10 s"; }
echo "listo: pid $pid on $url"

step "sign in: register → login → code from the newest .eml → verify"
token="$(bounded 60 "$python" - "$url" "$work/outbox" <<'EOF'
import glob, json, os, re, sys, urllib.error, urllib.request

url, outbox = sys.argv[1], sys.argv[2]

def post(path, body, want):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status != want:
        sys.exit(f"POST {path}: expected {want}, got {status}: {text}")
    return json.loads(text) if text else None

creds = {"email": "fuzz@example.com", "password": "correct horse battery"}
post("/v1/auth/register", creds, 201)
challenge = post("/v1/auth/login", creds, 202)["challenge_id"]
emails = sorted(glob.glob(os.path.join(outbox, "*.eml")), key=os.path.getmtime)
if not emails:
    sys.exit(f"no .eml in {outbox} after login")
match = re.search(r"code is:?\s*([0-9]{6})", open(emails[-1], encoding="utf-8").read())
if not match:
    sys.exit(f"no 6-digit code in {emails[-1]}")
session = post("/v1/auth/verify", {"challenge_id": challenge, "code": match.group(1)}, 200)
print(session["access_token"])
EOF
)" || die "could not sign in (see above; listo.log in $work)"
[ -n "$token" ] || die "verify answered no access_token"
echo "signed in as fuzz@example.com (token: ${#token} characters, not shown)"

# ---------------------------------------------------------------------------------------------
# Every check schemathesis 4.32 has but two: object_level_authorization (it needs a second user)
# and negative_data_rejection. The document is deliberately a safe subset of what the server
# takes in two places (task text must arrive trimmed, where the server trims it; an email's local
# part is at most three dotted atoms, where the server counts 64 characters however many dots),
# so some schema-invalid requests are rightly accepted. positive_data_acceptance holds the other
# direction: everything the schema allows, the server takes.
checks="${SPEC_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,positive_data_acceptance,missing_required_header,unsupported_method,allow_header_conformance,use_after_free,ensure_resource_availability,ignored_auth}"
# A warning makes schemathesis exit 1 (schemathesis.toml: fail-on = true). As a second line of
# defence the log is read too: any warning puts a "WARNINGS" banner and a "⚠️" summary line in it.
# Their titles in schemathesis 4.32 (cli/commands/run/handlers/output.py), e.g.
#   "Schema validation mismatch: N operations mostly rejected generated data due to validation errors, ..."
#   "Missing test data: N operations repeatedly returned 404 Not Found, ..."
#   "Low valid-input rate: N operations accepted few of the requests sent to it, ..."
#   "Authentication failed: N operations returned only 401/403 responses"
#   "Rate limited: N operations mostly returned 429 Too Many Requests, ..."
warning_lines='^=+ WARNINGS =+$|⚠️'

# findings LOG: one line per failing operation and check, with the answer's status and body.
findings() {
  "$venv/bin/python" - "$1" <<'PYEOF'
import re, sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
in_failures, label, check = False, None, None
found: dict[tuple[str, str, str], list[str]] = {}
for i, line in enumerate(lines):
    if re.match(r"^=+ FAILURES =+$", line):
        in_failures = True
    elif re.match(r"^=+ [A-Z]+ =+$", line):
        in_failures = False
    if not in_failures:
        continue
    heading = re.match(r"^_+ (.+?) _+$", line)
    if heading:
        label = heading.group(1)
    elif line.startswith("- "):
        check = line[2:].strip()
    status = re.match(r"^\[(\d{3})\]", line)
    if status and label:
        body = next((l.strip() for l in lines[i + 1 : i + 4] if l.strip()), "")
        found.setdefault((check, status.group(1), body[:240]), []).append(label)
# One line per distinct answer, naming every operation that gave it.
for (check, status, body), labels in found.items():
    print(f"  {', '.join(labels)}: {check} -> {status} {body}")
PYEOF
}

fuzz() { # fuzz NAME TIMEOUT SCHEMATHESIS-RUN-ARGS...: one schemathesis run, judged
  local name="$1" limit="$2" rc=0
  shift 2
  local log="$work/schemathesis-$name.log"
  echo "schemathesis run $* (seed $seed, at most ${limit}s)"
  local t0
  t0=$(date +%s)
  # Run inside $work so hypothesis' example database and any stray file stay out of the repository.
  set +e
  # The bearer token is set by hooks.py's auth providers (not -H): run.sh's user for most
  # operations, a throwaway user for the ones that end sessions or the account.
  (cd "$work" && PYTHONDONTWRITEBYTECODE=1 SCHEMATHESIS_HOOKS="$here/hooks.py" \
    LISTO_SPEC_URL="$url" LISTO_SPEC_TOKEN="$token" LISTO_SPEC_OUTBOX="$work/outbox" \
    bounded "$limit" "$st" --config-file "$here/schemathesis.toml" --no-color run "$spec" \
    --url "$url" --checks "$checks" --seed "$seed" \
    --request-timeout 20 --generation-database none \
    --report junit,ndjson --report-dir "$work/report-$name" "$@") 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  echo "schemathesis ($name): exit $rc in $(($(date +%s) - t0)) s"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    flunk "schemathesis ($name) did not finish within ${limit}s"
  elif [ "$rc" -ne 0 ] || grep -qE "$warning_lines" "$log"; then
    flunk "schemathesis ($name) found failures or warnings (exit $rc; see above)"
    findings "$log" >>"$work/findings.txt" || true
    grep -E '^ +⚠️' "$log" | sed "s/^ */  $name: warning: /" >>"$work/findings.txt" || true
  else
    pass "schemathesis ($name): no failures, no warnings"
  fi
}

step "schemathesis: every operation (${max_examples} examples per operation)"
fuzz api "$fuzz_timeout" --max-examples "$max_examples"

step "the session-ending operations were fuzzed through to success"
# hooks.py's closing line counts the 2xx answers the throwaway user got. Each of these operations
# must have succeeded at least once (its documented example does, with the examples' password):
# otherwise their success path and what it does to the session went untested.
ends_line="$(grep -E '^hooks: throwaway users:' "$work/schemathesis-api.log" | tail -n 1 || true)"
echo "${ends_line:-hooks.py printed no closing line}"
unexercised=()
for label in "POST /v1/auth/logout" "DELETE /v1/auth/sessions/{id}" "POST /v1/auth/password" "DELETE /v1/auth/account"; do
  grep -qF "$label " <<<"$ends_line" || unexercised+=("$label")
done
if [ "${#unexercised[@]}" -eq 0 ]; then
  pass "logout, end_session, change_password and delete_account each answered 2xx as the throwaway user"
else
  flunk "never answered 2xx as the throwaway user: ${unexercised[*]}"
fi

step "stop listo (SIGTERM)"
stop_rc=0
stop_listo || stop_rc=$?
if [ "$stop_rc" -ne 0 ]; then
  flunk "listo exited $stop_rc on SIGTERM"
elif grep -qE '(^| )(ERROR|PANIC)|panicked' "$work/listo.log"; then
  flunk "listo logged errors while fuzzed:"
  grep -E '(^| )(ERROR|PANIC)|panicked' "$work/listo.log" | head -n 20 | sed 's/^/    /' >&2
else
  pass "listo stopped cleanly, no ERROR in its log ($(wc -l <"$work/listo.log") lines)"
fi

# ---------------------------------------------------------------------------------------------
step "summary ($(($(date +%s) - started)) s)"
echo "redocly lint: ${lint_errors} error(s), ${lint_warnings} warning(s); schemathesis seed ${seed}, ${max_examples} examples per operation"
for f in "${failures[@]}"; do echo "  failed: $f"; done
if [ -s "$work/findings.txt" ]; then
  echo "schemathesis findings (operations: check -> status and body; full detail and curl lines above):"
  cat "$work/findings.txt"
fi
echo "spec: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
