package authn

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/verifier"
)

// authWith builds an Authenticator from a whole configuration document.
func authWith(t testing.TB, doc string) *Authenticator {
	t.Helper()
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Two issuers: A (RS256) reads Authorization: Bearer, ?access_token= and
// ?jwt=, and the cookie "session"; B (ES256) reads the header x-token and
// the cookie "b_session".
const twoIssuers = `"jwtRules":[
  {"issuer":"` + issA + `","jwksUri":"https://a.example/jwks","outputClaimToHeaders":[{"header":"x-sub","claim":"sub"}],
   "fromHeaders":[{"name":"Authorization","prefix":"Bearer "}],"fromParams":["access_token","jwt"],"fromCookies":["session"]},
  {"issuer":"` + issB + `","jwksUri":"https://b.example/jwks","algorithms":["ES256"],"outputClaimToHeaders":[{"header":"x-sub-b","claim":"sub"}],
   "fromHeaders":[{"name":"x-token","prefix":""}],"fromCookies":["b_session"]}]`

func tokenB(sub string) string {
	return testkeys.Get().Token("ES256", `{"alg":"ES256","kid":"b1"}`,
		fmt.Sprintf(`{"iss":%q,"sub":%q,"exp":%d}`, issB, sub, time.Now().Add(time.Hour).Unix()))
}

// get is a GET request for path with extra headers.
func get(path string, extra ...[2]string) [][2]string {
	return append([][2]string{{":method", "GET"}, {":path", path}, {":authority", "h"}}, extra...)
}

func withMethod(method string, h [][2]string) [][2]string {
	out := append([][2]string(nil), h...)
	out[0] = [2]string{":method", method}
	return out
}

func setMap(d Decision) map[string]string {
	m := map[string]string{}
	for _, kv := range d.Set {
		m[kv[0]] = kv[1]
	}
	return m
}

func TestTokenSources(t *testing.T) {
	a := authWith(t, `{`+twoIssuers+`}`)
	keys := keySets(t)
	good := tokenA(claimsA(""))
	tests := []struct {
		name    string
		headers [][2]string
		want    Outcome
		err     error
		remove  []string
		set     map[string]string
	}{
		{name: "header", headers: get("/r?q=1", [2]string{"authorization", "Bearer " + good}),
			want: Allow, remove: []string{"authorization"}, set: map[string]string{"x-sub": "alice"}},
		{name: "query parameter, others kept byte for byte", headers: get("/r?a=1&access_token=" + good + "&b=%20x&c&&d=%2F"),
			want: Allow, set: map[string]string{":path": "/r?a=1&b=%20x&c&&d=%2F", "x-sub": "alice"}},
		{name: "only parameter", headers: get("/r?access_token=" + good),
			want: Allow, set: map[string]string{":path": "/r", "x-sub": "alice"}},
		{name: "first parameter", headers: get("/r?jwt=" + good + "&z=9"),
			want: Allow, set: map[string]string{":path": "/r?z=9", "x-sub": "alice"}},
		{name: "last parameter", headers: get("/r?z=9&jwt=" + good),
			want: Allow, set: map[string]string{":path": "/r?z=9", "x-sub": "alice"}},
		{name: "percent-encoded parameter name", headers: get("/r?access%5Ftoken=" + good + "&z"),
			want: Allow, set: map[string]string{":path": "/r?z", "x-sub": "alice"}},
		{name: "parameter name is case-sensitive", headers: get("/r?Access_Token=" + good), want: Deny, err: ErrNoToken},
		{name: "parameter without value", headers: get("/r?access_token"), want: Deny, err: verifier.ErrMalformed},
		{name: "empty parameter", headers: get("/r?access_token="), want: Deny, err: verifier.ErrMalformed},
		{name: "parameter in the fragment", headers: get("/r#access_token=" + good), want: Deny, err: ErrNoToken},
		{name: "cookie", headers: get("/r", [2]string{"cookie", "a=1; session=" + good + ";b=\"2\""}),
			want: Allow, remove: []string{"cookie"}, set: map[string]string{"cookie": "a=1; b=\"2\"", "x-sub": "alice"}},
		{name: "only cookie", headers: get("/r", [2]string{"cookie", "session=" + good}),
			want: Allow, remove: []string{"cookie"}, set: map[string]string{"x-sub": "alice"}},
		{name: "quoted cookie", headers: get("/r", [2]string{"cookie", `session="` + good + `"`}),
			want: Allow, remove: []string{"cookie"}, set: map[string]string{"x-sub": "alice"}},
		{name: "cookies in two headers", headers: get("/r", [2]string{"cookie", "a=1"}, [2]string{"cookie", "session=" + good + "; c=3"}),
			want: Allow, remove: []string{"cookie"}, set: map[string]string{"cookie": "a=1; c=3", "x-sub": "alice"}},
		{name: "cookie name is case-sensitive", headers: get("/r", [2]string{"cookie", "Session=" + good}), want: Deny, err: ErrNoToken},
		{name: "cookie of another issuer", headers: get("/r", [2]string{"cookie", "b_session=" + tokenB("bob")}),
			want: Allow, remove: []string{"cookie"}, set: map[string]string{"x-sub-b": "bob"}},
		{name: "issuer A's token in B's cookie", headers: get("/r", [2]string{"cookie", "b_session=" + good}), want: Deny, err: verifier.ErrIssuer},
		{name: "header and parameter", headers: get("/r?access_token="+good, [2]string{"authorization", "Bearer " + good}), want: Deny, err: ErrMultipleTokens},
		{name: "header and cookie", headers: get("/r", [2]string{"authorization", "Bearer " + good}, [2]string{"cookie", "session=" + good}), want: Deny, err: ErrMultipleTokens},
		{name: "two parameters", headers: get("/r?access_token=" + good + "&jwt=" + good), want: Deny, err: ErrMultipleTokens},
		{name: "parameter twice", headers: get("/r?jwt=" + good + "&jwt=" + good), want: Deny, err: ErrMultipleTokens},
		{name: "cookie twice", headers: get("/r", [2]string{"cookie", "session=" + good + "; session=" + good}), want: Deny, err: ErrMultipleTokens},
		{name: "tokens of two issuers", headers: get("/r", [2]string{"cookie", "session=" + good + "; b_session=" + tokenB("bob")}), want: Deny, err: ErrMultipleTokens},
		{name: "other cookies only", headers: get("/r", [2]string{"cookie", "a=1; sessions=2"}), want: Deny, err: ErrNoToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := a.Authenticate(tc.headers, keys)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %v (err %v), want %v", d.Outcome, d.Err, tc.want)
			}
			if tc.want == Deny {
				if !errors.Is(d.Err, tc.err) {
					t.Errorf("err %v, want %v", d.Err, tc.err)
				}
				return
			}
			if !reflect.DeepEqual(d.Remove, tc.remove) {
				t.Errorf("Remove %q, want %q", d.Remove, tc.remove)
			}
			if got := setMap(d); !reflect.DeepEqual(got, tc.set) {
				t.Errorf("Set %q, want %q", got, tc.set)
			}
		})
	}
}

