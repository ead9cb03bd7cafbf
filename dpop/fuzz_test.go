package dpop

import (
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// FuzzParse: Parse never panics, and what it accepts has a usable key and
// its thumbprint, and the claims' types it promises. Seeded with valid
// proofs of every key type and the shapes TestCheck refuses.
func FuzzParse(f *testing.F) {
	k := testkeys.Get()
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.e30", strings.Repeat("A", MaxSize+1)} {
		f.Add(s)
	}
	for _, alg := range testkeys.Algorithms {
		signer := k.Private(alg)
		f.Add(proofFor(signer, alg, header(alg, signer), claims("")))
		f.Add(proofFor(signer, alg, header(alg, signer), claims(`,"nonce":"n","iat":1e400`)))
		f.Add(proofFor(signer, alg, header(alg, signer), `{"htm":1,"htu":[],"iat":"0","jti":{},"ath":null}`))
		f.Add(proofFor(signer, alg, `{"typ":"dpop+jwt","alg":"`+alg+`","jwk":`+testkeys.JWK("", signer.Public(), `,"d":"AQAB"`)+`}`, claims("")))
	}
	f.Add(proofFor(k.P256, "ES256", `{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"\u0041","y":"","x":""}}`, claims("")))
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := Parse(raw)
		if err != nil {
			if Reason(err) == "" {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if p.key == nil || len(p.Thumbprint()) != 43 || p.HTM() == "" || p.HTU() == "" || p.JTI() == "" ||
			len(p.JTI()) > MaxJTI || p.ATH() == "" || !(p.IAT() >= 0) {
			t.Fatalf("Parse accepted %q as %+v", raw, p)
		}
	})
}
