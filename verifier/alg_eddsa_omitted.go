//go:build edgejwt_no_eddsa

package verifier

import "crypto"

// This build leaves EdDSA out (build tag edgejwt_no_eddsa): it is an
// unsupported algorithm, as "none" is.
const eddsaCompiled = false

func checkEdDSAKey(*Key) error { return errAlgUnknown }

func verifyEdDSA(crypto.PublicKey, []byte, []byte) error { return errAlgUnknown }
