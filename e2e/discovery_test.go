package e2e

import (
	"testing"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// TestOIDCDiscovery: with oidcDiscovery and no jwksUri, the filter reads
// jwks_uri from <issuer>/.well-known/openid-configuration (through
// jwksCluster), then fetches the keys it names and verifies with them.
func TestOIDCDiscovery(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{rule: map[string]any{"jwksUri": nil, "oidcDiscovery": true}})
	claims := s.validClaims()
	up := s.expectAllowed(t, s.send(t, bearer(s.issuer.MustMint(claims))))
	expectVerifiedHeaders(t, up, claims)
	if s.issuer.Discoveries() == 0 || s.issuer.Fetches() == 0 {
		t.Errorf("discovery documents served: %d, JWKS fetches: %d", s.issuer.Discoveries(), s.issuer.Fetches())
	}
	s.expectInvalid(t, s.send(t, bearer(s.issuer.MustMint(claims, devservers.WithOutsiderKey()))), "invalid signature")
}
