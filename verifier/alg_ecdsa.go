//go:build !edgejwt_no_ecdsa

package verifier

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha512"
)

// ES256 and ES384, in every build but one with the edgejwt_no_ecdsa tag
// (crypto/ecdsa and its curves are over a megabyte of the Wasm module).
const ecdsaCompiled = true

func checkECDSAKey(a algorithm, k *Key) error {
	pub, ok := k.Public.(*ecdsa.PublicKey)
	if !ok {
		return errKeyType
	}
	if pub == nil || pub.Curve == nil || pub.X == nil || pub.Y == nil {
		return errKeyIncomplete
	}
	if pub.Curve.Params() != curveFor(a).Params() {
		return errKeyCurve
	}
	return nil
}

func curveFor(a algorithm) elliptic.Curve {
	if a == algES384 {
		return elliptic.P384()
	}
	return elliptic.P256()
}

func verifyECDSA(a algorithm, pub crypto.PublicKey, input, sig []byte) error {
	size := 32
	if a == algES384 {
		size = 48
	}
	if len(sig) != 2*size {
		return errSigLength
	}
	// One scratch value for digest and DER, as both escape into
	// crypto/ecdsa.
	var scratch struct {
		sum [sha512.Size]byte
		der [maxDERSignature]byte
	}
	_, digest := hashInput(a, input, &scratch.sum)
	enc := rawToDER(scratch.der[:0], sig[:size], sig[size:])
	if enc == nil || !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest, enc) {
		return ErrBadSignature
	}
	return nil
}

// maxDERSignature bounds the DER form of a P-384 signature: SEQUENCE of two
// INTEGERs of at most 48 bytes plus a sign byte, all with short lengths.
const maxDERSignature = 2 + 2*(2+1+48)

// rawToDER appends the ASN.1 DER ECDSA-Sig-Value for the big-endian r and s
// to dst, as ecdsa.VerifyASN1 expects; this avoids the big.Int round trip of
// ecdsa.Verify. It returns nil if r or s is zero, which is never valid.
func rawToDER(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	if len(r) == 0 || len(s) == 0 {
		return nil
	}
	body := intLen(r) + intLen(s)
	dst = append(dst, 0x30, byte(body))
	dst = appendInt(dst, r)
	return appendInt(dst, s)
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// intLen is the encoded size of a positive INTEGER with magnitude b.
func intLen(b []byte) int {
	n := len(b)
	if b[0]&0x80 != 0 {
		n++
	}
	return 2 + n
}

func appendInt(dst, b []byte) []byte {
	if b[0]&0x80 != 0 {
		dst = append(dst, 0x02, byte(len(b)+1), 0)
	} else {
		dst = append(dst, 0x02, byte(len(b)))
	}
	return append(dst, b...)
}
