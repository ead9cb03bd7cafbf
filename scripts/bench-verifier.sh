#!/usr/bin/env bash
# Go benchmarks of the request path (verifier, jwkscache, authn, dpop), natively and
# compiled to wasip1/wasm under wazero, side by side in one run, so that a
# regression inside Wasm is visible (Envoy runs the filter in V8; wazero's
# compiler is the closest engine a Go test can drive, a little slower).
#   BENCH=regexp BENCHTIME=... scripts/bench-verifier.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${BENCH:-.}
benchtime=${BENCHTIME:-1s}
wazero=github.com/tetratelabs/wazero/cmd/wazero@v1.12.0
mkdir -p build
for pkg in verifier authn dpop; do
  echo "== $pkg, native ($(go env GOARCH))"
  go test -run='^$' -bench="$bench" -benchmem -benchtime="$benchtime" "./$pkg/" | grep -E '^(Benchmark|ok)'
  echo "== $pkg, wasip1/wasm under wazero"
  GOOS=wasip1 GOARCH=wasm go test -c -o "build/$pkg-bench.wasm" "./$pkg/"
  go run "$wazero" run "build/$pkg-bench.wasm" -test.run='^$' -test.bench="$bench" -test.benchmem \
    -test.benchtime="$benchtime" | grep -E '^(Benchmark|PASS)'
done
