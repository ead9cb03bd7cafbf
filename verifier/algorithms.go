package verifier

import (
	"crypto"
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

// SupportedAlgorithms returns the JWS algorithm names this build of the
// package can verify, in a fixed order. The default build has all nine;
// the build tags edgejwt_no_ecdsa and edgejwt_no_eddsa leave out ES256/
// ES384 and EdDSA (and the standard-library code behind them).
func SupportedAlgorithms() []string {
	out := make([]string, 0, numAlgorithms-1)
	for a := algRS256; a < numAlgorithms; a++ {
		if a.compiled() {
			out = append(out, algNames[a])
		}
	}
	return out
}

// Compiled reports whether name is an algorithm this build can verify.
func Compiled(name string) bool { return lookupAlgorithm(name).compiled() }

// Known reports whether name is one of the nine algorithms the filter
// implements, whether or not this build compiled it in.
func Known(name string) bool { return lookupAlgorithm(name) != algUnknown }

// compiled reports whether this build verifies a.
func (a algorithm) compiled() bool {
	switch a {
	case algES256, algES384:
		return ecdsaCompiled
	case algEdDSA:
		return eddsaCompiled
	}
	return a != algUnknown && a < numAlgorithms
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
	if k == nil || k.RSA == nil && k.Public == nil {
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
		pub := k.RSA
		if pub == nil {
			return errKeyType
		}
		if len(pub.N) == 0 || pub.E == 0 {
			return errKeyIncomplete
		}
		if pub.BitLen() < minRSABits {
			return errKeyRSASize
		}
	case algES256, algES384:
		return checkECDSAKey(a, k)
	case algEdDSA:
		return checkEdDSAKey(k)
	default:
		return errAlgUnknown
	}
	return nil
}

// verifySignature checks sig over input with k, which checkKey accepted
// for a. It returns nil or an error wrapping ErrBadSignature.
func verifySignature(a algorithm, k *Key, input, sig []byte) error {
	switch a {
	case algRS256, algRS384, algRS512, algPS256, algPS384, algPS512:
		// The RSA functions keep their arguments, so the digest escapes;
		// it is declared here so that only this branch pays for it.
		var sum [sha512.Size]byte
		h, digest := hashInput(a, input, &sum)
		pub := k.RSA.publicKey()
		var err error
		switch a {
		case algPS256, algPS384, algPS512:
			err = rsa.VerifyPSS(pub, h, digest, sig, &pssOptions)
		default:
			err = rsa.VerifyPKCS1v15(pub, h, digest, sig)
		}
		if err != nil {
			return ErrBadSignature
		}
		return nil
	case algES256, algES384:
		return verifyECDSA(a, k.Public, input, sig)
	case algEdDSA:
		return verifyEdDSA(k.Public, input, sig)
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
