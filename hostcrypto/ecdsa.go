//go:build !edgejwt_no_ecdsa

package hostcrypto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"math/big"
)

// Object identifiers of EC SubjectPublicKeyInfo (RFC 5480).
var (
	oidECPublicKey = []byte{0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}
	oidP256        = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	oidP384        = []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}
)

func ecdsaPublicKeyDER(pub any) []byte {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil
	}
	var curve []byte
	switch k.Curve {
	case elliptic.P256():
		curve = oidP256
	case elliptic.P384():
		curve = oidP384
	default:
		return nil
	}
	point, err := k.Bytes()
	if err != nil {
		return nil
	}
	alg := tlv(0x30, append(append([]byte{}, oidECPublicKey...), curve...))
	return tlv(0x30, append(alg, bitString(point)...))
}

func ecdsaSignature(pub any, sig []byte) ([]byte, bool) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, false
	}
	return ECDSASignatureDER(sig, (k.Curve.Params().BitSize+7)/8)
}

// ECDSASignatureDER turns a JWS ECDSA signature (r||s, each of size bytes)
// into the DER SEQUENCE{r, s} that BoringSSL verifies. ok is false for a
// signature of the wrong length, which no key of that size can verify.
func ECDSASignatureDER(raw []byte, size int) (der []byte, ok bool) {
	if size <= 0 || len(raw) != 2*size {
		return nil, false
	}
	r := new(big.Int).SetBytes(raw[:size])
	s := new(big.Int).SetBytes(raw[size:])
	return tlv(0x30, append(asn1Int(r.Bytes()), asn1Int(s.Bytes())...)), true
}