func TestDuplicateToken(t *testing.T) {
	a := authWith(t, `{`+twoIssuers+`,"allowDuplicateToken":true}`)
	keys := keySets(t)
	good := tokenA(claimsA(""))
	other := tokenA(claimsA(`,"jti":"x"`))
	bob := tokenB("bob")

	d := a.Authenticate(get("/r?access_token="+good+"&jwt="+good+"&k=v",
		[2]string{"authorization", "Bearer " + good}, [2]string{"cookie", "session=" + good + "; x=y"}), keys)
	if d.Outcome != Allow {
		t.Fatalf("same token in four places: %v %v", d.Outcome, d.Err)
	}
	want := map[string]string{":path": "/r?k=v", "cookie": "x=y", "x-sub": "alice"}
	if got := setMap(d); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(d.Remove, []string{"authorization", "cookie"}) {
		t.Errorf("Set %q Remove %q", got, d.Remove)
	}
	for name, h := range map[string][][2]string{
		"different tokens":         get("/r?access_token="+good, [2]string{"authorization", "Bearer " + other}),
		"two issuers":              get("/r", [2]string{"authorization", "Bearer " + good}, [2]string{"x-token", tokenB("bob")}),
		"same token, two words":    get("/r", [2]string{"authorization", "Bearer " + good + " " + good}),
		"same token, joined":       get("/r", [2]string{"authorization", "Bearer " + good + ",Bearer " + good}),
		"one place B does not use": get("/r", [2]string{"x-token", bob}, [2]string{"cookie", "session=" + bob}),
	} {
		d := a.Authenticate(h, keys)
		want := ErrMultipleTokens
		if name == "one place B does not use" {
			want = verifier.ErrIssuer
		}
		if d.Outcome != Deny || !errors.Is(d.Err, want) {
			t.Errorf("%s: %v %v, want %v", name, d.Outcome, d.Err, want)
		}
	}
	// Two Authorization headers with the same token are one token.
	if d := a.Authenticate(get("/r", [2]string{"authorization", "Bearer " + good}, [2]string{"authorization", "bearer  " + good}), keys); d.Outcome != Allow {
		t.Errorf("same token in two Authorization headers: %v %v", d.Outcome, d.Err)
	}
}

