#!/usr/bin/env bash
# A throwaway S3 server for tests: moto's server from PyPI, pinned (5.2.5 supports conditional
# writes: If-None-Match / If-Match on PutObject answer 412 when the condition fails), in its own
# venv, on a free loopback port. moto keeps everything in memory and does not check signatures.
#
#   bash scripts/lib/moto.sh venv DIR      create a venv in DIR with the pinned moto[server]
#                                          (nothing happens when DIR already has one)
#   bash scripts/lib/moto.sh start DIR     start moto from the venv in DIR, print its URL (one
#                                          line: http://127.0.0.1:PORT); pid and log in DIR
#   bash scripts/lib/moto.sh stop DIR      stop it (fine if already stopped)
#   . scripts/lib/moto.sh                  only defines moto_venv, moto_start, moto_stop (and
#                                          free_port from listo.sh)
#
# For the lease stories: LISTO_TEST_S3="$(bash scripts/lib/moto.sh start DIR)" cargo test --test api -- lease::
# Everything but the URL goes to stderr.

# shellcheck source-path=SCRIPTDIR source=listo.sh
. "$(dirname "${BASH_SOURCE[0]}")/listo.sh"  # free_port; it only defines functions

# The versions that were tested together (research of issue 28, Python 3.11).
MOTO_PINS=(
  "moto[server]==5.2.5" boto3==1.44.8 botocore==1.44.8 Flask==3.1.3 flask-cors==6.0.5
  Werkzeug==3.1.9 responses==0.26.3 xmltodict==1.0.4 cryptography==50.0.2
)

# moto_venv DIR: a venv in DIR holding the pinned moto server.
moto_venv() {
  local dir="${1:?usage: moto_venv DIR}"
  [ -x "$dir/bin/moto_server" ] && return 0
  python3 -m venv "$dir" >&2 || return 1
  "$dir/bin/pip" install -q "${MOTO_PINS[@]}" >&2 || return 1
  [ -x "$dir/bin/moto_server" ]
}

# moto_start DIR: starts moto from DIR's venv on a free port, waits until it answers (30 s at most),
# prints its URL.
moto_start() {
  local dir="${1:?usage: moto_start DIR}" port url attempt _
  [ -x "$dir/bin/moto_server" ] || { echo "moto: no venv in $dir (moto_venv $dir)" >&2; return 1; }
  moto_stop "$dir" || return 1
  # A free port is free only until someone else binds it: try another if moto dies at once.
  for attempt in 1 2 3; do
    port="$(free_port)"
    url="http://127.0.0.1:$port"
    # Its own session: the caller's Ctrl-C does not reach it; moto_stop does.
    setsid "$dir/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$dir/moto.log" 2>&1 &
    echo $! >"$dir/moto.pid"
    for _ in $(seq 1 300); do
      if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url/" 2>/dev/null; then
        echo "$url"
        return 0
      fi
      kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null || break
      sleep 0.1
    done
    moto_stop "$dir"
    [ "$attempt" -lt 3 ] && grep -q 'Address already in use' "$dir/moto.log" 2>/dev/null && continue
    echo "moto: no answer on $url; its log:" >&2
    cat "$dir/moto.log" >&2 2>/dev/null || true
    return 1
  done
}

# moto_stop DIR: stops the moto started from DIR, if running.
moto_stop() {
  local dir="${1:?usage: moto_stop DIR}" pid _
  [ -f "$dir/moto.pid" ] || return 0
  pid="$(cat "$dir/moto.pid")"
  rm -f "$dir/moto.pid"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    venv) moto_venv "${2:?usage: $0 venv DIR}" ;;
    start) moto_start "${2:?usage: $0 start DIR}" ;;
    stop) moto_stop "${2:?usage: $0 stop DIR}" ;;
    *)
      sed -n '/^#   /p' "$0" >&2
      exit 2
      ;;
  esac
fi
