#!/usr/bin/env bash
# Builds the filter as a WASI reactor with upstream Go.
#
# proxy-wasm-go-sdk v0.24.0 binds the proxy-wasm ABI for TinyGo only, so the
# build copies the SDK module into build/sdk, swaps the project's own binding
# (hostabi/) into its internal package in place of the in-memory mock host, and
# points an alternate module file (build/wasm.mod) at that copy. go.mod, go.sum
# and native `go test ./...` are untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/edgejwt.wasm}
sdk=github.com/tetratelabs/proxy-wasm-go-sdk
root=$(pwd)

mkdir -p build
src=$(go list -m -f '{{.Dir}}' "$sdk")
[ -n "$src" ] || { go mod download "$sdk"; src=$(go list -m -f '{{.Dir}}' "$sdk"); }
rm -rf build/sdk
cp -R "$src" build/sdk
chmod -R u+w build/sdk
internal=build/sdk/proxywasm/internal
rm "$internal/abi_hostcalls_mock.go"
for f in hostabi/*.go; do
  case "$f" in *_test.go) continue ;; esac
  cp "$f" "$internal/hostabi_$(basename "$f")"
done

cp go.mod build/wasm.mod
cp go.sum build/wasm.sum
go mod edit -modfile=build/wasm.mod -replace "$sdk=$root/build/sdk"

# EXTRA_TAGS adds build tags, e.g. crashtest for the test-only crash build.
tags=hostabi${EXTRA_TAGS:+,$EXTRA_TAGS}
GOOS=wasip1 GOARCH=wasm go build -modfile=build/wasm.mod -tags "$tags" \
  -buildmode=c-shared -trimpath ${LDFLAGS:+-ldflags="$LDFLAGS"} -o "$out" .
echo "built $out ($(wc -c <"$out") bytes)"