func TestLongestPrefixFirst(t *testing.T) {
	a := authWith(t, `{"jwtRules":[
	  {"issuer":"`+issA+`","jwksUri":"https://a.example/jwks","fromHeaders":[{"name":"authorization","prefix":"Bearer "}]},
	  {"issuer":"`+issB+`","jwksUri":"https://b.example/jwks","algorithms":["ES256"],"fromHeaders":[{"name":"authorization","prefix":""}]}]}`)
	keys := keySets(t)
	if d := a.Authenticate(get("/", [2]string{"authorization", "Bearer " + tokenA(claimsA(""))}), keys); d.Outcome != Allow {
		t.Errorf("Bearer token: %v %v", d.Outcome, d.Err)
	}
	if d := a.Authenticate(get("/", [2]string{"authorization", tokenB("bob")}), keys); d.Outcome != Allow {
		t.Errorf("bare token: %v %v", d.Outcome, d.Err)
	}
}

const rulesDoc = `{` + twoIssuers + `,
  "bypassCorsPreflight": true,
  "rules": [
    {"match":{"path":"/healthz"},"requirement":"bypass"},
    {"match":{"prefix":"/public/"},"requirement":"allow_missing"},
    {"match":{"prefix":"/optional/"},"requirement":"allow_missing_or_failed"},
    {"match":{"regex":"/admin/[0-9]+"},"requirement":"required","issuers":["` + issB + `"]},
    {"match":{"prefix":"/write/","methods":["POST","PUT"]},"requirement":"required"},
    {"match":{"prefix":"/write/"},"requirement":"bypass"}
  ]}`

