//go:build !edgejwt_no_eddsa

package jwkscache

import (
	"crypto"
	"crypto/ed25519"
	"encoding/hex"
)

// OKP keys (Ed25519), in every build but one with the edgejwt_no_eddsa tag.

func okpSuits(pub crypto.PublicKey, alg string) bool {
	_, ok := pub.(ed25519.PublicKey)
	return ok && alg == "EdDSA"
}

func okpKey(crv, x64 string) (crypto.PublicKey, string, bool) {
	if crv != "Ed25519" {
		return nil, "unsupported OKP curve " + boundedName(crv), false
	}
	x, ok := b64(x64)
	if !ok || len(x) != ed25519.PublicKeySize {
		return nil, "Ed25519 key is not 32 bytes of base64url", false
	}
	if why := unsafeEd25519(x); why != "" {
		return nil, why, true
	}
	return ed25519.PublicKey(x), "", false
}

// ed25519SmallOrder are the encodings of the eight points of small order
// (the torsion subgroup; jwks_test.go derives them) and the two encodings
// of x = 0 points with the sign bit set, which RFC 8032 section 5.1.3
// forbids. Under such a "public key" a valid signature exists for every
// message without any secret: anyone can forge the issuer's tokens.
var ed25519SmallOrder = [...]string{
	"0100000000000000000000000000000000000000000000000000000000000000",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

// unsafeEd25519 says why the encoded Ed25519 public key must never be
// trusted, or "".
func unsafeEd25519(x []byte) string {
	// y, the low 255 bits, must be below p = 2^255-19 (RFC 8032 section
	// 5.1.3): an encoding of y+p is another name for a point, and the
	// usual way to slip a small-order point past a block list.
	if x[31]&0x7f == 0x7f && x[0] >= 0xed && allFF(x[1:31]) {
		return "Ed25519 key is not canonically encoded (y >= p)"
	}
	enc := hex.EncodeToString(x)
	for _, bad := range ed25519SmallOrder {
		if enc == bad {
			return "Ed25519 key is a point of small order: anyone can sign for it"
		}
	}
	return ""
}

func allFF(b []byte) bool {
	for _, c := range b {
		if c != 0xff {
			return false
		}
	}
	return true
}
