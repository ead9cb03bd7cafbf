package wasmtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/internal/wasmhost"
)

// TestRSAKeyPrecomputation: the module's crypto/rsa keeps each public key's
// precomputation after its first use (cmd/wasmbuild's patch). With the
// token cache off, so that every request is a verification, tokens signed
// by two keys of one key set, with RS256 and PS256, in turns: each is
// accepted with its own kid and refused under the other's, and a token
// whose signature has a flipped bit is refused, however often each key has
// been used before.
func TestRSAKeyPrecomputation(t *testing.T) {
	privs := map[string]*rsa.PrivateKey{"k-a": testkeys.Get().Private("RS256").(*rsa.PrivateKey)}
	b, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	privs["k-b"] = b
	doc, _ := json.Marshal(testkeys.JWKS(
		testkeys.JWK("k-a", &privs["k-a"].PublicKey, `,"use":"sig"`),
		testkeys.JWK("k-b", &privs["k-b"].PublicKey, `,"use":"sig"`)))
	cfg := `{"tokenCacheSize":0,"jwtRules":[{"issuer":"` + issuer + `","algorithms":["RS256","PS256"],"jwks":` + string(doc) +
		`,"outputClaimToHeaders":[{"header":"x-jwt-sub","claim":"sub"}]}]}`
	h := newHost(t, patchedModule(t), wasmhost.Options{Config: []byte(cfg)})

	exp := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	base := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "api.example"}, {":path", "/"}}
	var reqs []request
	for _, alg := range []string{"RS256", "PS256"} {
		for signer, priv := range privs {
			sub := signer + "-" + alg
			payload := `{"iss":"` + issuer + `","sub":"` + sub + `","exp":` + exp + `}`
			for _, kid := range []string{"k-a", "k-b"} {
				tok := testkeys.SignToken(priv, alg, `{"alg":"`+alg+`","kid":"`+kid+`"}`, payload)
				with := func(tok string) [][2]string {
					return append(slices.Clone(base), [2]string{"authorization", "Bearer " + tok})
				}
				if kid == signer {
					reqs = append(reqs,
						request{kind: sub + " under its own kid", headers: with(tok), sub: sub},
						request{kind: sub + " with a flipped bit", headers: with(flipSignatureBit(tok, 5)), reason: "invalid signature"})
				} else {
					reqs = append(reqs, request{kind: sub + " under " + kid, headers: with(tok), reason: "invalid signature"})
				}
			}
		}
	}
	for round := range 5 {
		for _, r := range reqs {
			res, err := h.Request(r.headers)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.check(res); err != nil {
				t.Errorf("round %d: %v", round, err)
			}
			if err := h.FinishRequest(res.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}