func TestRequestRules(t *testing.T) {
	a := authWith(t, rulesDoc)
	keys := keySets(t)
	good := "Bearer " + tokenA(claimsA(""))
	expired := "Bearer " + tokenA(fmt.Sprintf(`{"iss":%q,"aud":"api","sub":"alice","exp":%d}`, issA, time.Now().Add(-time.Hour).Unix()))
	auth := func(v string) [2]string { return [2]string{"authorization", v} }
	preflight := [][2]string{{"origin", "https://app.example"}, {"access-control-request-method", "POST"}}

	tests := []struct {
		name    string
		headers [][2]string
		want    Outcome
		err     error // Deny; for an allowed failure, the failure
		claims  bool  // Allow: claim headers set
		remove  bool  // Allow: the token is removed
	}{
		// bypass: nothing looked at, nothing removed.
		{name: "bypass without token", headers: get("/healthz"), want: Allow},
		{name: "bypass with an expired token", headers: get("/healthz", auth(expired)), want: Allow},
		{name: "bypass is exact", headers: get("/healthz/x"), want: Deny, err: ErrNoToken},
		{name: "bypass with a query", headers: get("/healthz?full=1"), want: Allow},
		// allow_missing.
		{name: "allow_missing without token", headers: get("/public/x"), want: Allow},
		{name: "allow_missing with a valid token", headers: get("/public/x", auth(good)), want: Allow, claims: true, remove: true},
		{name: "allow_missing with an expired token", headers: get("/public/x", auth(expired)), want: Deny, err: verifier.ErrExpired},
		{name: "allow_missing with garbage", headers: get("/public/x", auth("Bearer junk")), want: Deny, err: verifier.ErrMalformed},
		{name: "allow_missing with two tokens", headers: get("/public/x?access_token=x", auth(good)), want: Deny, err: ErrMultipleTokens},
		{name: "allow_missing, unknown issuer", headers: get("/public/x", auth("Bearer "+tokenA(`{"iss":"https://evil.example","exp":9999999999}`))), want: Deny, err: verifier.ErrIssuer},
		{name: "allow_missing, Basic is no token", headers: get("/public/x", auth("Basic eDp5")), want: Allow},
		// allow_missing_or_failed.
		{name: "allow_missing_or_failed without token", headers: get("/optional/x"), want: Allow},
		{name: "allow_missing_or_failed valid", headers: get("/optional/x", auth(good)), want: Allow, claims: true, remove: true},
		{name: "allow_missing_or_failed expired", headers: get("/optional/x", auth(expired)), want: Allow, err: verifier.ErrExpired, remove: true},
		{name: "allow_missing_or_failed garbage", headers: get("/optional/x", auth("Bearer junk")), want: Allow, err: verifier.ErrMalformed, remove: true},
		{name: "allow_missing_or_failed two tokens", headers: get("/optional/x?jwt=x", auth(good)), want: Allow, err: ErrMultipleTokens, remove: true},
		// required, restricted to issuer B, regex match.
		// Only the places of the rule's issuers are looked at.
		{name: "issuer B required, A's token", headers: get("/admin/7", auth(good)), want: Deny, err: ErrNoToken},
		{name: "issuer B required, A's token in B's place", headers: get("/admin/7", [2]string{"x-token", strings.TrimPrefix(good, "Bearer ")}), want: Deny, err: verifier.ErrIssuer},
		{name: "issuer B required, B's token", headers: get("/admin/7", [2]string{"x-token", tokenB("bob")}), want: Allow, claims: true, remove: true},
		{name: "issuer B required, B's cookie", headers: get("/admin/7", [2]string{"cookie", "b_session=" + tokenB("bob")}), want: Allow, claims: true, remove: true},
		{name: "issuer B required, A's places are not looked at", headers: get("/admin/7?access_token=x", [2]string{"x-token", tokenB("bob")}), want: Allow, claims: true, remove: true},
		{name: "issuer B required, nothing", headers: get("/admin/7"), want: Deny, err: ErrNoToken},
		{name: "regex is anchored", headers: get("/admin/7/x", auth(good)), want: Allow, claims: true, remove: true},
		{name: "regex unmatched is the default", headers: get("/admin/x"), want: Deny, err: ErrNoToken},
		// method match.
		{name: "POST needs a token", headers: withMethod("POST", get("/write/x")), want: Deny, err: ErrNoToken},
		{name: "PUT with a token", headers: withMethod("PUT", get("/write/x", auth(good))), want: Allow, claims: true, remove: true},
		{name: "GET falls to the bypass", headers: get("/write/x"), want: Allow},
		// CORS preflight.
		{name: "preflight", headers: withMethod("OPTIONS", get("/anything", preflight...)), want: Allow},
		{name: "OPTIONS without Access-Control-Request-Method", headers: withMethod("OPTIONS", get("/anything", preflight[0])), want: Deny, err: ErrNoToken},
		{name: "OPTIONS without Origin", headers: withMethod("OPTIONS", get("/anything", preflight[1])), want: Deny, err: ErrNoToken},
		{name: "preflight headers on a GET", headers: get("/anything", preflight...), want: Deny, err: ErrNoToken},
		{name: "preflight with empty Origin", headers: withMethod("OPTIONS", get("/anything", [2]string{"origin", ""}, preflight[1])), want: Deny, err: ErrNoToken},
		// No rule matches: a token is required.
		{name: "default without token", headers: get("/other"), want: Deny, err: ErrNoToken},
		{name: "default with a token", headers: get("/other", auth(good)), want: Allow, claims: true, remove: true},
		{name: "default accepts B too", headers: get("/other", [2]string{"x-token", tokenB("bob")}), want: Allow, claims: true, remove: true},
		{name: "no :path", headers: [][2]string{{":method", "CONNECT"}, {":authority", "h:443"}}, want: Deny, err: ErrNoToken},
		// Paths not in normal form are refused whatever rule they look like.
		{name: "dot-dot out of a bypass", headers: get("/healthz/../admin/7"), want: Deny, err: ErrPathNotNormal},
		{name: "dot-dot-semicolon", headers: get("/public/..;/admin/7"), want: Deny, err: ErrPathNotNormal},
		{name: "double slash", headers: get("//healthz"), want: Deny, err: ErrPathNotNormal},
		{name: "encoded letter", headers: get("/heal%74hz"), want: Deny, err: ErrPathNotNormal},
		{name: "encoded slash between dots", headers: get("/public/%2E%2E%2Fadmin/7"), want: Deny, err: ErrPathNotNormal},
		{name: "dots after an encoded slash", headers: get("/public%2F..%2Fadmin/7"), want: Deny, err: ErrPathNotNormal},
		{name: "backslash", headers: get("/public\\..\\admin/7"), want: Deny, err: ErrPathNotNormal},
		{name: "asterisk form", headers: withMethod("OPTIONS", get("*")), want: Deny, err: ErrPathNotNormal},
		{name: "dots in the query are fine", headers: get("/healthz?next=/../x//y"), want: Allow},
		{name: "a parameter into a bypass", headers: get("/;/healthz"), want: Deny, err: ErrPathNotNormal},
		{name: "a parameter after a protected path", headers: withMethod("POST", get("/write/x;y")), want: Deny, err: ErrPathNotNormal},
		{name: "fullwidth dots under allow_missing", headers: get("/public/%ef%bc%8e%ef%bc%8e/admin/7"), want: Deny, err: ErrPathNotNormal},
		// Method overrides are refused where rules decide by method.
		{name: "GET overridden to POST", headers: get("/write/x", [2]string{"x-http-method-override", "POST"}), want: Deny, err: ErrMethodOverride},
		{name: "X-HTTP-Method", headers: get("/write/x", [2]string{"x-http-method", "PUT"}), want: Deny, err: ErrMethodOverride},
		{name: "X-Method-Override", headers: get("/write/x", [2]string{"x-method-override", "DELETE"}), want: Deny, err: ErrMethodOverride},
		{name: "_method parameter", headers: get("/write/x?_method=POST"), want: Deny, err: ErrMethodOverride},
		{name: "_method parameter, encoded name", headers: get("/write/x?%5Fmethod=POST"), want: Deny, err: ErrMethodOverride},
		{name: "an override even under a bypass", headers: get("/healthz", [2]string{"x-http-method-override", "DELETE"}), want: Deny, err: ErrMethodOverride},
		{name: "_method only as a parameter name", headers: get("/healthz?x=_method"), want: Allow},
		// A preflight is bypassed only as what a browser sends.
		{name: "preflight with a body", headers: withMethod("OPTIONS", get("/anything", append(preflight, [2]string{"content-length", "12"})...)), want: Deny, err: ErrNoToken},
		{name: "preflight with chunked body", headers: withMethod("OPTIONS", get("/anything", append(preflight, [2]string{"transfer-encoding", "chunked"})...)), want: Deny, err: ErrNoToken},
		{name: "preflight with content-length 0", headers: withMethod("OPTIONS", get("/anything", append(preflight, [2]string{"content-length", "0"})...)), want: Allow},
		{name: "preflight with a method override", headers: withMethod("OPTIONS", get("/anything", append(preflight, [2]string{"x-http-method-override", "POST"})...)), want: Deny, err: ErrMethodOverride},
		{name: "preflight to a path not in normal form", headers: withMethod("OPTIONS", get("/x/../admin/7", preflight...)), want: Deny, err: ErrPathNotNormal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := a.Authenticate(tc.headers, keys)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %v (err %v), want %v", d.Outcome, d.Err, tc.want)
			}
			if tc.err != nil && !errors.Is(d.Err, tc.err) {
				t.Errorf("err %v, want %v", d.Err, tc.err)
			}
			if tc.want == Deny {
				status := uint32(401)
				if tc.err == ErrPathNotNormal || tc.err == ErrMethodOverride {
					status = 400
				}
				if d.Response == nil || d.Response.Status != status {
					t.Errorf("response %+v, want %d", d.Response, status)
				}
				return
			}
			if tc.err == nil && d.Err != nil {
				t.Errorf("err %v on a clean allow", d.Err)
			}
			set := setMap(d)
			claims := set["x-sub"] != "" || set["x-sub-b"] != ""
			if claims != tc.claims {
				t.Errorf("claims set: %v, want %v (%q)", claims, tc.claims, d.Set)
			}
			removed := len(d.Remove) > 0 || set[":path"] != ""
			if removed != tc.remove {
				t.Errorf("token removed: %v, want %v (Remove %q, Set %q)", removed, tc.remove, d.Remove, d.Set)
			}
		})
	}
}

