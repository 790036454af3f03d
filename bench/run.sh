#!/usr/bin/env bash
# listo benchmark, one command: builds the release binary and the seeder, then for each store
# (SQLite, then PostgreSQL in a throwaway cluster from scripts/lib/postgres.sh, which installs
# PostgreSQL when it is missing) seeds a database through the storage layer, starts listo on loopback
# and drives it with wrk at fixed concurrency. Prints the figures and writes BENCHMARKS.md.
#
#   bench/run.sh                 all scenarios, 10 s each
#   DURATION=5 bench/run.sh      shorter runs
#   BENCH_ONLY=changes,streams bench/run.sh
#                                only these groups of scenarios (session, list, changes, sort, writes,
#                                storm, kept, lists, streams, processes, migration); the report then goes to
#                                /tmp/listo-BENCHMARKS.partial.md (or $BENCH_REPORT), not BENCHMARKS.md
#   BENCH_ONLY=lists LISTS_ROUNDS=3 bench/run.sh
#                                lists (issue 24, bench/lists.py) against the default list, 3 rounds
#   BENCH_ONLY=migration bench/run.sh
#                                the lists migration on a previous release's database
#                                (bench/lists_migration.py; no seed, no wrk)
#   BENCH_STORES=sqlite bench/run.sh   one store only
#   CARGO_TARGET_DIR=/elsewhere bench/run.sh   builds there, and bench.py runs the binaries from there
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
command -v python3 >/dev/null || { echo "bench: needs python3" >&2; exit 1; }

cargo build --release --locked --bin listo --example seed
# Instructions per request under callgrind first (figures that do not move with noise); the
# report puts them beside the wrk figures. BENCH_ONLY runs skip them.
if [ -z "${BENCH_ONLY:-}" ]; then
  export BENCH_INSTRUCTIONS="${BENCH_INSTRUCTIONS:-$(mktemp /tmp/listo-instructions.XXXXXX.json)}"
  LISTO_BIN="${CARGO_TARGET_DIR:-target}/release/listo" bash bench/instructions.sh --json "$BENCH_INSTRUCTIONS"
fi
exec python3 bench/bench.py "$@"
