package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// hcmModes are the two connection managers the hardening tests run under:
// the repository's envoy.yaml (what users copy) and Envoy's defaults (an
// Envoy configured without the hygiene settings, where the filter's own
// checks must hold alone).
var hcmModes = []string{"shipped", "defaults"}

// TestLookAlikeHeaders: a client cannot forge a verified claim header under
// a name an upstream reads as it. With Envoy's defaults the filter removes
// x_jwt_sub, X-JWT-SUB and the like from every request (a token or not);
// with the shipped envoy.yaml Envoy refuses header names with '_' first.
func TestLookAlikeHeaders(t *testing.T) {
	t.Parallel()
	for _, mode := range hcmModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			opts := stackOptions{top: map[string]any{"rules": []any{
				map[string]any{"match": map[string]any{"prefix": "/public/"}, "requirement": "allow_missing"},
			}}}
			s := newStackWith(t, opts, func(c *envoyConfig) {
				if mode == "shipped" {
					c.ShippedHCM = shippedHCM(t)
				}
			})
			for _, proto := range protocols {
				t.Run(proto, func(t *testing.T) {
					s := s.over(proto)
					c := s.validClaims()
					tok := s.issuer.MustMint(c)
					for _, tc := range []struct {
						name   string
						path   string
						header http.Header
					}{
						{"with a token", "/resource", bearer(tok)},
						{"without a token, allow_missing", "/public/x", nil},
					} {
						t.Run(tc.name, func(t *testing.T) {
							// Under the names an upstream folds into x-jwt-sub.
							h := http.Header{}
							for k, v := range tc.header {
								h[k] = v
							}
							h["x_jwt_sub"] = []string{"admin"}
							h["X-JWT-SUB"] = []string{"admin"}
							h["x-jwt_sub"] = []string{"admin"}
							if mode == "shipped" {
								// Envoy refuses the underscored names
								// (headers_with_underscores_action: REJECT_REQUEST):
								// 400 over HTTP/1.1, a reset stream over HTTP/2.
								a, err := s.tryRequest(t.Name(), "GET", tc.path, h)
								switch {
								case proto == h2c && err == nil:
									t.Fatalf("status %d, want the stream reset", a.status)
								case proto == http1 && (err != nil || a.status != http.StatusBadRequest):
									t.Fatalf("status %d (%v), want 400", a.status, err)
								}
								if n := len(s.echo.ByTestID(a.id)); n != 0 {
									t.Fatalf("upstream saw the refused request %d times", n)
								}
								// Without the underscored names the request goes through, and
								// a forged X-JWT-SUB is still replaced or removed.
								h = http.Header{"X-JWT-SUB": {"admin"}}
								for k, v := range tc.header {
									h[k] = v
								}
							}
							up := s.expectAllowed(t, s.request(t, "GET", tc.path, h))
							want := ""
							if tc.header != nil {
								want = "alice"
							}
							for name, vals := range up.Header {
								if strings.EqualFold(strings.ReplaceAll(name, "_", "-"), subHeader) {
									if want == "" || len(vals) != 1 || vals[0] != want || name != http.CanonicalHeaderKey(subHeader) {
										t.Errorf("upstream header %s = %q, want only %s: %q", name, vals, subHeader, want)
									}
								}
							}
						})
					}
				})
			}
		})
	}
}

// trick is one path or method trick and the answer it must get.
type trick struct {
	name    string
	method  string
	path    string
	headers [][2]string
	// want is the status with Envoy's default connection manager, where
	// the filter's own checks decide; shipped, when not 0, the status
	// with envoy.yaml's, where Envoy normalizes or refuses first. Only a
	// 200 may reach the upstream.
	want, shipped int
	// shippedOr, when not 0, is the other refusal the shipped connection
	// manager may give, depending on the Envoy release (its normalization
	// of "..;" changed between 1.36 and 1.40).
	shippedOr int
}