func TestNoRulesIgnoresThePath(t *testing.T) {
	a := authWith(t, `{`+twoIssuers+`}`)
	keys := keySets(t)
	// Without rules the path does not matter, so it is not judged either.
	for _, p := range []string{"/healthz", "//x/../y", "*"} {
		if d := a.Authenticate(get(p), keys); d.Outcome != Deny || !errors.Is(d.Err, ErrNoToken) {
			t.Errorf("%s: %v %v", p, d.Outcome, d.Err)
		}
	}
	// Nor are method overrides: every request needs a token anyway.
	if d := a.Authenticate(get("/x", [2]string{"x-http-method-override", "DELETE"}), keys); d.Outcome != Deny || !errors.Is(d.Err, ErrNoToken) {
		t.Errorf("override without rules: %v %v", d.Outcome, d.Err)
	}
	// Nor is a CORS preflight special unless bypassCorsPreflight is set.
	if d := a.Authenticate(withMethod("OPTIONS", get("/", [2]string{"origin", "o"}, [2]string{"access-control-request-method", "GET"})), keys); d.Outcome != Deny {
		t.Errorf("preflight without bypassCorsPreflight: %v", d.Outcome)
	}
}

func TestAllowMissingOrFailedForwardOriginal(t *testing.T) {
	a := authWith(t, `{"jwtRules":[{"issuer":"`+issA+`","jwksUri":"https://a.example/jwks","forwardOriginalToken":true}],
	  "rules":[{"match":{"prefix":"/"},"requirement":"allow_missing_or_failed"}]}`)
	keys := keySets(t)
	expired := tokenA(fmt.Sprintf(`{"iss":%q,"exp":%d}`, issA, time.Now().Add(-time.Hour).Unix()))
	// A known issuer that forwards its tokens keeps a failed one too.
	d := a.Authenticate(get("/x?access_token="+expired), keys)
	if d.Outcome != Allow || len(d.Remove)+len(d.Set) != 0 || !errors.Is(d.Err, verifier.ErrExpired) {
		t.Errorf("expired token of a forwarding issuer: %+v", d)
	}
	// A token of no known issuer is removed.
	d = a.Authenticate(get("/x?access_token=junk&a=b"), keys)
	if d.Outcome != Allow || setMap(d)[":path"] != "/x?a=b" {
		t.Errorf("junk token: %+v", d)
	}
}

