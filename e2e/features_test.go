package e2e

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyadmin"
	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// keyIssuer is an issuer whose tokens the tests sign themselves with the
// keys of internal/testkeys (RSA, P-256, P-384, Ed25519): it only serves a
// fixed JWKS document. The issuer identifier is its URL.
type keyIssuer struct {
	name string
	port int
	srv  *http.Server
}

func startKeyIssuer(t *testing.T, jwks string) *keyIssuer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &keyIssuer{port: ln.Addr().(*net.TCPAddr).Port}
	k.name = fmt.Sprintf("http://127.0.0.1:%d", k.port)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+devservers.JWKSPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, jwks)
	})
	k.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go k.srv.Serve(ln) //nolint:errcheck // ErrServerClosed on Close
	t.Cleanup(func() { _ = k.srv.Close() })
	return k
}

func (k *keyIssuer) jwksURI() string { return k.name + devservers.JWKSPath }

// claims are claims this issuer's rule accepts, for subject sub.
func (k *keyIssuer) claims(sub string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": k.name, "sub": sub, "aud": audience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// sign signs claims as alg with priv, naming kid.
func sign(t testing.TB, priv crypto.Signer, alg, kid string, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "kid": kid})
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return testkeys.SignToken(priv, alg, string(h), string(c))
}

// featureStack is one Envoy in front of an echo upstream, with any number
// of keyIssuers (cluster jwks_<i> for issuer i).
func featureStack(t *testing.T, cfg map[string]any, issuers []*keyIssuer, routeHeaders []routeHeader) *stack {
	t.Helper()
	return issuersStack(t, issuers, envoyConfig{PluginConfig: string(mustJSON(cfg)), RouteHeaders: routeHeaders})
}

