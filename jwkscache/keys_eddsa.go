//go:build !edgejwt_no_eddsa

package jwkscache

import (
	"crypto"
	"crypto/ed25519"
)

// OKP keys (Ed25519), in every build but one with the edgejwt_no_eddsa tag.

func okpSuits(pub crypto.PublicKey, alg string) bool {
	_, ok := pub.(ed25519.PublicKey)
	return ok && alg == "EdDSA"
}

func okpKey(crv, x64 string) (crypto.PublicKey, string) {
	if crv != "Ed25519" {
		return nil, "unsupported OKP curve " + boundedName(crv)
	}
	x, ok := b64(x64)
	if !ok || len(x) != ed25519.PublicKeySize {
		return nil, "Ed25519 key is not 32 bytes of base64url"
	}
	return ed25519.PublicKey(x), ""
}