func TestWaitFallback(t *testing.T) {
	a := authWith(t, rulesDoc)
	none := func(int) verifier.KeySource { return nil }
	tok := "Bearer " + tokenA(claimsA(""))
	d := a.Authenticate(get("/optional/x", [2]string{"authorization", tok}), none)
	if d.Outcome != Wait || d.Fallback == nil {
		t.Fatalf("allow_missing_or_failed without keys: %+v", d)
	}
	fb := a.KeysMissing(d)
	if fb.Outcome != Allow || !fb.KeysUnavailable() || !reflect.DeepEqual(fb.Remove, []string{"authorization"}) || len(fb.Set) != 0 {
		t.Errorf("fallback %+v", fb)
	}
	d = a.Authenticate(get("/public/x", [2]string{"authorization", tok}), none)
	if d.Outcome != Wait || d.Fallback != nil {
		t.Fatalf("allow_missing without keys: %+v", d)
	}
	if u := a.KeysMissing(d); u.Outcome != Deny || u.Response.Status != 503 || !u.KeysUnavailable() {
		t.Errorf("allow_missing without keys in time: %+v", u)
	}
}

func TestNormalPath(t *testing.T) {
	good := []string{"/", "/a", "/a/", "/a/b.c", "/a/.b", "/a/b..", "/a/...", "/a%20b", "/files/a%2Fb", "/%C3%A9", "/%25",
		"/100%25", "/%25zz", "/caf%C3%A9/men%C3%BC", "/%E2%82%AC", "/%F0%9F%98%80", "/a%22b", "/%2B"}
	bad := []string{"", "a", "*", "//", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/..", "/.", "/a/..;x/b", "/a/.;/b",
		"/a%2F%2Fb", "/a%2F..%2Fb", "/a%5C..%5Cb", "/a%2e%2e/b", "/%61", "/a%7E", "/a%2D", "/a%5F", "/a%", "/a%2", "/a%zz", "/a\\b", "/a/%2F/b",
		// Path parameters: Tomcat, Jetty and Spring drop them.
		"/a;b/c", "/a/b;c=d", "/;/admin", "/;x=1/admin", "/api/v1/orders;x", "/a%3Bb", "/a%3bb", "/public/..%3b/admin",
		// Control characters, raw or escaped; raw bytes beyond ASCII.
		"/a%00", "/a%00/b", "/a%0a", "/a%7F", "/a\x00b", "/a\tb", "/a\x7fb", "/caf\xc3\xa9",
		// Double encoding.
		"/%252e%252e/admin", "/a%252Fb", "/%255c",
		// Overlong and other invalid UTF-8.
		"/%c0%ae%c0%ae/admin", "/%c0%af", "/%e0%80%ae", "/%C3", "/%C3%28", "/%80", "/%ED%A0%80", "/%F8%88%80%80%80",
		// Fullwidth and leader dots, look-alike slashes.
		"/public/%ef%bc%8e%ef%bc%8e/admin", "/public/%E2%80%A5/admin", "/public/%e2%80%a4%e2%80%a4/admin", "/a%e2%80%a6",
		"/public%ef%bc%8f..%ef%bc%8fadmin", "/a%e2%88%95b", "/a%ef%bc%bcb", "/a%E3%80%82"}
	for _, p := range good {
		if !normalPath(p) {
			t.Errorf("normalPath(%q) = false", p)
		}
	}
	for _, p := range bad {
		if normalPath(p) {
			t.Errorf("normalPath(%q) = true", p)
		}
	}
}

