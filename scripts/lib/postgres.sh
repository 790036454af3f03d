#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks: loopback TCP on a free port, its unix
# socket inside its own folder, trust auth for user postgres, fsync and synchronous_commit on (the
# tests that use it are about durability). As root the cluster belongs to the postgres user, since
# PostgreSQL refuses to run as root; otherwise to the current user.
#
#   bash scripts/lib/postgres.sh while-alive PID   install if needed, start a cluster in a new temp
#                                                  folder, print its URL (one line) and exit 0; a
#                                                  detached watchdog stops it and deletes the folder
#                                                  once PID has exited
#   bash scripts/lib/postgres.sh start DIR         start a cluster in DIR (empty), print its URL
#   bash scripts/lib/postgres.sh stop DIR          stop it (fine if already stopped); DIR is kept
#   . scripts/lib/postgres.sh                      only defines pg_bin_dir, pg_install, pg_start,
#                                                  pg_stop (and free_port from listo.sh)
#
# The URL is postgres://postgres@127.0.0.1:PORT/postgres; everything else goes to stderr.
# PG_BINDIR=DIR names the folder of the server binaries to use: then nothing is looked for and
# nothing is ever installed (the tests run the script so; they never install PostgreSQL).

# shellcheck source-path=SCRIPTDIR source=listo.sh
. "$(dirname "${BASH_SOURCE[0]}")/listo.sh"  # free_port; it only defines functions

# pg_bin_dir: the folder of initdb/pg_ctl/postgres: $PG_BINDIR when set, else Debian's newest
# /usr/lib/postgresql/N/bin, else initdb's on PATH.
pg_bin_dir() {
  local newest initdb
  if [ -n "${PG_BINDIR:-}" ]; then
    [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ] && printf '%s\n' "$PG_BINDIR"
    return
  fi
  # Debian keeps the server binaries off PATH, one folder per major version; sort -V puts 9.6 before 15.
  newest="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  if [ -x "$newest" ]; then
    dirname "$newest"
  elif initdb="$(command -v initdb)"; then
    dirname "$(readlink -f "$initdb")"  # a symlink on PATH: pg_ctl and postgres sit beside the target
  else
    return 1
  fi
}

# pg_install: apt-get install postgresql unless its binaries are already here (root only); never
# with PG_BINDIR set.
pg_install() {
  pg_bin_dir >/dev/null && return 0
  if [ -n "${PG_BINDIR:-}" ]; then
    echo "postgres: PG_BINDIR=$PG_BINDIR holds no initdb and pg_ctl (nothing is installed when it is set)" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "postgres: PostgreSQL is not installed (needs root and apt-get: apt-get install postgresql)" >&2
    return 1
  fi
  # The package lists may be fine already; refresh them only when the install fails.
  {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql ||
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }
  } >&2 || return 1
  pg_bin_dir >/dev/null
}

# pg_as CMD...: runs CMD as the cluster's owner (postgres when we are root, else ourselves), from /.
pg_as() {
  # From / so the postgres user is not left in a cwd it may not read (initdb and pg_ctl warn then);
  # callers pass absolute paths.
  if [ "$(id -u)" -ne 0 ]; then
    (cd / && "$@")
  elif command -v runuser >/dev/null; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
  fi
}

# pg_start DIR: initdb in the empty folder DIR, start the server, print its URL on stdout.
pg_start() {
  local dir="${1:?usage: pg_start DIR}" bin locale out port attempt
  if [ ! -d "$dir" ] || [ -n "$(ls -A "$dir")" ]; then
    echo "postgres: $dir is not an empty folder" >&2
    return 1
  fi
  dir="$(cd "$dir" && pwd)"  # absolute: it goes into postgresql.conf and pg_as runs from /
  bin="$(pg_bin_dir)" || { echo "postgres: PostgreSQL is not installed (pg_install)" >&2; return 1; }
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "postgres: running as root but there is no postgres user" >&2; return 1; }
    chown postgres: "$dir"
  fi
  # C.UTF-8 sorts like C but knows what a character is; minimal images may lack it.
  locale=C
  # (grep without -q reads all of locale's output: no SIGPIPE for pipefail to count as a failure)
  if locale -a 2>/dev/null | grep -iE '^c\.utf-?8$' >/dev/null; then locale=C.UTF-8; fi
  # initdb is chatty; its output only matters when it fails.
  if ! out="$(pg_as "$bin/initdb" -D "$dir" -A trust -U postgres --encoding=UTF8 --locale="$locale" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
  # Later lines of postgresql.conf win over the defaults above them.
  cat >>"$dir/postgresql.conf" <<EOF

