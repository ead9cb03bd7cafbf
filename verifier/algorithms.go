package verifier

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"strings"
)

// algorithm identifies a supported JWS algorithm; the zero value is none of
// them.
type algorithm uint8

const (
	algUnknown algorithm = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algEdDSA
	numAlgorithms
)

var algNames = [numAlgorithms]string{
	algRS256: "RS256",
	algRS384: "RS384",
	algRS512: "RS512",
	algPS256: "PS256",
	algPS384: "PS384",
	algPS512: "PS512",
	algES256: "ES256",
	algES384: "ES384",
	algEdDSA: "EdDSA",
}

// SupportedAlgorithms returns the JWS algorithm names this package can
// verify, in a fixed order.
func SupportedAlgorithms() []string {
	out := make([]string, 0, numAlgorithms-1)
	for a := algRS256; a < numAlgorithms; a++ {
		out = append(out, algNames[a])
	}
	return out
}

// lookupAlgorithm maps an exact, case-sensitive JWS alg name to an
// algorithm. "none", HS* and anything unknown map to algUnknown.
func lookupAlgorithm(name string) algorithm {
	switch name {
	case "RS256":
		return algRS256
	case "RS384":
		return algRS384
	case "RS512":
		return algRS512
	case "PS256":
		return algPS256
	case "PS384":
		return algPS384
	case "PS512":
		return algPS512
	case "ES256":
		return algES256
	case "ES384":
		return algES384
	case "EdDSA":
		return algEdDSA
	}
	return algUnknown
}

// isForbidden reports names that must never be configured: unsigned tokens
// and symmetric algorithms, whose secret would be a public key here.
func isForbidden(name string) bool {
	return strings.EqualFold(name, "none") || strings.HasPrefix(strings.ToUpper(name), "HS")
}

func (a algorithm) String() string {
	if a < numAlgorithms && a != algUnknown {
		return algNames[a]
	}
	return "unknown"
}

// algSet is a set of algorithms as a bit mask.
type algSet uint16

func (s algSet) has(a algorithm) bool { return a != algUnknown && s&(1<<a) != 0 }
func (s *algSet) add(a algorithm)     { *s |= 1 << a }

// pssOptions fixes the salt length to the hash size (RFC 7518 3.5) instead
// of the library's default of accepting any salt length.
var pssOptions = rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// minRSABits is the smallest RSA modulus accepted (RFC 7518 3.3).
const minRSABits = 2048

// checkKey reports whether k may verify a token signed with a. A key that
// does not fit is reported as ErrUnknownKID: no usable key matched.
func checkKey(a algorithm, k *Key) error {
	if k == nil || k.Public == nil {
		return errNilKey
	}
	if k.Algorithm != "" && k.Algorithm != a.String() {
		return errKeyAlg
	}
	if k.Use != "" && k.Use != "sig" {
		return errKeyUse
	}
	switch a {
	case algRS256, algRS384, algRS512, algPS256, algPS384, algPS512:
		pub, ok := k.Public.(*rsa.PublicKey)
		if !ok {
			return errKeyType
		}
		if pub == nil || pub.N == nil {
			return errKeyIncomplete
		}
		if pub.N.BitLen() < minRSABits {
			return errKeyRSASize
		}
	case algES256, algES384:
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
	case algEdDSA:
		pub, ok := k.Public.(ed25519.PublicKey)
		if !ok {
			return errKeyType
		}
		// ed25519.Verify panics on any other length.
		if len(pub) != ed25519.PublicKeySize {
			return errKeyEd25519Len
		}
	default:
		return errAlgUnknown
	}
	return nil
}

func curveFor(a algorithm) elliptic.Curve {
	if a == algES384 {
		return elliptic.P384()
	}
	return elliptic.P256()
}

// verifySignature checks sig over input with pub, which checkKey accepted
// for a. It returns nil or an error wrapping ErrBadSignature.
func verifySignature(a algorithm, pub crypto.PublicKey, input, sig []byte) error {
	switch a {
	case algRS256, algRS384, algRS512, algPS256, algPS384, algPS512:
		// The RSA functions keep their arguments, so the digest escapes;
		// it is declared here so that only this branch pays for it.
		var sum [sha512.Size]byte
		h, digest := hashInput(a, input, &sum)
		k := pub.(*rsa.PublicKey)
		var err error
		switch a {
		case algPS256, algPS384, algPS512:
			err = rsa.VerifyPSS(k, h, digest, sig, &pssOptions)
		default:
			err = rsa.VerifyPKCS1v15(k, h, digest, sig)
		}
		if err != nil {
			return ErrBadSignature
		}
		return nil
	case algES256, algES384:
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
	case algEdDSA:
		if len(sig) != ed25519.SignatureSize {
			return errSigLength
		}
		if !ed25519.Verify(pub.(ed25519.PublicKey), input, sig) {
			return ErrBadSignature
		}
		return nil
	}
	return errAlgUnknown
}

// hashInput hashes input with a's hash into sum and returns the hash and
// the digest, a prefix of sum.
func hashInput(a algorithm, input []byte, sum *[sha512.Size]byte) (crypto.Hash, []byte) {
	switch a {
	case algRS384, algPS384, algES384:
		d := sha512.Sum384(input)
		return crypto.SHA384, sum[:copy(sum[:], d[:])]
	case algRS512, algPS512:
		*sum = sha512.Sum512(input)
		return crypto.SHA512, sum[:]
	default:
		d := sha256.Sum256(input)
		return crypto.SHA256, sum[:copy(sum[:], d[:])]
	}
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