// issuersStack starts an echo upstream and an Envoy with cfg in front of
// it, with cluster jwks_<i> for issuer i.
func issuersStack(t *testing.T, issuers []*keyIssuer, cfg envoyConfig) *stack {
	t.Helper()
	echo, err := devservers.StartEcho(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(echo.Close)
	cfg.UpstreamPort = echo.Port()
	for i, k := range issuers {
		cfg.JWKSClusters = append(cfg.JWKSClusters, cluster{Name: fmt.Sprintf("jwks_%d", i), Port: k.port})
	}
	return &stack{echo: echo, envoy: startEnvoy(t, cfg), client: newClient()}
}

// request sends method target (path and query, sent as is) with header
// through Envoy, plus a fresh x-test-id.
func (s *stack) request(t testing.TB, method, target string, header http.Header) answer {
	t.Helper()
	a, err := s.tryRequest(t.Name(), method, target, header)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryRequest is request returning the error; the answer holds the request's
// x-test-id even then.
func (s *stack) tryRequest(name, method, target string, header http.Header) (answer, error) {
	id := fmt.Sprintf("%s#%d", name, requestIDs.Add(1))
	req, err := http.NewRequest(method, s.envoy.listener+target, nil)
	if err != nil {
		return answer{id: id}, err
	}
	if got := req.URL.RequestURI(); got != target {
		return answer{id: id}, fmt.Errorf("the client would send %q, not %q", got, target)
	}
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	req.Header.Set(devservers.TestIDHeader, id)
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{id: id}, fmt.Errorf("request %s: %w", id, err)
	}
	defer resp.Body.Close()
	if err := s.checkProto(resp); err != nil {
		return answer{id: id}, err
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{id: id}, err
	}
	return answer{id: id, status: resp.StatusCode, header: resp.Header, body: body}, nil
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// expectHeader checks the one value the upstream got for name ("" for none).
func expectHeader(t testing.TB, up devservers.Request, name, want string) {
	t.Helper()
	got := up.Header.Values(name)
	if want == "" {
		if len(got) != 0 {
			t.Errorf("upstream %s = %q, want none", name, got)
		}
		return
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("upstream %s = %q, want [%q]", name, got, want)
	}
}

// TestTokenSourcesAndAlgorithms: one issuer with a key of every family,
// tokens read from two headers, two query parameters and a cookie, claims
// with dots and colons in their names, and the payload as filter state.
func TestTokenSourcesAndAlgorithms(t *testing.T) {
	t.Parallel()
	k := testkeys.Get()
	jwks := testkeys.JWKS(
		testkeys.JWK("rsa", k.Public("RS256"), `,"use":"sig"`), // no alg: RS* and PS*
		testkeys.JWK("p256", k.Public("ES256"), `,"alg":"ES256"`),
		testkeys.JWK("p384", k.Public("ES384"), `,"alg":"ES384"`),
		testkeys.JWK("ed", k.Public("EdDSA"), `,"alg":"EdDSA"`),
	)
	iss := startKeyIssuer(t, jwks)
	cfg := map[string]any{"jwtRules": []any{map[string]any{
		"issuer":      iss.name,
		"audiences":   []string{audience},
		"jwksUri":     iss.jwksURI(),
		"jwksCluster": "jwks_0",
		"algorithms":  testkeys.Algorithms,
		"fromHeaders": []map[string]string{{"name": "Authorization", "prefix": "Bearer "}, {"name": "x-jwt", "prefix": ""}},
		"fromParams":  []string{"access_token", "jwt"},
		"fromCookies": []string{"jwt_session"},
		"outputClaimToHeaders": []map[string]string{
			{"header": subHeader, "claim": "sub"},
			{"header": "x-jwt-ns", "claim": `kubernetes\.io.namespace`},
			{"header": "x-jwt-org-roles", "claim": "urn:zitadel:iam:org:project:roles"},
			{"header": "x-jwt-wild", "claim": "roles.#"},
		},
		"outputPayloadToFilterState": "edgejwt_payload",
	}}}
	base := featureStack(t, cfg, []*keyIssuer{iss},
		[]routeHeader{{"x-filter-state", "%FILTER_STATE(wasm.edgejwt_payload:PLAIN)%"}})
	for _, proto := range protocols {
		t.Run(proto, func(t *testing.T) { tokenSourceCases(t, base.over(proto), k, iss) })
	}
	t.Run("h2c fields", func(t *testing.T) { http2FieldCases(t, base, k, iss) })
}

// http2FieldCases send raw HTTP/2 requests: the cookie split across
// several cookie fields (RFC 9113 section 8.2.3 allows it), a forged
// second token in another field, the token in :path, upper-case names.
func http2FieldCases(t *testing.T, s *stack, k *testkeys.Keys, iss *keyIssuer) {
	tok := sign(t, k.RSA, "RS256", "rsa", iss.claims("alice"))
	forged := sign(t, mustEd25519(t), "EdDSA", "ed", iss.claims("mallory"))
	addr := strings.TrimPrefix(s.envoy.listener, "http://")
	send := func(t *testing.T, path string, fields ...[2]string) (rawAnswer, string) {
		t.Helper()
		id := fmt.Sprintf("%s#%d", t.Name(), requestIDs.Add(1))
		all := append([][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "e2e.example"}, {":path", path},
			{strings.ToLower(devservers.TestIDHeader), id}}, fields...)
		a, err := rawH2C(addr, all, "")
		if err != nil {
			t.Fatal(err)
		}
		return a, id
	}
	allowed := func(t *testing.T, a rawAnswer, id string) devservers.Request {
		t.Helper()
		seen := s.echo.ByTestID(id)
		if a.status != http.StatusOK || len(seen) != 1 {
			t.Fatalf("status %d %s, upstream saw it %d times; want 200, once", a.status, short(a.body), len(seen))
		}
		return seen[0]
	}
	refused := func(t *testing.T, a rawAnswer, id string, status int, reason string) {
		t.Helper()
		if n := len(s.echo.ByTestID(id)); n != 0 || a.status != status || (reason != "" && !strings.Contains(string(a.body), reason)) {
			t.Fatalf("status %d %s, upstream saw it %d times; want %d %q, never forwarded", a.status, short(a.body), n, status, reason)
		}
	}
	t.Run("token cookie in the second of three cookie fields", func(t *testing.T) {
		a, id := send(t, "/r", [2]string{"cookie", "theme=dark"}, [2]string{"cookie", "jwt_session=" + tok}, [2]string{"cookie", "lang=fr"})
		up := allowed(t, a, id)
		expectHeader(t, up, "Cookie", "theme=dark; lang=fr")
		expectHeader(t, up, subHeader, "alice")
	})
	t.Run("the token cookie alone in the last field", func(t *testing.T) {
		a, id := send(t, "/r", [2]string{"cookie", "a=1"}, [2]string{"cookie", "jwt_session=" + tok})
		up := allowed(t, a, id)
		expectHeader(t, up, "Cookie", "a=1")
	})
	t.Run("a forged second token cookie in another field", func(t *testing.T) {
		a, id := send(t, "/r", [2]string{"cookie", "jwt_session=" + tok}, [2]string{"cookie", "jwt_session=" + forged})
		refused(t, a, id, http.StatusUnauthorized, "multiple tokens")
	})
	t.Run("the same token twice", func(t *testing.T) {
		a, id := send(t, "/r", [2]string{"cookie", "jwt_session=" + tok}, [2]string{"cookie", "jwt_session=" + tok})
		refused(t, a, id, http.StatusUnauthorized, "multiple tokens")
	})
	t.Run("token in :path", func(t *testing.T) {
		a, id := send(t, "/r?a=1&access_token="+tok+"&b=2")
		up := allowed(t, a, id)
		if up.Path != "/r?a=1&b=2" {
			t.Errorf("upstream path %q, want /r?a=1&b=2", up.Path)
		}
	})
	t.Run("an upper-case field name", func(t *testing.T) {
		// HTTP/2 field names are lower case (RFC 9113 section 8.2.1): Envoy
		// refuses the stream before any filter.
		id := fmt.Sprintf("%s#%d", t.Name(), requestIDs.Add(1))
		a, err := rawH2C(addr, [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "e2e.example"}, {":path", "/r"},
			{strings.ToLower(devservers.TestIDHeader), id}, {"Authorization", "Bearer " + tok}}, "")
		if err == nil && a.status < 400 {
			t.Fatalf("status %d, want the stream refused", a.status)
		}
		if n := len(s.echo.ByTestID(id)); n != 0 {
			t.Fatalf("upstream saw it %d times", n)
		}
	})
}

