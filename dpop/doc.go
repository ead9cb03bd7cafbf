// Package dpop checks DPoP proofs (RFC 9449): the JWS a client sends in the
// DPoP header to show that it holds the private key an access token is
// bound to (the token's cnf.jkt, an RFC 7638 thumbprint of that key).
//
// It is plain Go, without proxy-wasm: Parse reads a proof strictly (the
// verifier's JWS parse, jwkscache's key checks), Checker judges it against
// one request and one access token (RFC 9449 section 4.3), ReplayCache
// remembers the jti of accepted proofs in a key-value store with
// compare-and-swap (Envoy's shared data in the filter, so that the workers
// of one Envoy share it), and Nonces makes and checks stateless server
// nonces (section 9). Package authn applies it to requests.
//
// Every error wraps one of the exported sentinels, whose texts are fixed
// and safe to send to a client; Code gives the RFC 9449 error code.
package dpop
