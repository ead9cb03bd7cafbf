// Package e2e is the end-to-end suite: it runs the filter, built as a WASI
// reactor, inside a real Envoy (started by internal/envoyproc through
// func-e's Go API) between a test token issuer and an echo upstream
// (internal/devservers), and checks the answers of the README's contract
// from the client's side and from the upstream's.
//
// Run it with `make e2e`, or `go test ./e2e/`: $ENVOY_PATH names the Envoy
// binary (else scripts/ensure-envoy.sh finds or installs one) and
// $EDGEJWT_WASM the filter (else the suite builds it with
// scripts/build-wasm.sh). Without either the suite fails; it never skips.
package e2e
