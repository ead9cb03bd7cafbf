//go:build wasip1 && hostabi

// Package internal, in this directory, is the project's binding of the
// proxy-wasm ABI (v0.2.0 exports, the host calls of v0.2.1) for upstream Go's
// wasip1 reactor build.
//
// github.com/tetratelabs/proxy-wasm-go-sdk v0.24.0 binds the ABI for TinyGo
// only; under upstream Go its internal package is compiled against an
// in-memory mock host. At build time (see the Makefile's `build` target) the
// files here are swapped into that internal package of a copy of the SDK:
// hostcalls.go replaces abi_hostcalls_mock.go, serde.go replaces the SDK's
// serde.go, and callbacks.go and memory.go are added next to them. They are
// package internal so that they can call the SDK's unexported callback
// handlers.
//
// The build tags keep this directory out of every ordinary build and test of
// the module: it only compiles inside the SDK copy.
package internal
