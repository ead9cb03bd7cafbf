package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/dpopclient"
)

// do sends method url through s's client (or hc) with header and body and a
// fresh x-test-id.
func (s *stack) do(t *testing.T, hc *http.Client, method, url string, header http.Header, body string) answer {
	t.Helper()
	id := fmt.Sprintf("%s#%d", t.Name(), requestIDs.Add(1))
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	req.Header.Set(devservers.TestIDHeader, id)
	if hc == nil {
		hc = s.client
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("request %s: %v", id, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{id: id, status: resp.StatusCode, header: resp.Header, body: b}
}

// expectRefused checks a 401 that never reached the upstream, with the
// reason in the body and exactly the challenge given.
func (s *stack) expectRefused(t *testing.T, a answer, reason, challenge string) {
	t.Helper()
	s.expectNotForwarded(t, a)
	expectStatusBody(t, a, http.StatusUnauthorized, map[string]string{"error": "Invalid token", "details": reason})
	expectChallenge(t, a, challenge)
}

// TestDPoP: a Go DPoP client (its own key and proofs) through Envoy with
// two workers, so that requests land on either VM: the nonce dance, GET and
// POST over HTTP/1.1 and HTTP/2; a stolen token as a bearer token or with
// another key's proof, a replayed proof, proofs for another method or URL,
// all refused and never forwarded.
func TestDPoP(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{concurrency: 2, rule: map[string]any{
		"dpop": map[string]any{"mode": "allowed", "algorithms": []string{"ES256", "EdDSA"}, "requireNonce": true},
	}})
	c, err := dpopclient.New()
	if err != nil {
		t.Fatal(err)
	}
	claims := s.validClaims()
	claims["cnf"] = map[string]string{"jkt": c.JKT}
	tok := s.issuer.MustMint(claims)
	base := s.envoy.listener
	withProof := func(t *testing.T, cl *dpopclient.Client, method, htu string, extra dpopclient.Claims) http.Header {
		t.Helper()
		p, err := cl.Proof(method, htu, tok, cl.Nonce(), extra)
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {p}}
	}
	const challenge = `DPoP realm="` + realm + `", error="%s", error_description="%s", algs="ES256 EdDSA"`
	expectAllowedDPoP := func(t *testing.T, s *stack, a answer, method string) {
		t.Helper()
		up := s.expectAllowed(t, a)
		expectVerifiedHeaders(t, up, claims)
		if up.Method != method {
			t.Errorf("upstream got %s, want %s", up.Method, method)
		}
		for _, h := range []string{"Authorization", "Dpop"} {
			if v := up.Header.Values(h); len(v) != 0 {
				t.Errorf("upstream got %s %q", h, v)
			}
		}
	}

	t.Run("first request gets a nonce", func(t *testing.T) {
		a := s.do(t, nil, "GET", base+"/resource?q=1", withProof(t, c, "GET", base+"/resource", nil), "")
		s.expectRefused(t, a, "DPoP nonce required", fmt.Sprintf(`DPoP realm="%s", error="use_dpop_nonce", error_description="DPoP nonce required", algs="ES256 EdDSA"`, realm))
		n := a.header.Get("Dpop-Nonce")
		if n == "" {
			t.Fatal("no DPoP-Nonce header")
		}
		c.SetNonce(n)
	})
	if c.Nonce() == "" {
		t.FailNow()
	}
	t.Run("GET", func(t *testing.T) {
		a := s.do(t, nil, "GET", base+"/resource?q=1", withProof(t, c, "GET", base+"/resource", nil), "")
		expectAllowedDPoP(t, s, a, "GET")
	})
	t.Run("POST", func(t *testing.T) {
		a := s.do(t, nil, "POST", base+"/orders", withProof(t, c, "POST", base+"/orders", nil), `{"item":1}`)
		expectAllowedDPoP(t, s, a, "POST")
	})
	t.Run("GET over HTTP/2", func(t *testing.T) {
		h2 := s.over(h2c)
		a := h2.do(t, nil, "GET", base+"/resource", withProof(t, c, "GET", base+"/resource", nil), "")
		expectAllowedDPoP(t, h2, a, "GET")
	})
	t.Run("the Go client answers the nonce challenge itself", func(t *testing.T) {
		fresh, err := dpopclient.New()
		if err != nil {
			t.Fatal(err)
		}
		cl := s.validClaims()
		cl["cnf"] = map[string]string{"jkt": fresh.JKT}
		ftok := s.issuer.MustMint(cl)
		req, err := http.NewRequest("POST", base+"/orders", strings.NewReader("x=1"))
		if err != nil {
			t.Fatal(err)
		}
		resp, first, err := fresh.Do(s.client, req, ftok)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if first == nil || first.StatusCode != 401 || resp.StatusCode != 200 {
			t.Fatalf("first %v, then %d; want 401 use_dpop_nonce then 200", first, resp.StatusCode)
		}
	})
	t.Run("replayed proof", func(t *testing.T) {
		h := withProof(t, c, "GET", base+"/resource", nil)
		expectAllowedDPoP(t, s, s.do(t, nil, "GET", base+"/resource", h, ""), "GET")
		// Each replay on a new connection: with two workers, some land on
		// the VM that did not see the proof; the replay cache is shared.
		for range 6 {
			s.expectRefused(t, s.do(t, nil, "GET", base+"/resource", h, ""), "DPoP proof replayed",
				fmt.Sprintf(challenge, "invalid_dpop_proof", "DPoP proof replayed"))
		}
	})
	t.Run("stolen token as a bearer token", func(t *testing.T) {
		s.expectRefused(t, s.do(t, nil, "GET", base+"/resource", bearer(tok), ""), "DPoP-bound token used as a bearer token",
			`Bearer realm="`+realm+`", error="invalid_token", error_description="DPoP-bound token used as a bearer token"`)
	})
	t.Run("stolen token with another key's proof", func(t *testing.T) {
		thief, err := dpopclient.New()
		if err != nil {
			t.Fatal(err)
		}
		thief.SetNonce(c.Nonce()) // nonces are for anyone who asks
		s.expectRefused(t, s.do(t, nil, "GET", base+"/resource", withProof(t, thief, "GET", base+"/resource", nil), ""),
			"DPoP key binding mismatch", fmt.Sprintf(challenge, "invalid_token", "DPoP key binding mismatch"))
	})
	t.Run("proof for another method", func(t *testing.T) {
		s.expectRefused(t, s.do(t, nil, "GET", base+"/resource", withProof(t, c, "POST", base+"/resource", nil), ""),
			"DPoP proof for another method", fmt.Sprintf(challenge, "invalid_dpop_proof", "DPoP proof for another method"))
	})
	t.Run("proof for another URL", func(t *testing.T) {
		s.expectRefused(t, s.do(t, nil, "GET", base+"/resource", withProof(t, c, "GET", base+"/admin", nil), ""),
			"DPoP proof for another URI", fmt.Sprintf(challenge, "invalid_dpop_proof", "DPoP proof for another URI"))
	})
	t.Run("no token", func(t *testing.T) {
		a := s.do(t, nil, "GET", base+"/resource", nil, "")
		s.expectNotForwarded(t, a)
		want := []string{`Bearer realm="` + realm + `"`, `DPoP realm="` + realm + `", algs="ES256 EdDSA"`}
		if got := a.header.Values("Www-Authenticate"); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("WWW-Authenticate %q, want %q", got, want)
		}
	})
}

