package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// Fixed time of the tests, and the request every proof is made for.
var (
	testNow   = time.Unix(1_800_000_000, 0)
	testToken = "an.access.token"
)

func testRequest() *Request {
	return &Request{
		Method: "GET", Scheme: "https", Authority: "api.example", Path: "/resource?q=1",
		Proofs: 1, AccessToken: testToken,
	}
}

// proofFor builds and signs a proof: header is the JSON header, claims the
// payload JSON; signer signs as alg.
func proofFor(signer crypto.Signer, alg, header, claims string) string {
	return testkeys.SignToken(signer, alg, header, claims)
}

// header is a proof header for alg with the public key of signer as jwk.
func header(alg string, signer crypto.Signer) string {
	return `{"typ":"dpop+jwt","alg":"` + alg + `","jwk":` + testkeys.JWK("", signer.Public(), "") + `}`
}

// claims is the payload of a valid proof for testRequest, with extra
// members spliced in (a later member of the same name makes a duplicate).
func claims(extra string) string {
	return `{"htm":"GET","htu":"https://api.example/resource","iat":` + strconv.FormatInt(testNow.Unix(), 10) +
		`,"jti":"jti-1","ath":"` + AccessTokenHash(testToken) + `"` + extra + `}`
}

// claimsWithout is claims with the member name removed.
func claimsWithout(name string) string {
	c := claims("")
	i := strings.Index(c, `"`+name+`":`)
	j := i + strings.IndexAny(c[i:], ",}")
	if c[j] == ',' {
		return c[:i] + c[j+1:]
	}
	return strings.TrimSuffix(c[:i], ",") + c[j:]
}

// thumbprintOf is the RFC 7638 thumbprint of signer's public key.
func thumbprintOf(t testing.TB, signer crypto.Signer) string {
	t.Helper()
	p, err := Parse(proofFor(signer, algFor(signer), header(algFor(signer), signer), claims("")))
	if err != nil {
		t.Fatal(err)
	}
	return p.Thumbprint()
}

func algFor(signer crypto.Signer) string {
	switch k := signer.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P384() {
			return "ES384"
		}
		return "ES256"
	case ed25519.PrivateKey:
		return "EdDSA"
	}
	return "RS256"
}

func newTestChecker(t testing.TB, o Options) *Checker {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return testNow }
	}
	c, err := NewChecker(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
