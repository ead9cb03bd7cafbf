package e2e

import (
	"testing"
)

// rsaBuild is the RSA-only build (make build: build/edgejwt-rsa.wasm):
// RS256/384/512 and PS256/384/512, no regular expressions.
var rsaBuild = &variantBuild{env: "EDGEJWT_RSA_WASM", name: "edgejwt-rsa.wasm", flags: []string{"-algorithms", "rsa", "-regexp=false"}}

// TestRSAOnlyBuild: the RSA-only module authenticates as the default one
// does, and refuses at start a configuration that needs what it left out,
// naming the field.
func TestRSAOnlyBuild(t *testing.T) {
	t.Parallel()
	wasm := rsaBuild.path(t)
	t.Run("serves", func(t *testing.T) {
		s := newStackWith(t, stackOptions{rule: map[string]any{"algorithms": []string{"RS256", "PS256"}}},
			func(c *envoyConfig) { c.Wasm = wasm })
		c := s.validClaims()
		up := s.expectAllowed(t, s.send(t, bearer(s.issuer.MustMint(c))))
		expectVerifiedHeaders(t, up, c)
		s.expectNoToken(t, s.send(t, nil))
		tok := s.validToken(t)
		s.expectInvalid(t, s.send(t, bearer(tok[:len(tok)-4]+"AAAA")), "invalid signature")
	})
	t.Run("refuses ES256", func(t *testing.T) {
		expectRefusedAtStart(t, wasm, func(r map[string]any) { r["algorithms"] = []string{"RS256", "ES256"} }, nil, "jwtRules[0].algorithms[1]")
	})
	t.Run("refuses regex rules", func(t *testing.T) {
		expectRefusedAtStart(t, wasm, nil, map[string]any{
			"rules": []any{map[string]any{"match": map[string]any{"regex": "/api/.*"}, "requirement": "bypass"}},
		}, "rules[0].match.regex")
	})
}
