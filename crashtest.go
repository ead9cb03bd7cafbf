//go:build crashtest

package main

import "runtime"

// A test-only build (make build-crashtest) in which a request carrying the
// header below kills the Wasm VM in the middle of the request, as a bug
// outside the request path's recover would: a panic in another goroutine,
// which the Go runtime turns into a fatal error. The e2e suite uses it to
// show that Envoy then fails closed and reloads the VM.
const crashHeader = "x-edgejwt-test-crash"

func init() {
	testHook = func(headers [][2]string) {
		for _, h := range headers {
			if h[0] == crashHeader {
				go func() { panic("edgejwt crashtest: deliberate crash") }()
				runtime.Gosched()
			}
		}
	}
}
