package e2e

import (
	"net/http"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// TestAuthorization: claim conditions on request rules in real Envoy, as
// docs/authorization.md describes them: scopes by method, a role in an
// array claim, a tenant header bound to a claim, conditions under
// allow_missing (a token is required) and allow_missing_or_failed
// (report-only), and the 403 with its challenge and counters.
func TestAuthorization(t *testing.T) {
	t.Parallel()
	k := testkeys.Get()
	iss := startKeyIssuer(t, testkeys.JWKS(testkeys.JWK("a", k.Public("RS256"), "")))
	rule := func(match map[string]any, requirement string, conds map[string]any) map[string]any {
		r := map[string]any{"match": match, "requirement": requirement}
		for key, v := range conds {
			r[key] = v
		}
		return r
	}
	cfg := map[string]any{
		"jwtRules": []any{map[string]any{"issuer": iss.name, "jwksUri": iss.jwksURI(), "jwksCluster": "jwks_0",
			"outputClaimToHeaders": []map[string]string{{"header": subHeader, "claim": "sub"}}}},
		"rules": []any{
			rule(map[string]any{"prefix": "/orders", "methods": []string{"GET", "HEAD"}}, "required", map[string]any{"scopes": []string{"orders:read"}}),
			rule(map[string]any{"prefix": "/orders", "methods": []string{"POST"}}, "required", map[string]any{"scopes": []string{"orders:write"}}),
			rule(map[string]any{"prefix": "/admin/"}, "required", map[string]any{"claims": []any{map[string]any{"claim": "roles", "anyOf": []string{"admin"}}}}),
			rule(map[string]any{"prefix": "/tenants/"}, "required", map[string]any{"claims": []any{map[string]any{"claim": "tenant", "equalsHeader": "x-tenant-id"}}}),
			rule(map[string]any{"prefix": "/catalog/"}, "allow_missing", map[string]any{"scopes": []string{"catalog:read"}}),
			rule(map[string]any{"prefix": "/public/"}, "allow_missing", nil),
			rule(map[string]any{"prefix": "/report/"}, "allow_missing_or_failed", map[string]any{"scopes": []string{"orders:read"}}),
		},
	}
	s := featureStack(t, cfg, []*keyIssuer{iss}, nil)
	token := func(extra map[string]any) string {
		c := iss.claims("alice")
		for key, v := range extra {
			c[key] = v
		}
		return sign(t, k.RSA, "RS256", "a", c)
	}
	reader := token(map[string]any{"scope": "profile orders:read", "roles": []string{"user", "admin"}, "tenant": "acme"})
	writer := token(map[string]any{"scp": []string{"orders:write"}, "roles": []string{"user"}})

	// forbidden checks a 403 that never reached the upstream.
	forbidden := func(t *testing.T, a answer, challenge, details string) {
		t.Helper()
		s.expectNotForwarded(t, a)
		expectStatusBody(t, a, http.StatusForbidden, map[string]string{"error": "Forbidden", "details": details})
		expectChallenge(t, a, challenge)
	}
	const noScope = `Bearer realm="` + realm + `", error="insufficient_scope"`
	allowed := func(t *testing.T, a answer) {
		t.Helper()
		up := s.expectAllowed(t, a)
		expectHeader(t, up, subHeader, "alice")
		expectHeader(t, up, "Authorization", "")
	}

	t.Run("scopes by method", func(t *testing.T) {
		allowed(t, s.request(t, "GET", "/orders/17", bearer(reader)))
		allowed(t, s.request(t, "HEAD", "/orders/17", bearer(reader)))
		forbidden(t, s.request(t, "POST", "/orders", bearer(reader)), noScope+`, scope="orders:write"`, "insufficient scope")
		// scp, an array, when the token has no scope.
		allowed(t, s.request(t, "POST", "/orders", bearer(writer)))
		forbidden(t, s.request(t, "GET", "/orders/17", bearer(writer)), noScope+`, scope="orders:read"`, "insufficient scope")
		// No token, or a bad one, is still a 401.
		s.expectNoToken(t, s.request(t, "POST", "/orders", nil))
		s.expectInvalid(t, s.request(t, "POST", "/orders", bearer(flipLast(writer))), "invalid signature")
	})
	t.Run("role in an array claim", func(t *testing.T) {
		allowed(t, s.request(t, "GET", "/admin/users", bearer(reader)))
		forbidden(t, s.request(t, "GET", "/admin/users", bearer(writer)), noScope, "claim roles not accepted")
	})
	t.Run("tenant header bound to a claim", func(t *testing.T) {
		up := s.expectAllowed(t, s.request(t, "GET", "/tenants/acme/invoices", hdr("Authorization", "Bearer "+reader, "X-Tenant-Id", "acme")))
		expectHeader(t, up, "X-Tenant-Id", "acme")
		forbidden(t, s.request(t, "GET", "/tenants/evil/invoices", hdr("Authorization", "Bearer "+reader, "X-Tenant-Id", "evil")), noScope, "claim tenant not accepted")
		forbidden(t, s.request(t, "GET", "/tenants/acme/invoices", bearer(reader)), noScope, "claim tenant not accepted")
		// The writer's token has no tenant at all.
		forbidden(t, s.request(t, "GET", "/tenants/acme/invoices", hdr("Authorization", "Bearer "+writer, "X-Tenant-Id", "acme")), noScope, "claim tenant not accepted")
	})
	t.Run("allow_missing with conditions needs a token", func(t *testing.T) {
		s.expectNoToken(t, s.request(t, "GET", "/catalog/items", nil))
		forbidden(t, s.request(t, "GET", "/catalog/items", bearer(reader)), noScope+`, scope="catalog:read"`, "insufficient scope")
		allowed(t, s.request(t, "GET", "/catalog/items", bearer(token(map[string]any{"scope": "catalog:read"}))))
		// Without conditions, allow_missing lets a request without a token through.
		up := s.expectAllowed(t, s.request(t, "GET", "/public/items", nil))
		expectHeader(t, up, subHeader, "")
	})
	t.Run("allow_missing_or_failed reports", func(t *testing.T) {
		up := s.expectAllowed(t, s.request(t, "GET", "/report/x", nil))
		expectHeader(t, up, subHeader, "")
		allowed(t, s.request(t, "GET", "/report/x", bearer(reader)))
		// A valid token that fails the scope passes without claims and without the token.
		up = s.expectAllowed(t, s.request(t, "GET", "/report/x", bearer(writer)))
		expectHeader(t, up, subHeader, "")
		expectHeader(t, up, "Authorization", "")
	})
	t.Run("counters", func(t *testing.T) {
		stats := statsOf(t, s)
		for name, want := range map[string]int64{
			"wasmcustom.edgejwt.denied.insufficient_scope":            3,
			"wasmcustom.edgejwt.denied.claim_mismatch":                4,
			"wasmcustom.edgejwt.passed_unverified.insufficient_scope": 1,
		} {
			if stats[name] != want {
				t.Errorf("%s = %d, want %d", name, stats[name], want)
			}
		}
	})
}
