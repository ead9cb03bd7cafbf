package dpop

import (
	"crypto"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// TestThumbprintVectors: RFC 7638 section 3.1 and the key of RFC 9449's
// examples (section 6.1 binds a token to it by this cnf.jkt).
func TestThumbprintVectors(t *testing.T) {
	for _, tt := range []struct{ name, jwk, want string }{
		{"RFC 7638 3.1", `{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`,
			"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"RFC 9449 examples", `{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}`,
			"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
		{"escaped member values", `{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P\u002d256","use":"sig"}`,
			"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := thumbprint(gjson.Parse(tt.jwk)); got != tt.want {
				t.Errorf("thumbprint = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestThumbprintMatchesGoJOSE compares the thumbprint of a proof's jwk with
// go-jose's for every key type.
func TestThumbprintMatchesGoJOSE(t *testing.T) {
	k := testkeys.Get()
	for _, signer := range []crypto.Signer{k.P256, k.P384, k.Ed25519, k.RSA} {
		want, err := (&jose.JSONWebKey{Key: signer.Public()}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := thumbprintOf(t, signer); got != testkeys.Encode(want) {
			t.Errorf("%s: thumbprint %s, go-jose %s", algFor(signer), got, testkeys.Encode(want))
		}
	}
}

// TestAccessTokenHash: the ath of RFC 9449 section 7.1's example.
func TestAccessTokenHash(t *testing.T) {
	const token, ath = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
	if got := AccessTokenHash(token); got != ath {
		t.Errorf("AccessTokenHash = %s, want %s", got, ath)
	}
	if !athMatches(ath, token) || athMatches(ath, token+"x") || athMatches(ath+"=", token) {
		t.Error("athMatches")
	}
}