# scripts/lib/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '${dir//\'/\'\'}'
max_connections = 300
fsync = on
synchronous_commit = on
EOF
  # free_port's port is free only until someone else binds it: on that race, append another port
  # (again, the last line wins) and try again.
  for attempt in 1 2 3; do
    port="$(free_port)"
    echo "port = $port" >>"$dir/postgresql.conf"
    rm -f "$dir/log"
    if out="$(pg_as "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/log" start 2>&1)"; then
      echo "postgres://postgres@127.0.0.1:$port/postgres"
      return 0
    fi
    # A timed-out start may still be coming up: make sure nothing outlives the failure.
    pg_as "$bin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
    if [ "$attempt" -lt 3 ] && grep -qE 'could not bind|could not create any TCP/IP sockets' "$dir/log" 2>/dev/null; then
      continue
    fi
    printf '%s\n' "$out" >&2
    echo "--- $dir/log" >&2
    cat "$dir/log" >&2 2>/dev/null || true
    return 1
  done
}

# pg_stop DIR: fast shutdown of the cluster in DIR; nothing to do when it is not running (or not there).
pg_stop() {
  local dir="${1:?usage: pg_stop DIR}" bin
  [ -f "$dir/PG_VERSION" ] || return 0
  dir="$(cd "$dir" && pwd)"
  bin="$(pg_bin_dir)" || return 1
  # status: 0 running, 3 not running.
  pg_as "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1 || return 0
  pg_as "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
}

# pg_pid_start PID: PID's start time (clock ticks since boot), which tells it apart from a later
# process that reuses the number; "-" where there is no /proc.
pg_pid_start() {
  local stat f
  [ -d /proc/self ] || { kill -0 "$1" 2>/dev/null && echo - && return 0; return 1; }
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Fields after the ")" that closes the command name: state is the 1st (field 3), starttime the 20th (22).
  read -r -a f <<<"${stat##*) }"
  [ "${f[0]}" != Z ] || return 1  # a zombie has exited, it just has not been reaped yet
  echo "${f[19]}"
}

# pg_pid_alive PID START: whether PID is still the process that had start time START.
pg_pid_alive() {
  local now
  now="$(pg_pid_start "$1")" && [ "$now" = "$2" ]
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
  case "${1:-}" in
    while-alive)
      pid="${2:-}"
      [[ "$pid" =~ ^[0-9]+$ ]] || { echo "usage: $0 while-alive PID" >&2; exit 2; }
      # Taken before the slow part, so a PID that exits meanwhile and gets reused is still told apart.
      since="$(pg_pid_start "$pid")" || { echo "postgres: process $pid is not running" >&2; exit 1; }
      pg_install
      dir="$(mktemp -d -t listo-pg.XXXXXX)"  # 0700; pg_start hands it to the postgres user
      url="$(pg_start "$dir")" || { rm -rf "$dir"; exit 1; }
      # The watchdog goes first, so the cluster is cleaned up even if printing the URL fails. Its own
      # session keeps it out of the caller's signals; no inherited stdout/stderr, so a caller reading
      # our stdout sees EOF right after the URL.
      setsid bash "$self" watch "$pid" "$since" "$dir" </dev/null >/dev/null 2>&1 &
      echo "$url"
      ;;
    watch)  # internal, started by while-alive: watch PID START DIR
      pid="$2" since="$3" dir="$4"
      done_() {
        pg_stop "$dir" || true
        # Only ever delete what pg_start made: a cluster folder (or one initdb never filled).
        if [ -f "$dir/PG_VERSION" ] || [ -z "$(ls -A "$dir" 2>/dev/null)" ]; then rm -rf "$dir"; fi
        exit 0
      }
      trap done_ HUP INT TERM
      while pg_pid_alive "$pid" "$since"; do sleep 1; done
      done_
      ;;
    start)
      [ -n "${2:-}" ] || { echo "usage: $0 start DIR" >&2; exit 2; }
      pg_install
      pg_start "$2"
      ;;
    stop)
      [ -n "${2:-}" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
      pg_stop "$2"
      ;;
    *)
      sed -n '/^#   /p' "$0" >&2
      exit 2
      ;;
  esac
fi
