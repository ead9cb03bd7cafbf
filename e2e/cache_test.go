package e2e

import "testing"

// TestTokenCache: a token seen again is served from the verified-token
// cache (counted in /stats), with the same claims at the upstream; a
// different token is verified, and a forged one is still refused.
func TestTokenCache(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	claims := s.validClaims()
	tok := s.issuer.MustMint(claims)
	for range 5 {
		up := s.expectAllowed(t, s.send(t, bearer(tok)))
		expectVerifiedHeaders(t, up, claims)
	}
	if hits := statsOf(t, s)["wasmcustom.edgejwt.token_cache_hit"]; hits != 4 {
		t.Errorf("token_cache_hit = %d after 5 requests with one token, want 4", hits)
	}
	s.expectInvalid(t, s.send(t, bearer(tok[:len(tok)-4]+"AAAA")), "invalid signature")
	if hits := statsOf(t, s)["wasmcustom.edgejwt.token_cache_hit"]; hits != 4 {
		t.Errorf("token_cache_hit = %d after a forged token, want 4", hits)
	}
}
