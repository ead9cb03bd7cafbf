package e2e

import (
	"net/http"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// TestRequiredAll: a required_all rule needs a valid token of each listed
// issuer, each in that issuer's own header; both issuers' claims reach the
// upstream and both tokens are removed.
func TestRequiredAll(t *testing.T) {
	t.Parallel()
	k := testkeys.Get()
	issA := startKeyIssuer(t, testkeys.JWKS(testkeys.JWK("a", k.Public("RS256"), "")))
	issB := startKeyIssuer(t, testkeys.JWKS(testkeys.JWK("b", k.Public("ES256"), "")))
	cfg := map[string]any{
		"jwtRules": []any{
			map[string]any{"issuer": issA.name, "jwksUri": issA.jwksURI(), "jwksCluster": "jwks_0",
				"fromHeaders":          []map[string]string{{"name": "Authorization", "prefix": "Bearer "}},
				"outputClaimToHeaders": []map[string]string{{"header": subHeader, "claim": "sub"}}},
			map[string]any{"issuer": issB.name, "jwksUri": issB.jwksURI(), "jwksCluster": "jwks_1", "algorithms": []string{"ES256"},
				"fromHeaders":          []map[string]string{{"name": "x-b-token"}},
				"outputClaimToHeaders": []map[string]string{{"header": "x-b-sub", "claim": "sub"}}},
		},
		"rules": []any{
			map[string]any{"match": map[string]any{"prefix": "/"}, "requirement": "required_all", "issuers": []string{issA.name, issB.name}},
		},
	}
	s := featureStack(t, cfg, []*keyIssuer{issA, issB}, nil)
	tokA := sign(t, k.RSA, "RS256", "a", issA.claims("alice"))
	tokB := sign(t, k.P256, "ES256", "b", issB.claims("bob"))
	expB := sign(t, k.P256, "ES256", "b", expiredClaims(issB))

	t.Run("both", func(t *testing.T) {
		up := s.expectAllowed(t, s.send(t, http.Header{"Authorization": {"Bearer " + tokA}, "X-B-Token": {tokB}}))
		expectHeader(t, up, subHeader, "alice")
		expectHeader(t, up, "x-b-sub", "bob")
		if up.Header.Get("X-B-Token") != "" {
			t.Error("B's token was forwarded")
		}
	})
	t.Run("only A", func(t *testing.T) { s.expectNoToken(t, s.send(t, bearer(tokA))) })
	t.Run("B expired", func(t *testing.T) {
		s.expectInvalid(t, s.send(t, http.Header{"Authorization": {"Bearer " + tokA}, "X-B-Token": {expB}}), "token expired")
	})
}
