#!/usr/bin/env bash
# Builds the filter as a WASI reactor with upstream Go: cmd/wasmbuild does
# the work (see its doc comment). Kept for callers that pass an output path:
#   scripts/build-wasm.sh [OUT] ; EXTRA_TAGS=crashtest scripts/build-wasm.sh OUT
# WASMBUILD_FLAGS passes more flags, e.g. "-algorithms rsa -regexp=false".
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/edgejwt.wasm}
# shellcheck disable=SC2086
exec go run ./cmd/wasmbuild -o "$out" -tags "${EXTRA_TAGS:-}" ${WASMBUILD_FLAGS:-}
