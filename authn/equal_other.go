//go:build !wasm

package authn

// sameToken reports a == b (see equal_wasm.go for why it is a function).
func sameToken(a, b string) bool { return a == b }
