#!/usr/bin/env bash
# listo benchmark, one command: builds the release binary and the seeder, then for each store
# (SQLite, then PostgreSQL in a throwaway cluster from scripts/lib/postgres.sh, which installs
# PostgreSQL when it is missing) seeds a database through the storage layer, starts listo on loopback
# and drives it with wrk at fixed concurrency. Prints the figures and writes BENCHMARKS.md.
#
#   bench/run.sh                 all scenarios, 10 s each
#   DURATION=5 bench/run.sh      shorter runs
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
command -v python3 >/dev/null || { echo "bench: needs python3" >&2; exit 1; }

cargo build --release --locked --bin listo --example seed
exec python3 bench/bench.py "$@"
