package authn

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/jwkscache"
	"github.com/edgejwt/edgejwt/verifier"
)

const (
	issA = "https://a.example"
	issB = "https://b.example"
)

func testConfig(t *testing.T, extraRuleA string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`{"jwtRules":[
	  {"issuer":"` + issA + `","audiences":["api"],"jwksUri":"https://a.example/jwks",
	   "outputPayloadToHeader":"x-jwt-payload",
	   "outputClaimToHeaders":[{"header":"x-sub","claim":"sub"},{"header":"x-roles","claim":"roles"},
	     {"header":"x-level","claim":"level"},{"header":"x-admin","claim":"admin"},{"header":"x-org","claim":"org"},
	     {"header":"x-nested","claim":"org.name"},{"header":"x-bad","claim":"bad"},{"header":"x-mixed","claim":"mixed"}]` + extraRuleA + `},
	  {"issuer":"` + issB + `","jwksUri":"https://b.example/jwks","fromHeaders":[{"name":"x-token","prefix":""}],
	   "algorithms":["ES256"]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newAuth(t *testing.T, extraRuleA string) *Authenticator {
	t.Helper()
	a, err := New(testConfig(t, extraRuleA))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func keySets(t testing.TB) KeysFunc {
	t.Helper()
	k := testkeys.Get()
	a, _, err := jwkscache.Parse([]byte(testkeys.JWKS(testkeys.JWK("a1", k.Public("RS256"), ""))))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := jwkscache.Parse([]byte(testkeys.JWKS(testkeys.JWK("b1", k.Public("ES256"), ""))))
	if err != nil {
		t.Fatal(err)
	}
	return func(rule int) verifier.KeySource { return []verifier.KeySource{a, b}[rule] }
}

func tokenA(claims string) string {
	return testkeys.Get().Token("RS256", `{"alg":"RS256","kid":"a1"}`, claims)
}

func claimsA(extra string) string {
	return fmt.Sprintf(`{"iss":%q,"aud":"api","sub":"alice","exp":%d%s}`, issA, time.Now().Add(time.Hour).Unix(), extra)
}

func TestAuthenticate(t *testing.T) {
	k := testkeys.Get()
	good := tokenA(claimsA(""))
	tokB := k.Token("ES256", `{"alg":"ES256","kid":"b1"}`, fmt.Sprintf(`{"iss":%q,"exp":%d}`, issB, time.Now().Add(time.Hour).Unix()))
	tests := []struct {
		name    string
		headers [][2]string
		want    Outcome
		err     error // for Deny
		rule    int
	}{
		{"valid", [][2]string{{"authorization", "Bearer " + good}}, Allow, nil, 0},
		{"scheme in lower case, two spaces", [][2]string{{"authorization", "bearer  " + good}}, Allow, nil, 0},
		{"scheme in upper case", [][2]string{{"authorization", "BEARER " + good}}, Allow, nil, 0},
		// RFC 9110 section 11.4: scheme 1*SP credentials. Other whitespace
		// after the scheme is a malformed credential, never "no token".
		{"tab after the scheme", [][2]string{{"authorization", "Bearer\t" + good}}, Deny, verifier.ErrMalformed, -1},
		{"space then tab", [][2]string{{"authorization", "Bearer \t" + good}}, Deny, verifier.ErrMalformed, -1},
		{"vertical tab after the scheme", [][2]string{{"authorization", "Bearer\v" + good}}, Deny, verifier.ErrMalformed, -1},
		{"form feed after the scheme", [][2]string{{"authorization", "bearer\f" + good}}, Deny, verifier.ErrMalformed, -1},
		{"no header", [][2]string{{"accept", "*/*"}}, Deny, ErrNoToken, -1},
		{"basic scheme", [][2]string{{"authorization", "Basic dXNlcjpwYXNz"}}, Deny, ErrNoToken, -1},
		{"scheme without space", [][2]string{{"authorization", "Bearer" + good}}, Deny, ErrNoToken, -1},
		{"empty token", [][2]string{{"authorization", "Bearer   "}}, Deny, verifier.ErrMalformed, -1},
		{"two headers", [][2]string{{"authorization", "Bearer " + good}, {"authorization", "Bearer " + good}}, Deny, ErrMultipleTokens, -1},
		{"joined by envoy", [][2]string{{"authorization", "Bearer " + good + ",Bearer " + good}}, Deny, ErrMultipleTokens, -1},
		{"two words", [][2]string{{"authorization", "Bearer " + good + " " + good}}, Deny, ErrMultipleTokens, -1},
		{"two sources", [][2]string{{"authorization", "Bearer " + good}, {"x-token", tokB}}, Deny, ErrMultipleTokens, -1},
		{"garbage", [][2]string{{"authorization", "Bearer abc"}}, Deny, verifier.ErrMalformed, -1},
		{"unknown issuer", [][2]string{{"authorization", "Bearer " + tokenA(`{"iss":"https://evil.example","aud":"api","exp":9999999999}`)}}, Deny, verifier.ErrIssuer, -1},
		{"issuer from a header it does not use", [][2]string{{"x-token", good}}, Deny, verifier.ErrIssuer, -1},
		{"second issuer", [][2]string{{"x-token", tokB}}, Allow, nil, 1},
		{"second issuer from the first's header", [][2]string{{"authorization", "Bearer " + tokB}}, Deny, verifier.ErrIssuer, -1},
		{"wrong audience", [][2]string{{"authorization", "Bearer " + tokenA(strings.Replace(claimsA(""), `"api"`, `"other"`, 1))}}, Deny, verifier.ErrAudience, 0},
		{"expired", [][2]string{{"authorization", "Bearer " + tokenA(fmt.Sprintf(`{"iss":%q,"aud":"api","exp":%d}`, issA, time.Now().Add(-time.Hour).Unix()))}}, Deny, verifier.ErrExpired, 0},
		{"unknown kid", [][2]string{{"authorization", "Bearer " + k.Token("RS256", `{"alg":"RS256","kid":"zz"}`, claimsA(""))}}, Deny, verifier.ErrUnknownKID, 0},
		{"RS256 for an ES256-only issuer", [][2]string{{"x-token", k.Token("RS256", `{"alg":"RS256"}`, fmt.Sprintf(`{"iss":%q,"exp":9999999999}`, issB))}}, Deny, verifier.ErrUnsupportedAlg, 1},
	}
	a := newAuth(t, "")
	keys := keySets(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := a.Authenticate(tt.headers, keys)
			if d.Outcome != tt.want {
				t.Fatalf("outcome = %v (err %v), want %v", d.Outcome, d.Err, tt.want)
			}
			if d.Rule != tt.rule {
				t.Errorf("rule = %d, want %d", d.Rule, tt.rule)
			}
			if tt.want != Deny {
				return
			}
			if !errors.Is(d.Err, tt.err) {
				t.Errorf("err = %v, want %v", d.Err, tt.err)
			}
			if d.Response == nil || d.Response.Status != 401 {
				t.Fatalf("response = %+v", d.Response)
			}
		})
	}
}

func TestAllowForwardsClaims(t *testing.T) {
	a := newAuth(t, "")
	payload := claimsA(`,"roles":["admin","reader"],"level":3.5,"admin":true,"org":{"name":"acme","id":7},` +
		`"bad":"line\nbreak","mixed":["a",1]`)
	tok := tokenA(payload)
	d := a.Authenticate([][2]string{{"authorization", "Bearer " + tok}}, keySets(t))
	if d.Outcome != Allow {
		t.Fatalf("outcome %v: %v", d.Outcome, d.Err)
	}
	if !reflect.DeepEqual(d.Remove, []string{"authorization"}) {
		t.Errorf("Remove = %v", d.Remove)
	}
	got := map[string]string{}
	for _, kv := range d.Set {
		got[kv[0]] = kv[1]
	}
	want := map[string]string{
		"x-jwt-payload": base64.RawURLEncoding.EncodeToString([]byte(payload)),
		"x-sub":         "alice",
		"x-roles":       "admin,reader",
		"x-level":       "3.5",
		"x-admin":       "true",
		"x-org":         `{"name":"acme","id":7}`,
		"x-nested":      "acme",
		"x-mixed":       `["a",1]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Set:\ngot  %v\nwant %v", got, want)
	}
}

