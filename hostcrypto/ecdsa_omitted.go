//go:build edgejwt_no_ecdsa

package hostcrypto

// This build has no ECDSA (build tag edgejwt_no_ecdsa): no EC key reaches
// the host.

func ecdsaPublicKeyDER(any) []byte { return nil }

func ecdsaSignature(any, []byte) ([]byte, bool) { return nil, false }