// tokenSourceCases are TestTokenSourcesAndAlgorithms' cases, run over each
// downstream protocol.
func tokenSourceCases(t *testing.T, s *stack, k *testkeys.Keys, iss *keyIssuer) {
	tok := sign(t, k.RSA, "RS256", "rsa", iss.claims("alice"))

	t.Run("algorithms", func(t *testing.T) {
		for _, tc := range []struct{ alg, kid string }{
			{"RS256", "rsa"}, {"RS384", "rsa"}, {"RS512", "rsa"},
			{"PS256", "rsa"}, {"PS384", "rsa"}, {"PS512", "rsa"},
			{"ES256", "p256"}, {"ES384", "p384"}, {"EdDSA", "ed"},
		} {
			t.Run(tc.alg, func(t *testing.T) {
				sub := "user-" + tc.alg
				a := s.request(t, "GET", "/r", bearer(sign(t, k.Private(tc.alg), tc.alg, tc.kid, iss.claims(sub))))
				expectHeader(t, s.expectAllowed(t, a), subHeader, sub)
			})
		}
		refused := []struct{ name, token, reason string }{
			{"ES256 under the P-384 kid", sign(t, k.P256, "ES256", "p384", iss.claims("x")), "no matching signing key"},
			{"EdDSA signed by another key", sign(t, mustEd25519(t), "EdDSA", "ed", iss.claims("x")), "invalid signature"},
			{"PS256 signature altered", flipLast(sign(t, k.RSA, "PS256", "rsa", iss.claims("x"))), "invalid signature"},
			{"ES384 signature altered", flipLast(sign(t, k.P384, "ES384", "p384", iss.claims("x"))), "invalid signature"},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				s.expectInvalid(t, s.request(t, "GET", "/r", bearer(tc.token)), tc.reason)
			})
		}
	})

	t.Run("sources", func(t *testing.T) {
		for _, tc := range []struct {
			name, target string
			header       http.Header
			wantPath     string
			wantCookie   string
		}{
			{"Authorization header", "/r?q=1", bearer(tok), "/r?q=1", ""},
			{"second header", "/r", hdr("x-jwt", tok), "/r", ""},
			{"access_token, other parameters kept byte for byte", "/r?a=1&access_token=" + tok + "&b=%20x&c&d=%2F", nil, "/r?a=1&b=%20x&c&d=%2F", ""},
			{"jwt, the only parameter", "/r?jwt=" + tok, nil, "/r", ""},
			{"cookie among others", "/r", hdr("Cookie", "theme=dark; jwt_session="+tok+"; lang=fr"), "/r", "theme=dark; lang=fr"},
			{"the only cookie", "/r", hdr("Cookie", "jwt_session="+tok), "/r", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				up := s.expectAllowed(t, s.request(t, "GET", tc.target, tc.header))
				if up.Path != tc.wantPath {
					t.Errorf("upstream path %q, want %q", up.Path, tc.wantPath)
				}
				expectHeader(t, up, "Cookie", tc.wantCookie)
				expectHeader(t, up, "Authorization", "")
				expectHeader(t, up, "x-jwt", "")
				expectHeader(t, up, subHeader, "alice")
				if strings.Contains(fmt.Sprint(up.Header), tok) || strings.Contains(up.Path, tok) {
					t.Error("the token reached the upstream")
				}
			})
		}
		for _, tc := range []struct {
			name, target string
			header       http.Header
			reason       string
		}{
			{"header and parameter", "/r?access_token=" + tok, bearer(tok), "multiple tokens"},
			{"two parameters", "/r?access_token=" + tok + "&jwt=" + tok, nil, "multiple tokens"},
			{"header and cookie", "/r", hdr("x-jwt", tok, "Cookie", "jwt_session="+tok), "multiple tokens"},
			{"bad token in a parameter", "/r?jwt=abc.def.ghi", nil, "malformed token"},
			{"expired token in a cookie", "/r", hdr("Cookie", "jwt_session="+sign(t, k.RSA, "RS256", "rsa", expiredClaims(iss))), "token expired"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s.expectInvalid(t, s.request(t, "GET", tc.target, tc.header), tc.reason)
			})
		}
		t.Run("no token", func(t *testing.T) {
			s.expectNoToken(t, s.request(t, "GET", "/r?token="+tok, hdr("Cookie", "session="+tok)))
		})
	})

	t.Run("claims with dots and colons", func(t *testing.T) {
		c := iss.claims("carol")
		c["kubernetes.io"] = map[string]any{"namespace": "prod"}
		c["urn:zitadel:iam:org:project:roles"] = []string{"admin", "reader"}
		c["roles"] = []string{"a", "b"}
		up := s.expectAllowed(t, s.request(t, "GET", "/r", bearer(sign(t, k.Ed25519, "EdDSA", "ed", c))))
		expectHeader(t, up, "x-jwt-ns", "prod")
		expectHeader(t, up, "x-jwt-org-roles", "admin,reader")
		expectHeader(t, up, "x-jwt-wild", "") // "#" is a claim name, not gjson's count
	})

	t.Run("payload as filter state", func(t *testing.T) {
		c := iss.claims("dave")
		up := s.expectAllowed(t, s.request(t, "GET", "/r", bearer(sign(t, k.P256, "ES256", "p256", c))))
		var got map[string]any
		if err := json.Unmarshal([]byte(up.Header.Get("x-filter-state")), &got); err != nil {
			t.Fatalf("upstream x-filter-state %q is not the payload JSON: %v", up.Header.Get("x-filter-state"), err)
		}
		if got["sub"] != "dave" || got["iss"] != iss.name {
			t.Errorf("filter state %v", got)
		}
	})
}