func TestStripFailureResponse(t *testing.T) {
	a := authWith(t, `{"jwtRules":[{"issuer":"`+issA+`","jwksUri":"https://a.example/jwks"}],"stripFailureResponse":true,
	  "rules":[{"match":{"prefix":"/"},"requirement":"required"}]}`)
	keys := keySets(t)
	check := func(name string, r *Response, status uint32, challenge string) {
		t.Helper()
		if r.Status != status || len(r.Body) != 0 {
			t.Errorf("%s: status %d body %q", name, r.Status, r.Body)
		}
		var got []string
		for _, h := range r.Headers {
			got = append(got, h[0]+": "+h[1])
		}
		want := []string(nil)
		if challenge != "" {
			want = []string{"www-authenticate: " + challenge}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: headers %q, want %q", name, got, want)
		}
	}
	check("missing", a.Authenticate(get("/"), keys).Response, 401, `Bearer realm="edgejwt"`)
	check("invalid", a.Authenticate(get("/", [2]string{"authorization", "Bearer junk"}), keys).Response, 401, `Bearer realm="edgejwt", error="invalid_token"`)
	check("bad path", a.Authenticate(get("//"), keys).Response, 400, "")
	check("unavailable", a.Unavailable(0).Response, 503, "")
	check("internal", a.Internal().Response, 500, "")

	// Without the option the answers keep their bodies.
	b := authWith(t, `{"jwtRules":[{"issuer":"`+issA+`","jwksUri":"https://a.example/jwks"}],"rules":[{"match":{"prefix":"/"},"requirement":"required"}]}`)
	if r := b.Authenticate(get("//"), keys).Response; r.Status != 400 || string(r.Body) != `{"error":"Bad request","details":"path not in normal form"}` {
		t.Errorf("bad path: %d %s", r.Status, r.Body)
	}
	if r := b.Internal().Response; r.Status != 500 || string(r.Body) != `{"error":"Internal error"}` {
		t.Errorf("internal: %d %s", r.Status, r.Body)
	}
}

func TestClaimOutputs(t *testing.T) {
	a := authWith(t, `{"jwtRules":[{"issuer":"`+issA+`","jwksUri":"https://a.example/jwks",
	  "outputPayloadToFilterState":"edgejwt_payload",
	  "outputClaimToHeaders":[
	    {"header":"x-ns","claim":"kubernetes\\.io.namespace"},
	    {"header":"x-roles","claim":"urn:zitadel:iam:org:project:roles"},
	    {"header":"x-star","claim":"*"},
	    {"header":"x-count","claim":"roles.#"},
	    {"header":"x-first","claim":"roles.0"}]}]}`)
	payload := claimsA(`,"kubernetes.io":{"namespace":"prod"},"urn:zitadel:iam:org:project:roles":["a","b"],"roles":["r0","r1"]`)
	d := a.Authenticate(get("/", [2]string{"authorization", "Bearer " + tokenA(payload)}), keySets(t))
	if d.Outcome != Allow {
		t.Fatalf("%v %v", d.Outcome, d.Err)
	}
	want := map[string]string{"x-ns": "prod", "x-roles": "a,b", "x-first": "r0"}
	if got := setMap(d); !reflect.DeepEqual(got, want) {
		t.Errorf("Set %q, want %q", got, want)
	}
	if !reflect.DeepEqual(d.FilterState, [][2]string{{"edgejwt_payload", payload}}) {
		t.Errorf("FilterState %q", d.FilterState)
	}
	if !strings.Contains(payload, `"roles":["r0","r1"]`) {
		t.Fatal("fixture")
	}
}

