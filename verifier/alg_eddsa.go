//go:build !edgejwt_no_eddsa

package verifier

import (
	"crypto"
	"crypto/ed25519"
)

// EdDSA (Ed25519), in every build but one with the edgejwt_no_eddsa tag.
const eddsaCompiled = true

func checkEdDSAKey(k *Key) error {
	pub, ok := k.Public.(ed25519.PublicKey)
	if !ok {
		return errKeyType
	}
	// ed25519.Verify panics on any other length.
	if len(pub) != ed25519.PublicKeySize {
		return errKeyEd25519Len
	}
	return nil
}

func verifyEdDSA(pub crypto.PublicKey, input, sig []byte) error {
	if len(sig) != ed25519.SignatureSize {
		return errSigLength
	}
	if !ed25519.Verify(pub.(ed25519.PublicKey), input, sig) {
		return ErrBadSignature
	}
	return nil
}
