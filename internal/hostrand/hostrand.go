// Package hostrand fills a buffer with random bytes from the host.
//
// crypto/rand in a wasip1 module brings its deterministic random bit
// generator along (AES, SHA-3 and HMAC code, about 0.1 MB of the module)
// for the 32 bytes of a DPoP nonce secret made once per Envoy. In wasip1,
// Read asks the host directly (WASI random_get, the call the Go runtime
// itself seeds from); elsewhere it is crypto/rand.
package hostrand
