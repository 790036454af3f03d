# Shared by the scripts that drive a listo binary from outside. Source it after setting `script`
# (the prefix of messages) and `pid` (empty until listo runs).

# free_port: a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# stop_listo: SIGTERM to $pid, up to 15 s to finish (then SIGKILL); returns listo's exit status.
stop_listo() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "$script: listo did not stop within 15 s of SIGTERM; killed" >&2
  fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  pid=""
  return "$rc"
}