func TestForwardOriginalToken(t *testing.T) {
	a := newAuth(t, `,"forwardOriginalToken":true`)
	d := a.Authenticate([][2]string{{"authorization", "Bearer " + tokenA(claimsA(""))}}, keySets(t))
	if d.Outcome != Allow || len(d.Remove) != 0 {
		t.Fatalf("outcome %v, remove %v", d.Outcome, d.Remove)
	}
}

func TestWaitWhileNoKeys(t *testing.T) {
	a := newAuth(t, "")
	none := func(int) verifier.KeySource { return nil }
	d := a.Authenticate([][2]string{{"authorization", "Bearer " + tokenA(claimsA(""))}}, none)
	if d.Outcome != Wait || d.Rule != 0 {
		t.Fatalf("got %+v", d)
	}
	// A request that can be refused without keys is refused at once.
	d = a.Authenticate([][2]string{{"authorization", "Bearer junk"}}, none)
	if d.Outcome != Deny {
		t.Fatalf("got %+v", d)
	}
	u := a.Unavailable(0)
	if u.Outcome != Deny || u.Response.Status != 503 || string(u.Response.Body) != `{"error":"Authentication unavailable","details":"signing keys not available"}` {
		t.Fatalf("unavailable: %+v %s", u, u.Response.Body)
	}
}

