//go:build edgejwt_no_ecdsa

package verifier

import "crypto"

// This build leaves ES256 and ES384 out (build tag edgejwt_no_ecdsa): they
// are unsupported algorithms, as "none" is.
const ecdsaCompiled = false

func checkECDSAKey(algorithm, *Key) error { return errAlgUnknown }

func verifyECDSA(algorithm, crypto.PublicKey, []byte, []byte) error { return errAlgUnknown }
