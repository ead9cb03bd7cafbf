// Package wasmtest tests the built filter module in internal/wasmhost, a
// proxy-wasm host on wazero, without Envoy: in particular that the Go
// runtime patch of cmd/wasmbuild keeps the module alive on Envoy 1.36-1.38,
// which refuse WASI poll_oneoff inside callbacks.
//
// The module under test is $EDGEJWT_WASM when set, else it is built from
// the repository with cmd/wasmbuild. The control test always builds its own
// module, without the runtime patch.
package wasmtest
