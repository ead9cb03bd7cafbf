package testkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"math/big"
	"strings"
)

// JWK encodes a public key as a JWK object with the given kid (omitted when
// empty). extra is spliced in verbatim before the closing brace, e.g.
// `,"alg":"RS256","use":"sig"`.
func JWK(kid string, pub crypto.PublicKey, extra string) string {
	var members string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		members = fmt.Sprintf(`"kty":"RSA","n":%q,"e":%q`, Encode(k.N.Bytes()), Encode(big.NewInt(int64(k.E)).Bytes()))
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		members = fmt.Sprintf(`"kty":"EC","crv":%q,"x":%q,"y":%q`, k.Curve.Params().Name,
			Encode(k.X.FillBytes(make([]byte, size))), Encode(k.Y.FillBytes(make([]byte, size))))
	case ed25519.PublicKey:
		members = fmt.Sprintf(`"kty":"OKP","crv":"Ed25519","x":%q`, Encode(k))
	default:
		panic(fmt.Sprintf("testkeys: no JWK for %T", pub))
	}
	if kid != "" {
		members = fmt.Sprintf(`"kid":%q,`, kid) + members
	}
	return "{" + members + extra + "}"
}

// JWKS wraps JWK objects into a JWKS document.
func JWKS(jwks ...string) string {
	return `{"keys":[` + strings.Join(jwks, ",") + `]}`
}