func TestResponses(t *testing.T) {
	a := newAuth(t, "")
	header := func(r *Response, name string) string {
		for _, kv := range r.Headers {
			if kv[0] == name {
				return kv[1]
			}
		}
		return ""
	}
	missing := a.Authenticate(nil, keySets(t)).Response
	if string(missing.Body) != `{"error":"No token provided"}` || header(missing, "www-authenticate") != `Bearer realm="edgejwt"` {
		t.Errorf("missing: %s / %q", missing.Body, header(missing, "www-authenticate"))
	}
	expired := a.deny(0, fmt.Errorf("%w: at 12:00", verifier.ErrExpired)).Response
	if string(expired.Body) != `{"error":"Invalid token","details":"token expired"}` {
		t.Errorf("expired body: %s", expired.Body)
	}
	if h := header(expired, "www-authenticate"); h != `Bearer realm="edgejwt", error="invalid_token", error_description="token expired"` {
		t.Errorf("expired challenge: %s", h)
	}
	if header(expired, "content-type") != "application/json" {
		t.Error("no content-type")
	}
	if again := a.deny(0, verifier.ErrExpired).Response; again != expired {
		t.Error("responses are rebuilt per request")
	}
	if jsonString("a\"b\\c\n") != `"a\"b\\c\u000a"` {
		t.Errorf("jsonString: %s", jsonString("a\"b\\c\n"))
	}
}

func TestStripListsEveryOutputHeader(t *testing.T) {
	a := newAuth(t, "")
	want := []string{"x-jwt-payload", "x-sub", "x-roles", "x-level", "x-admin", "x-org", "x-nested", "x-bad", "x-mixed"}
	if !reflect.DeepEqual(a.Strip(), want) {
		t.Fatalf("Strip() = %v", a.Strip())
	}
}

func TestNewRefusesAnOutputThatIsASource(t *testing.T) {
	cfg := testConfig(t, `,"fromHeaders":[{"name":"x-sub","prefix":""}]`)
	_, err := New(cfg)
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "x-sub") {
		t.Fatalf("err = %v", err)
	}
}

// TestLookAlikes: a client-sent output header is removed under every name an
// upstream may read as it.
func TestLookAlikes(t *testing.T) {
	a := newAuth(t, "")
	if len(a.Strip()) == 0 {
		t.Fatal("the test configuration has no output headers")
	}
	out := a.Strip()[0] // e.g. x-jwt-sub
	under := strings.ReplaceAll(out, "-", "_")
	mixed := strings.ToUpper(out[:1]) + out[1:]
	half := strings.Replace(out, "-", "_", 1)
	headers := [][2]string{
		{":path", "/"}, {out, "forged"}, {under, "forged"}, {mixed, "forged"}, {half, "forged"},
		{under, "twice"}, {"x-other", "kept"}, {out + "s", "kept"}, {"authorization", "Bearer x"},
	}
	got := a.LookAlikes(headers, nil)
	want := []string{out, under, mixed, half}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("LookAlikes = %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { got = a.LookAlikes(headers, got[:0]) }); n != 0 {
		t.Errorf("LookAlikes allocates %v times with room in dst", n)
	}
}
