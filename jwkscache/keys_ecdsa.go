//go:build !edgejwt_no_ecdsa

package jwkscache

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
)

// EC keys (P-256, P-384), in every build but one with the edgejwt_no_ecdsa
// tag.

func ecSuits(pub crypto.PublicKey, alg string) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && (alg == "ES256" && k.Curve == elliptic.P256() || alg == "ES384" && k.Curve == elliptic.P384())
}

func ecKey(crv, x64, y64 string) (crypto.PublicKey, string) {
	var curve elliptic.Curve
	switch crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	default:
		return nil, "unsupported EC curve " + boundedName(crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, okx := b64(x64)
	y, oky := b64(y64)
	if !okx || !oky || len(x) != size || len(y) != size {
		return nil, "EC coordinates are not base64url of the curve's size"
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, "EC point is not on the curve"
	}
	return pub, ""
}
