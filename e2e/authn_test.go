package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// TestAuthentication runs every request-level case of the README's
// contract against one Envoy with the default rule.
func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) { authenticationCases(t, s.over(proto)) })
	}
}

// authenticationCases are TestAuthentication's cases, run over each
// downstream protocol.
func authenticationCases(t *testing.T, s *stack) {
	t.Run("valid token", func(t *testing.T) { checkValidToken(t, s) })

	t.Run("accepted", func(t *testing.T) {
		claims := s.validClaims()
		tok := s.issuer.MustMint(claims)
		arrayAud := s.validClaims()
		arrayAud["aud"] = []string{"someone-else", audience}
		for _, tc := range []struct {
			name   string
			header http.Header
			claims devservers.Claims
		}{
			{"scheme lower case", http.Header{"Authorization": {"bearer " + tok}}, claims},
			{"scheme upper case two spaces", http.Header{"Authorization": {"BEARER  " + tok}}, claims},
			{"audience in an array", bearer(s.issuer.MustMint(arrayAud)), arrayAud},
		} {
			t.Run(tc.name, func(t *testing.T) {
				up := s.expectAllowed(t, s.send(t, tc.header))
				expectVerifiedHeaders(t, up, tc.claims)
				if v := up.Header.Values("Authorization"); len(v) != 0 {
					t.Errorf("upstream got Authorization %q, want it removed", v)
				}
			})
		}
	})

	t.Run("no token", func(t *testing.T) {
		tok := s.validToken(t)
		for _, tc := range []struct {
			name   string
			header http.Header
		}{
			{"no header", nil},
			{"Basic scheme", http.Header{"Authorization": {"Basic eHl6OnBhc3N3b3Jk"}}},
			{"Basic xyz", http.Header{"Authorization": {"Basic xyz"}}},
			{"Token scheme", http.Header{"Authorization": {"Token " + tok}}},
			{"token in another header", http.Header{"X-Token": {"Bearer " + tok}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s.expectNoToken(t, s.send(t, tc.header))
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tc := range refusedCases(t, s) {
			t.Run(tc.name, func(t *testing.T) {
				s.expectInvalid(t, s.send(t, tc.header), tc.reasons...)
			})
		}
	})

	t.Run("forged claim headers", func(t *testing.T) {
		forged := http.Header{
			subHeader:     {"admin"},
			payloadHeader: {"forged"},
			rolesHeader:   {"superuser"},
		}
		with := func(h http.Header) http.Header {
			out := forged.Clone()
			for k, v := range h {
				out[k] = v
			}
			return out
		}
		t.Run("valid token", func(t *testing.T) {
			claims := s.validClaims()
			up := s.expectAllowed(t, s.send(t, with(bearer(s.issuer.MustMint(claims)))))
			expectVerifiedHeaders(t, up, claims)
		})
		t.Run("token without the claims", func(t *testing.T) {
			// No sub, no roles: the forged values must be gone, not kept.
			claims := s.validClaims()
			delete(claims, "sub")
			delete(claims, "roles")
			up := s.expectAllowed(t, s.send(t, with(bearer(s.issuer.MustMint(claims)))))
			for _, h := range []string{subHeader, rolesHeader} {
				if v := up.Header.Values(h); len(v) != 0 {
					t.Errorf("upstream got %s %q for a token without that claim", h, v)
				}
			}
			if v := up.Header.Values(payloadHeader); len(v) != 1 || v[0] == "forged" {
				t.Errorf("upstream got %s %q, want the verified payload only", payloadHeader, v)
			}
		})
		t.Run("no token", func(t *testing.T) {
			s.expectNoToken(t, s.send(t, forged))
		})
		t.Run("invalid token", func(t *testing.T) {
			s.expectInvalid(t, s.send(t, with(bearer("not-a-jwt"))), "malformed token")
		})
	})
}

// checkValidToken sends one valid token and checks what the upstream got.
func checkValidToken(t *testing.T, s *stack) {
	t.Helper()
	claims := s.validClaims()
	tok := s.issuer.MustMint(claims)
	up := s.expectAllowed(t, s.send(t, bearer(tok)))
	expectVerifiedHeaders(t, up, claims)
	if got := up.Header.Values(rolesHeader); len(got) != 1 || got[0] != "admin,reader" {
		t.Errorf("upstream %s = %q, want [admin,reader]", rolesHeader, got)
	}
	if v := up.Header.Values("Authorization"); len(v) != 0 {
		t.Errorf("upstream got Authorization %q, want it removed", v)
	}
	if up.Method != http.MethodGet || up.Path != "/resource?q=1" {
		t.Errorf("upstream got %s %s, want GET /resource?q=1", up.Method, up.Path)
	}
}

type refusedCase struct {
	name    string
	header  http.Header
	reasons []string // the expected details; more than one where the README leaves the choice open
}

// refusedCases are the tokens the filter must answer with 401 Invalid token.
func refusedCases(t *testing.T, s *stack) []refusedCase {
	t.Helper()
	iss := s.issuer
	now := time.Now()
	good := s.validToken(t)

	claims := func(change func(devservers.Claims)) devservers.Claims {
		c := s.validClaims()
		change(c)
		return c
	}
	mint := func(c devservers.Claims, opts ...devservers.TokenOption) string {
		tok, err := iss.Mint(c, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	// The signature of a valid token with one bit flipped.
	parts := strings.Split(good, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	flipped := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	// alg "none": an unsecured JWT (RFC 7519 section 6), with the empty
	// signature it should have and with junk in its place.
	noneInput, err := devservers.SigningInput(map[string]any{"alg": "none", "typ": "JWT"}, s.validClaims())
	if err != nil {
		t.Fatal(err)
	}

	// HS256 keyed with public material of the signing key: the classic
	// algorithm-confusion forgery.
	der, err := x509.MarshalPKIXPublicKey(iss.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	nBytes := iss.PublicKey().N.Bytes()
	hs256 := func(secret []byte) string {
		input, err := devservers.SigningInput(map[string]any{"alg": "HS256", "typ": "JWT", "kid": iss.KID()}, s.validClaims())
		if err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}

	return []refusedCase{
		{"garbage", bearer("not-a-jwt"), []string{"malformed token"}},
		{"three garbage segments", bearer("abc.def.ghi"), []string{"malformed token"}},
		{"four segments", bearer(good + ".e30"), []string{"malformed token"}},
		{"signature bit flipped", bearer(flipped), []string{"invalid signature"}},
		{"signed by an outsider key with the JWKS kid", bearer(mint(s.validClaims(), devservers.WithOutsiderKey())), []string{"invalid signature"}},
		{"expired", bearer(mint(claims(func(c devservers.Claims) {
			c["iat"] = now.Add(-time.Hour).Unix()
			c["nbf"] = now.Add(-time.Hour).Unix()
			c["exp"] = now.Add(-10 * time.Minute).Unix()
		}))), []string{"token expired"}},
		{"not yet valid", bearer(mint(claims(func(c devservers.Claims) {
			c["nbf"] = now.Add(10 * time.Minute).Unix()
		}))), []string{"token not yet valid"}},
		{"wrong issuer", bearer(mint(claims(func(c devservers.Claims) {
			c["iss"] = "https://evil.example"
		}))), []string{"issuer not accepted"}},
		{"wrong audience", bearer(mint(claims(func(c devservers.Claims) {
			c["aud"] = "other-api"
		}))), []string{"audience not accepted"}},
		{"wrong audiences in an array", bearer(mint(claims(func(c devservers.Claims) {
			c["aud"] = []string{"other-api", "third-api"}
		}))), []string{"audience not accepted"}},
		{"unknown kid", bearer(mint(s.validClaims(), devservers.WithKID("no-such-key"))), []string{"no matching signing key"}},
		// The README does not say whether the empty signature or the alg is
		// refused first; either reason is a correct refusal.
		{"alg none, empty signature", bearer(noneInput + "."), []string{"unsupported algorithm", "malformed token"}},
		{"alg none, junk signature", bearer(noneInput + ".c2lnbmF0dXJl"), []string{"unsupported algorithm"}},
		{"RS256 header alg lowered", bearer(mint(s.validClaims(), devservers.WithAlg("rs256"))), []string{"unsupported algorithm"}},
		{"HS256 keyed with the public key PEM", bearer(hs256(pemBytes)), []string{"unsupported algorithm"}},
		{"HS256 keyed with the public key DER", bearer(hs256(der)), []string{"unsupported algorithm"}},
		{"HS256 keyed with the JWK n bytes", bearer(hs256(nBytes)), []string{"unsupported algorithm"}},
		{"HS256 keyed with the JWK n text", bearer(hs256([]byte(base64.RawURLEncoding.EncodeToString(nBytes)))), []string{"unsupported algorithm"}},
		{"token too large", bearer(mint(claims(func(c devservers.Claims) {
			c["padding"] = strings.Repeat("x", 9000)
		}))), []string{"token too large"}},
		{"two Authorization headers", http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, []string{"multiple tokens"}},
		{"two tokens in one header", bearer(good + " " + good), []string{"multiple tokens"}},
		{"Bearer a b", bearer("a b"), []string{"multiple tokens"}},
	}
}

// TestForwardOriginalToken: with forwardOriginalToken the upstream gets the
// Authorization header as the client sent it, next to the claim headers.
func TestForwardOriginalToken(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{rule: map[string]any{"forwardOriginalToken": true}})
	claims := s.validClaims()
	tok := s.issuer.MustMint(claims)
	up := s.expectAllowed(t, s.send(t, bearer(tok)))
	expectVerifiedHeaders(t, up, claims)
	if got := up.Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer "+tok {
		t.Errorf("upstream Authorization %q, want [%q]", got, "Bearer "+tok)
	}
	t.Run("no token", func(t *testing.T) { s.expectNoToken(t, s.send(t, nil)) })
}

// TestTwoWorkers runs the valid-token case on an Envoy with two worker
// threads (two Wasm VMs sharing one vm_id), over fresh connections so that
// both workers take requests, some of them at once.
func TestTwoWorkers(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{concurrency: 2})
	t.Run("valid token", func(t *testing.T) { checkValidToken(t, s) })
	t.Run("concurrent", func(t *testing.T) {
		const n = 16
		claims := s.validClaims()
		tok := s.issuer.MustMint(claims)
		answers := make([]answer, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				h := bearer(tok)
				if i%2 == 1 {
					h = nil
				}
				answers[i], errs[i] = s.trySend(t.Name(), h)
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if i%2 == 1 {
				s.expectNoToken(t, answers[i])
				continue
			}
			expectVerifiedHeaders(t, s.expectAllowed(t, answers[i]), claims)
		}
	})
}
