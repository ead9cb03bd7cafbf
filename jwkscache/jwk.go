package jwkscache

import (
	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/verifier"
)

// ParseJWK turns one JWK (a JSON object) into a key with the checks a key
// of a key set gets: no repeated member, string members of the right kind,
// no private key members, a use of "sig" and key_ops with "verify" when
// present, an RSA modulus of 2048 to 8192 bits without a small factor or
// the ROCA fingerprint, an EC point on its curve, an Ed25519 key of full
// order. Otherwise it says why (reason), and whether the key must never be
// trusted (unsafe). A DPoP proof's jwk is parsed with it.
func ParseJWK(jwk gjson.Result) (k *verifier.Key, reason string, unsafe bool) {
	return parseKey(jwk)
}
