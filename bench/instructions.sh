#!/usr/bin/env bash
# Instructions per request under valgrind's callgrind: figures that stay put on a noisy machine.
# Builds the release binary, installs valgrind (Debian package) when it is missing, then runs
# bench/instructions.py against listo on SQLite and prints the table (Ir per request and the ratio
# to GET /healthz for healthz, session, list page 1, a list's page 1 (/v1/lists/{id}/tasks), the
# two feeds, create, sort, move).
#
#   bench/instructions.sh                        the whole table (about 1.5 minutes)
#   INSTR_JSON=/tmp/instr.json bench/instructions.sh   also write the results as JSON
#   bench/instructions.sh --json /tmp/instr.json --only list   the same, list (and healthz) only
#   bench/instructions.sh --only list,list_in_list,list_by_id,changes,feed   lists (issue 24) beside /v1/tasks
#   INSTR_N=200 INSTR_WINDOWS=5 INSTR_WARMUP=20  requests per window, windows, warm-up requests
#   INSTR_KEEP=/tmp/cg bench/instructions.sh     keep the callgrind dumps (one per window)
#   CARGO_TARGET_DIR=/elsewhere bench/instructions.sh   builds there and runs that binary
#
# For a per-function profile (callgrind_annotate), build an unstripped copy and point LISTO_BIN at it:
#   CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
#     CARGO_TARGET_DIR=/tmp/target-prof cargo build --release --bin listo
#   LISTO_BIN=/tmp/target-prof/release/listo INSTR_KEEP=/tmp/cg python3 bench/instructions.py --only list
#   callgrind_annotate --inclusive=yes /tmp/cg/cg.<pid>.<n>
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
  echo "instructions: installing valgrind (Debian package)"
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y valgrind >/dev/null || { apt-get update >/dev/null && apt-get install -y valgrind >/dev/null; }
  else
    sudo apt-get install -y valgrind >/dev/null || { sudo apt-get update >/dev/null && sudo apt-get install -y valgrind >/dev/null; }
  fi
fi
command -v python3 >/dev/null || { echo "instructions: needs python3" >&2; exit 1; }

if [ -z "${LISTO_BIN:-}" ]; then
  cargo build --release --locked --bin listo
  target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$root/$target" ;; esac
  export LISTO_BIN="$target/release/listo"
fi
exec python3 bench/instructions.py "$@"