// pathTricks: each would reach a protected resource without a (suitable)
// token on a server that normalizes, decodes or strips what Envoy and the
// filter let through. The rules below protect /admin (required, any
// issuer), POST /api/v1/orders (required) and leave the rest to
// allow_missing; /public/ is a bypass. 400 "path not in normal form" or
// "method override not allowed" is the filter's answer; with the shipped
// connection manager Envoy resolves dot segments and "//" first (the rules
// then see /admin: 401) and refuses escaped slashes itself (400).
var pathTricks = []trick{
	{name: "control: bypass", method: "GET", path: "/public/x", want: 200},
	{name: "control: allow_missing GET", method: "GET", path: "/api/v1/orders", want: 200},
	{name: "control: POST needs a token", method: "POST", path: "/api/v1/orders", want: 401},
	{name: "control: /admin needs a token", method: "GET", path: "/admin", want: 401},
	{name: "parameter before the protected segment", method: "GET", path: "/;/admin", want: 400},
	{name: "named parameter before it", method: "GET", path: "/;x=1/admin", want: 400},
	{name: "parameter after it", method: "GET", path: "/admin;x", want: 400},
	{name: "parameter on a POST path", method: "POST", path: "/api/v1/orders;x", want: 400},
	{name: "encoded parameter", method: "POST", path: "/api/v1/orders%3Bx", want: 400},
	{name: "dot-dot out of the bypass", method: "GET", path: "/public/../admin", want: 400, shipped: 401},
	// Envoy 1.40 resolves "..;" as a dot segment under the shipped
	// connection manager (the rules see /admin: 401); 1.36.4 leaves it,
	// and the filter refuses the path (400). Both refuse.
	{name: "dot-dot-semicolon", method: "GET", path: "/public/..;/admin", want: 400, shipped: 401, shippedOr: 400},
	{name: "dot-dot, encoded semicolon", method: "GET", path: "/public/..%3b/admin", want: 400},
	{name: "encoded dots", method: "GET", path: "/public/%2e%2e/admin", want: 400, shipped: 401},
	{name: "encoded dots and slash", method: "GET", path: "/public/%2E%2E%2Fadmin", want: 400},
	{name: "encoded slash", method: "GET", path: "/public%2F..%2Fadmin", want: 400},
	{name: "encoded backslash", method: "GET", path: "/public/..%5Cadmin", want: 400},
	{name: "double slash", method: "GET", path: "//admin", want: 400, shipped: 401},
	{name: "double encoding", method: "GET", path: "/public/%252e%252e/admin", want: 400},
	{name: "overlong UTF-8 dots", method: "GET", path: "/public/%c0%ae%c0%ae/admin", want: 400},
	{name: "fullwidth dots", method: "GET", path: "/public/%ef%bc%8e%ef%bc%8e/admin", want: 400},
	{name: "two dot leader", method: "GET", path: "/public/%e2%80%a5/admin", want: 400},
	{name: "encoded NUL", method: "GET", path: "/public/x%00/../../admin", want: 400},
	{name: "method override header", method: "GET", path: "/api/v1/orders", headers: [][2]string{{"x-http-method-override", "POST"}}, want: 400},
	{name: "X-HTTP-Method", method: "GET", path: "/api/v1/orders", headers: [][2]string{{"x-http-method", "POST"}}, want: 400},
	{name: "X-Method-Override", method: "GET", path: "/api/v1/orders", headers: [][2]string{{"x-method-override", "POST"}}, want: 400},
	{name: "_method parameter", method: "GET", path: "/api/v1/orders?_method=POST", want: 400},
	{name: "preflight with a body", method: "OPTIONS", path: "/admin", headers: [][2]string{{"origin", "https://app.example"}, {"access-control-request-method", "POST"}, {"content-length", "2"}}, want: 401},
	{name: "preflight with an override", method: "OPTIONS", path: "/admin", headers: [][2]string{{"origin", "https://app.example"}, {"access-control-request-method", "POST"}, {"x-http-method-override", "POST"}}, want: 400},
	{name: "control: a real preflight", method: "OPTIONS", path: "/admin", headers: [][2]string{{"origin", "https://app.example"}, {"access-control-request-method", "POST"}}, want: 200},
}

// TestPathTricks sends every trick with raw request lines (HTTP/1.1) and
// raw :path fields (HTTP/2), which no client library cleans, under the
// shipped connection manager and under Envoy's defaults.
func TestPathTricks(t *testing.T) {
	t.Parallel()
	rules := []any{
		map[string]any{"match": map[string]any{"prefix": "/public/"}, "requirement": "bypass"},
		map[string]any{"match": map[string]any{"path": "/admin"}, "requirement": "required"},
		map[string]any{"match": map[string]any{"path": "/api/v1/orders", "methods": []string{"POST"}}, "requirement": "required"},
		map[string]any{"match": map[string]any{"prefix": "/"}, "requirement": "allow_missing"},
	}
	for _, mode := range hcmModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := newStackWith(t, stackOptions{top: map[string]any{"rules": rules, "bypassCorsPreflight": true}}, func(c *envoyConfig) {
				if mode == "shipped" {
					c.ShippedHCM = shippedHCM(t)
				}
			})
			addr := strings.TrimPrefix(s.envoy.listener, "http://")
			for _, proto := range protocols {
				t.Run(proto, func(t *testing.T) {
					for _, tc := range pathTricks {
						t.Run(tc.name, func(t *testing.T) {
							id := t.Name() + "#" + strconv.FormatInt(requestIDs.Add(1), 10)
							var a rawAnswer
							var err error
							body := ""
							if hasField(tc.headers, "content-length") {
								body = "{}" // what the trick's content-length announces
							}
							if proto == http1 {
								lines := []string{devservers.TestIDHeader + ": " + id}
								for _, h := range tc.headers {
									lines = append(lines, h[0]+": "+h[1])
								}
								a, err = rawHTTP1(addr, tc.method, tc.path, body, lines...)
							} else {
								fields := [][2]string{{":method", tc.method}, {":scheme", "http"}, {":authority", "e2e.example"}, {":path", tc.path},
									{strings.ToLower(devservers.TestIDHeader), id}}
								fields = append(fields, tc.headers...)
								a, err = rawH2C(addr, fields, body)
							}
							if err != nil {
								t.Fatalf("%s %s: %v", tc.method, tc.path, err)
							}
							want := tc.want
							if mode == "shipped" && tc.shipped != 0 {
								want = tc.shipped
							}
							seen := len(s.echo.ByTestID(id))
							if mode == "shipped" && tc.shippedOr != 0 && a.status == tc.shippedOr {
								want = tc.shippedOr
							}
							if a.status != want {
								t.Errorf("%s %s: status %d %s, want %d", tc.method, tc.path, a.status, short(a.body), want)
							}
							if wantSeen := map[bool]int{true: 1, false: 0}[want == http.StatusOK]; seen != wantSeen {
								t.Errorf("%s %s: upstream saw it %d times, want %d", tc.method, tc.path, seen, wantSeen)
							}
						})
					}
				})
			}
		})
	}
}

func hasField(fields [][2]string, name string) bool {
	for _, f := range fields {
		if f[0] == name {
			return true
		}
	}
	return false
}