// TestCertificateBound: a token bound to alice's client certificate
// (cnf["x5t#S256"]) passes on Envoy's TLS listener that requires client
// certificates when alice presents hers, and is refused with mallory's
// (another certificate the CA signed) and on the plain listener. This is
// also the test of the property the filter reads
// (connection.sha256_peer_certificate_digest, hex).
func TestCertificateBound(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t, t.TempDir())
	s := newStackWith(t, stackOptions{rule: map[string]any{"dpop": map[string]any{"mode": "allowed"}}},
		func(c *envoyConfig) { c.MTLS = pki.listener })
	claims := s.validClaims()
	claims["cnf"] = map[string]string{"x5t#S256": pki.aliceThumbprint}
	tok := s.issuer.MustMint(claims)
	tlsURL := fmt.Sprintf("https://127.0.0.1:%d/resource", pki.listener.Port)
	alice, mallory := pki.client(&pki.alice), pki.client(&pki.mallory)

	for round := range 2 { // the second round from the token cache
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			t.Run("alice's certificate", func(t *testing.T) {
				up := s.expectAllowed(t, s.do(t, alice, "GET", tlsURL, bearer(tok), ""))
				expectVerifiedHeaders(t, up, claims)
			})
			t.Run("mallory's certificate", func(t *testing.T) {
				s.expectRefused(t, s.do(t, mallory, "GET", tlsURL, bearer(tok), ""), "certificate binding mismatch",
					`Bearer realm="`+realm+`", error="invalid_token", error_description="certificate binding mismatch"`)
			})
			t.Run("no client certificate (plain listener)", func(t *testing.T) {
				s.expectRefused(t, s.do(t, nil, "GET", s.envoy.listener+"/resource", bearer(tok), ""), "client certificate required",
					`Bearer realm="`+realm+`", error="invalid_token", error_description="client certificate required"`)
			})
			t.Run("an unbound token with a certificate", func(t *testing.T) {
				s.expectAllowed(t, s.do(t, mallory, "GET", tlsURL, bearer(s.validToken(t)), ""))
			})
		})
	}
	// A token bound to both a DPoP key and alice's certificate, over TLS:
	// Envoy's :scheme is https there (the proof's htu says https).
	t.Run("DPoP and certificate over TLS", func(t *testing.T) {
		c, err := dpopclient.New()
		if err != nil {
			t.Fatal(err)
		}
		both := s.validClaims()
		both["cnf"] = map[string]string{"x5t#S256": pki.aliceThumbprint, "jkt": c.JKT}
		btok := s.issuer.MustMint(both)
		send := func(hc *http.Client) answer {
			p, err := c.Proof("GET", tlsURL, btok, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			return s.do(t, hc, "GET", tlsURL, http.Header{"Authorization": {"DPoP " + btok}, "Dpop": {p}}, "")
		}
		expectVerifiedHeaders(t, s.expectAllowed(t, send(alice)), both)
		s.expectRefused(t, send(mallory), "certificate binding mismatch",
			`DPoP realm="`+realm+`", error="invalid_token", error_description="certificate binding mismatch", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 EdDSA"`)
	})
	// Without a client certificate the TLS listener refuses the handshake.
	if _, err := pki.client(nil).Get(tlsURL); err == nil {
		t.Error("the mTLS listener took a connection without a client certificate")
	}
}
