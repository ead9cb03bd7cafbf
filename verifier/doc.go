// Package verifier parses compact JWS tokens, checks their signatures and
// validates their JWT claims (RFC 7515, RFC 7519, RFC 8725).
//
// It uses only the standard library's crypto and gjson for reading JSON, and
// does not depend on proxy-wasm, so it runs natively in tests and as
// wasip1/wasm inside Envoy. The request path allocates little: Parse
// normally makes three allocations, and Verify adds one for RSA and ECDSA
// plus what the standard crypto needs (none for Ed25519).
//
// # Usage
//
//	tok, err := verifier.Parse(raw, 0)        // structure only, no crypto
//	// pick a provider by tok.UnverifiedIssuer(), then:
//	claims, err := v.Verify(tok, keySource)   // alg, key, signature, claims
//
// Every error wraps exactly one of the exported sentinels. Reason(err) gives
// the sentinel's short text, which is safe to send to clients; err.Error()
// may add bounded detail meant for logs only.
//
// # Deliberate strictness
//
// The package is stricter than RFC 7515/7519 require, and stricter than
// most libraries, in these ways:
//
//   - Only the compact serialization with exactly three segments is accepted;
//     JWE (five segments) and JSON serializations are malformed.
//   - The raw token length is checked before anything else.
//   - base64url segments must use only A-Z a-z 0-9 '-' '_': no padding, no
//     '+' or '/', no whitespace or CR/LF anywhere (Go's decoder would skip
//     CR/LF silently), and unused trailing bits must be zero (canonical
//     encoding). An empty segment is malformed.
//   - The decoded header and payload must each be exactly one JSON object in
//     valid UTF-8, without a byte-order mark, with only JSON whitespace around
//     it. Member names are compared after unescaping and are case-sensitive
//     ("ALG" is not "alg").
//   - Arrays and objects may nest at most 64 deep (the top-level object
//     counts as one). gjson validates recursively, and compiled to wasm deep
//     recursion overflows the engine's call stack and kills the VM; an 8 KiB
//     token could otherwise nest a few thousand levels.
//   - Any duplicate top-level member name in the header or the payload makes
//     the token malformed, whatever the member. Duplicates inside nested
//     objects are not checked; Claims.Get returns their first occurrence.
//   - Header: "alg" must be present and a string; "kid", if present, must be a
//     string. A "crit" or "b64" member is rejected whatever its value, since no
//     extension is understood. "jwk", "jku", "x5u", "x5c" and "x5t" are
//     ignored (never fetched, parsed or trusted); "typ" and "cty" are not
//     checked.
//   - Algorithms: RS256/384/512, PS256/384/512, ES256, ES384 and EdDSA
//     (Ed25519). "none" and HS256/384/512 are always refused, both by New and
//     by Verify, so an RSA public key can never be used as an HMAC secret.
//   - PS*: the PSS salt length must equal the hash size (RFC 7518 3.5);
//     signatures with any other salt length are invalid.
//   - ES256/ES384: the signature must be raw r||s of exactly 64/96 bytes; DER
//     encoded signatures are invalid.
//   - Key selection, including what to do with a token without "kid", is the
//     KeySource's job. The key it returns must then fit the token: its type
//     (and curve) must match the algorithm family, Key.Algorithm, when set,
//     must equal the token's alg, Key.Use must be "" or "sig", RSA moduli must
//     have at least 2048 bits and Ed25519 keys exactly 32 bytes. A key that
//     does not fit is reported as ErrUnknownKID, as if no key had matched.
//   - Claims are read only after the signature is valid (UnverifiedIssuer is
//     for routing only). "exp", "nbf" and "iat" must be JSON numbers when
//     present (not strings, not null); fractions are kept and comparisons are
//     done in float64 seconds, so huge values such as 1e300 stay in the far
//     future instead of overflowing into the past. "iss", "sub" and "jti" must
//     be strings when present, and "aud" a string or an array of strings,
//     whether or not audiences are configured. A registered claim of the wrong
//     type is ErrBadClaim; a missing "iss" is ErrIssuer.
//   - An "iat" later than now plus the clock skew is rejected
//     (ErrIssuedInFuture).
//   - Options.MaxLifetime (jwt_authn's max_lifetime) requires "exp" and
//     refuses a token whose remaining lifetime, exp minus now, exceeds it by
//     more than the clock skew (ErrLifetime). It bounds what a stolen token
//     is worth, whatever the issuer put in "exp".
//   - Options.Subject (jwt_authn's subjects) must accept "sub"; a token
//     without "sub" is refused too (ErrSubject). It is checked after "iss".
package verifier