func expiredClaims(iss *keyIssuer) map[string]any {
	c := iss.claims("old")
	c["exp"] = time.Now().Add(-time.Hour).Unix()
	c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
	return c
}

// flipLast changes the last signature character of a token.
func flipLast(tok string) string {
	last := tok[len(tok)-2]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return tok[:len(tok)-2] + string(repl) + tok[len(tok)-1:]
}

// TestRequestRules: which requests need a token, through Envoy: a bypass
// (health check), allow_missing, allow_missing_or_failed, a rule restricted
// to one issuer, a method match, a regex, CORS preflights, the default for
// unmatched paths, paths not in normal form, duplicate tokens, and
// stripFailureResponse.
func TestRequestRules(t *testing.T) {
	t.Parallel()
	k := testkeys.Get()
	issA := startKeyIssuer(t, testkeys.JWKS(testkeys.JWK("a", k.Public("RS256"), `,"alg":"RS256"`)))
	issB := startKeyIssuer(t, testkeys.JWKS(testkeys.JWK("b", k.Public("EdDSA"), `,"alg":"EdDSA"`)))
	cfg := map[string]any{
		"jwtRules": []any{
			// A: the default sources, Authorization: Bearer and ?access_token=.
			map[string]any{"issuer": issA.name, "jwksUri": issA.jwksURI(), "jwksCluster": "jwks_0", "audiences": []string{audience},
				"outputClaimToHeaders": []map[string]string{{"header": subHeader, "claim": "sub"}}},
			map[string]any{"issuer": issB.name, "jwksUri": issB.jwksURI(), "jwksCluster": "jwks_1", "algorithms": []string{"EdDSA"},
				"fromHeaders": []map[string]string{{"name": "x-b-token"}}, "fromCookies": []string{"b_session"},
				"outputClaimToHeaders": []map[string]string{{"header": "x-b-sub", "claim": "sub"}}},
		},
		"rules": []any{
			map[string]any{"match": map[string]any{"path": "/healthz"}, "requirement": "bypass"},
			map[string]any{"match": map[string]any{"prefix": "/public/"}, "requirement": "allow_missing"},
			map[string]any{"match": map[string]any{"prefix": "/optional/"}, "requirement": "allow_missing_or_failed"},
			map[string]any{"match": map[string]any{"regex": "/admin/[0-9]+"}, "requirement": "required", "issuers": []string{issB.name}},
			map[string]any{"match": map[string]any{"prefix": "/write/", "methods": []string{"POST", "PUT"}}, "requirement": "required"},
			map[string]any{"match": map[string]any{"prefix": "/write/"}, "requirement": "bypass"},
		},
		"bypassCorsPreflight":  true,
		"allowDuplicateToken":  true,
		"stripFailureResponse": true,
	}
	s := featureStack(t, cfg, []*keyIssuer{issA, issB}, nil)
	tokA := sign(t, k.RSA, "RS256", "a", issA.claims("alice"))
	tokB := sign(t, k.Ed25519, "EdDSA", "b", issB.claims("bob"))
	expA := sign(t, k.RSA, "RS256", "a", expiredClaims(issA))
	forged := func(h http.Header) http.Header {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set(subHeader, "forged")
		h.Set("x-b-sub", "forged")
		return h
	}
	const (
		missing = `Bearer realm="` + realm + `"`
		invalid = `Bearer realm="` + realm + `", error="invalid_token"`
	)
	// refused checks a stripped answer: status, no body, the challenge.
	refused := func(t *testing.T, a answer, status int, challenge string) {
		t.Helper()
		s.expectNotForwarded(t, a)
		if a.status != status || len(a.body) != 0 {
			t.Errorf("status %d body %s, want %d and no body", a.status, short(a.body), status)
		}
		if got := a.header.Values("Www-Authenticate"); challenge == "" && len(got) != 0 || challenge != "" && (len(got) != 1 || got[0] != challenge) {
			t.Errorf("WWW-Authenticate %q, want %q", got, challenge)
		}
	}
	// allowed checks a forwarded request and the claims the upstream got.
	allowed := func(t *testing.T, a answer, subA, subB string) devservers.Request {
		t.Helper()
		up := s.expectAllowed(t, a)
		expectHeader(t, up, subHeader, subA)
		expectHeader(t, up, "x-b-sub", subB)
		return up
	}

	t.Run("bypass", func(t *testing.T) {
		allowed(t, s.request(t, "GET", "/healthz", nil), "", "")
		// Output headers are stripped even here; the token is left alone.
		up := allowed(t, s.request(t, "GET", "/healthz?verbose=1", forged(bearer(expA))), "", "")
		expectHeader(t, up, "Authorization", "Bearer "+expA)
		refused(t, s.request(t, "GET", "/healthz/x", nil), 401, missing)
	})
	t.Run("allow_missing", func(t *testing.T) {
		allowed(t, s.request(t, "GET", "/public/a", forged(nil)), "", "")
		up := allowed(t, s.request(t, "GET", "/public/a", bearer(tokA)), "alice", "")
		expectHeader(t, up, "Authorization", "")
		refused(t, s.request(t, "GET", "/public/a", bearer(expA)), 401, invalid)
		refused(t, s.request(t, "GET", "/public/a?access_token=junk", nil), 401, invalid)
	})
	t.Run("allow_missing_or_failed", func(t *testing.T) {
		allowed(t, s.request(t, "GET", "/optional/a", forged(nil)), "", "")
		allowed(t, s.request(t, "GET", "/optional/a", bearer(tokA)), "alice", "")
		up := allowed(t, s.request(t, "GET", "/optional/a?x=1&access_token="+expA, forged(nil)), "", "")
		if up.Path != "/optional/a?x=1" {
			t.Errorf("upstream path %q: the failed token was not removed", up.Path)
		}
		up = allowed(t, s.request(t, "GET", "/optional/a", forged(bearer("junk"))), "", "")
		expectHeader(t, up, "Authorization", "")
		// Report-only use: what would have been refused is counted.
		stats := statsOf(t, s)
		if stats["wasmcustom.edgejwt.passed_unverified.token_expired"] != 1 || stats["wasmcustom.edgejwt.passed_unverified.malformed_token"] != 1 {
			t.Errorf("passed_unverified counters: expired %d, malformed %d; want 1 and 1",
				stats["wasmcustom.edgejwt.passed_unverified.token_expired"], stats["wasmcustom.edgejwt.passed_unverified.malformed_token"])
		}
	})
	t.Run("issuer restriction and regex", func(t *testing.T) {
		allowed(t, s.request(t, "GET", "/admin/7", hdr("x-b-token", tokB)), "", "bob")
		up := allowed(t, s.request(t, "GET", "/admin/7", hdr("Cookie", "theme=dark; b_session="+tokB)), "", "bob")
		expectHeader(t, up, "Cookie", "theme=dark")
		// A's token is not even looked for on a B-only path.
		refused(t, s.request(t, "GET", "/admin/7", bearer(tokA)), 401, missing)
		refused(t, s.request(t, "GET", "/admin/7", hdr("x-b-token", tokA)), 401, invalid)
		// The regex must match the whole path: /admin/7/x is unmatched, so
		// any issuer's token will do.
		allowed(t, s.request(t, "GET", "/admin/7/x", bearer(tokA)), "alice", "")
	})
	t.Run("methods", func(t *testing.T) {
		refused(t, s.request(t, "POST", "/write/a", nil), 401, missing)
		allowed(t, s.request(t, "PUT", "/write/a", bearer(tokA)), "alice", "")
		allowed(t, s.request(t, "GET", "/write/a", nil), "", "")
	})
	t.Run("CORS preflight", func(t *testing.T) {
		allowed(t, s.request(t, "OPTIONS", "/anything", hdr("Origin", "https://app.example", "Access-Control-Request-Method", "POST")), "", "")
		refused(t, s.request(t, "OPTIONS", "/anything", hdr("Origin", "https://app.example")), 401, missing)
	})
	t.Run("unmatched paths need a token", func(t *testing.T) {
		refused(t, s.request(t, "GET", "/other", nil), 401, missing)
		allowed(t, s.request(t, "GET", "/other", bearer(tokA)), "alice", "")
		allowed(t, s.request(t, "GET", "/other?access_token="+tokA, nil), "alice", "")
		allowed(t, s.request(t, "GET", "/other", hdr("x-b-token", tokB)), "", "bob")
	})
	t.Run("paths not in normal form", func(t *testing.T) {
		// Envoy (normalize_path off, its default) passes these on; the
		// filter's counter shows that the 400s are its own.
		const stat = "wasmcustom.edgejwt.denied.path_not_in_normal_form"
		before := s.envoy.counter(t, stat)
		targets := []string{"/healthz/../admin/7", "//healthz", "/heal%74hz", "/public/..;/admin/7", "/public/%2e%2e/admin/7"}
		for _, target := range targets {
			refused(t, s.request(t, "GET", target, hdr("x-b-token", tokB)), 400, "")
		}
		if got := s.envoy.counter(t, stat) - before; got != len(targets) {
			t.Errorf("%s went up by %d, want %d", stat, got, len(targets))
		}
	})
	t.Run("duplicate tokens", func(t *testing.T) {
		up := allowed(t, s.request(t, "GET", "/other?access_token="+tokA+"&k=v", bearer(tokA)), "alice", "")
		if up.Path != "/other?k=v" {
			t.Errorf("upstream path %q", up.Path)
		}
		tokA2 := sign(t, k.RSA, "RS256", "a", issA.claims("alice2"))
		refused(t, s.request(t, "GET", "/other?access_token="+tokA2, bearer(tokA)), 401, invalid)
	})
}

// counter reads one counter from Envoy's admin /stats (0 when undefined).
func (e *envoyProc) counter(t *testing.T, name string) int {
	t.Helper()
	awaitMetricsFlush()
	stats, err := envoyadmin.Stats(&http.Client{Timeout: 5 * time.Second}, e.adminBase, "^"+regexp.QuoteMeta(name)+"$", "")
	if err != nil {
		t.Fatal(err)
	}
	return int(stats[name])
}

func mustEd25519(t *testing.T) crypto.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