func TestOutputCannotBeCookie(t *testing.T) {
	cfg, err := config.Parse([]byte(`{"jwtRules":[{"issuer":"i","jwksUri":"http://h/j","outputPayloadToHeader":"cookie"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(cfg); err == nil {
		t.Fatal("the cookie header accepted as an output")
	}
}

// TestRequestPathAllocations: choosing the rule and finding the token
// allocate nothing (no regex compiled, no configuration re-read, no copy of
// the request); only removing a token from the query or the cookies does.
func TestRequestPathAllocations(t *testing.T) {
	a := authWith(t, rulesDoc)
	tok := tokenA(claimsA(""))
	for name, h := range map[string][][2]string{
		"header token, prefix rule": get("/public/x?q=1", [2]string{"authorization", "Bearer " + tok}, [2]string{"accept", "*/*"}),
		"regex rule":                get("/admin/12345", [2]string{"x-token", tok}),
		"cookie":                    get("/other", [2]string{"cookie", "a=1; session=" + tok + "; b=2"}),
		"query":                     get("/other?a=1&access_token=" + tok),
		"bad path":                  get("/public/../admin/1"),
		"preflight":                 withMethod("OPTIONS", get("/x", [2]string{"origin", "o"}, [2]string{"access-control-request-method", "GET"})),
	} {
		n := testing.AllocsPerRun(50, func() {
			r := readRequest(h, true)
			if want, _ := a.choose(&r); want != nil && want.ext != nil {
				_ = want.ext.extract(&r, false)
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

// required_all: a token of each listed issuer, each from that issuer's own
// header; the outputs and removals of both apply.
func TestRequiredAll(t *testing.T) {
	a := authWith(t, `{"rules":[{"match":{"prefix":"/"},"requirement":"required_all","issuers":["`+issA+`","`+issB+`"]}],
	  "jwtRules":[{"issuer":"`+issA+`","jwksUri":"https://a.example/jwks","fromHeaders":[{"name":"Authorization","prefix":"Bearer "}],
	    "outputClaimToHeaders":[{"header":"x-sub","claim":"sub"}]},
	  {"issuer":"`+issB+`","jwksUri":"https://b.example/jwks","algorithms":["ES256"],"outputClaimToHeaders":[{"header":"x-sub-b","claim":"sub"}],
	    "fromHeaders":[{"name":"x-token","prefix":""}]}]}`)
	keys := keySets(t)
	tokA := "Bearer " + tokenA(claimsA(""))
	expiredA := "Bearer " + tokenA(fmt.Sprintf(`{"iss":%q,"aud":"api","exp":%d}`, issA, time.Now().Add(-time.Hour).Unix()))
	tests := []struct {
		name    string
		headers [][2]string
		want    Outcome
		err     error
	}{
		{"both", get("/x", [2]string{"authorization", tokA}, [2]string{"x-token", tokenB("bob")}), Allow, nil},
		{"only A", get("/x", [2]string{"authorization", tokA}), Deny, ErrNoToken},
		{"only B", get("/x", [2]string{"x-token", tokenB("bob")}), Deny, ErrNoToken},
		{"A expired", get("/x", [2]string{"authorization", expiredA}, [2]string{"x-token", tokenB("bob")}), Deny, verifier.ErrExpired},
		{"A's token in B's header", get("/x", [2]string{"authorization", tokA}, [2]string{"x-token", tokenA(claimsA(""))}), Deny, verifier.ErrIssuer},
		{"two tokens for A", get("/x", [2]string{"authorization", tokA}, [2]string{"authorization", tokA}, [2]string{"x-token", tokenB("bob")}), Deny, ErrMultipleTokens},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := a.Authenticate(tt.headers, keys)
			if d.Outcome != tt.want || !errors.Is(d.Err, tt.err) || (tt.err == nil && d.Err != nil) {
				t.Fatalf("got %v %v, want %v %v", d.Outcome, d.Err, tt.want, tt.err)
			}
			if d.Outcome != Allow {
				return
			}
			set := setMap(d)
			if set["x-sub"] != "alice" || set["x-sub-b"] != "bob" {
				t.Errorf("claims of both issuers expected: %v", set)
			}
			if !reflect.DeepEqual(d.Remove, []string{"authorization", "x-token"}) {
				t.Errorf("Remove = %v", d.Remove)
			}
		})
	}
	// Keys of B not loaded yet: the request waits for them.
	noB := func(rule int) verifier.KeySource {
		if rule == 1 {
			return nil
		}
		return keys(rule)
	}
	if d := a.Authenticate(tests[0].headers, noB); d.Outcome != Wait || d.Rule != 1 {
		t.Errorf("without B's keys: %+v", d)
	}
}

func TestRequiredAllConfiguration(t *testing.T) {
	for name, tc := range map[string]struct{ doc, field string }{
		"one issuer": {`{"rules":[{"match":{"prefix":"/"},"requirement":"required_all","issuers":["` + issA + `"]}],` + twoIssuers + `}`, "rules[0].issuers"},
		"shared header": {`{"rules":[{"match":{"prefix":"/"},"requirement":"required_all","issuers":["` + issA + `","` + issB + `"]}],"jwtRules":[
		  {"issuer":"` + issA + `","jwksUri":"https://a.example/jwks","fromHeaders":[{"name":"x-token","prefix":""}]},
		  {"issuer":"` + issB + `","jwksUri":"https://b.example/jwks","fromHeaders":[{"name":"x-token","prefix":""}]}]}`, "rules[0].issuers"},
		"query source": {`{"rules":[{"match":{"prefix":"/"},"requirement":"required_all","issuers":["` + issA + `","` + issB + `"]}],` + twoIssuers + `}`, "rules[0].issuers"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.doc))
			if err == nil {
				_, err = New(cfg)
			}
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("err = %v, want a config error on %s", err, tc.field)
			}
		})
	}
}
