package verifier

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

func TestClaims(t *testing.T) {
	const now = testNowUnix
	n := func(d int64) string { return fmt.Sprint(now + d) } // now+d seconds as JSON
	future := `"exp":` + n(3600)

	tests := []struct {
		name    string
		payload string
		opts    func(*Options)
		want    error
	}{
		{name: "valid", payload: validPayload},

		// exp, with the default 60s skew.
		{name: "exp long past", payload: rawClaims(`"exp":` + n(-3600)), want: ErrExpired},
		{name: "exp 61s ago", payload: rawClaims(`"exp":` + n(-61)), want: ErrExpired},
		{name: "exp 60s ago is within skew", payload: rawClaims(`"exp":` + n(-60))},
		{name: "exp now", payload: rawClaims(`"exp":` + n(0))},
		{name: "exp fractional just inside skew", payload: rawClaims(`"exp":` + n(-60) + `.0001`)},
		{name: "exp fractional just outside skew", payload: rawClaims(`"exp":` + n(-61) + `.9999`), want: ErrExpired},
		{name: "exp in exponent form", payload: rawClaims(`"exp":1.7000036e9`)},
		// NumericDates beyond year 9999 (or before year 1) or not finite
		// are invalid claims: 1e400 reads as +Inf, a token that would never
		// expire.
		{name: "exp at the end of year 9999", payload: rawClaims(`"exp":253402300799`)},
		{name: "exp a second after year 9999", payload: rawClaims(`"exp":253402300800`), want: ErrBadClaim},
		{name: "exp huge", payload: rawClaims(`"exp":1e300`), want: ErrBadClaim},
		{name: "exp beyond float64", payload: rawClaims(`"exp":1e400`), want: ErrBadClaim},
		{name: "exp beyond int64", payload: rawClaims(`"exp":18446744073709551616`), want: ErrBadClaim},
		{name: "exp hugely negative", payload: rawClaims(`"exp":-1e300`), want: ErrBadClaim},
		{name: "exp beyond float64, negative", payload: rawClaims(`"exp":-1e400`), want: ErrBadClaim},
		{name: "exp at year 1", payload: rawClaims(`"exp":-62135596800`), want: ErrExpired},
		{name: "nbf beyond float64, negative", payload: rawClaims(`"exp":` + n(3600) + `,"nbf":-1e400`), want: ErrBadClaim},
		{name: "iat beyond float64, negative", payload: rawClaims(`"exp":` + n(3600) + `,"iat":-1e400`), want: ErrBadClaim},
		{name: "iat after year 9999", payload: rawClaims(`"exp":` + n(3600) + `,"iat":3e11`), want: ErrBadClaim},
		{name: "exp zero", payload: rawClaims(`"exp":0`), want: ErrExpired},
		{name: "exp string", payload: rawClaims(`"exp":"` + n(3600) + `"`), want: ErrBadClaim},
		{name: "exp null", payload: rawClaims(`"exp":null`), want: ErrBadClaim},
		{name: "exp bool", payload: rawClaims(`"exp":true`), want: ErrBadClaim},
		{name: "exp array", payload: rawClaims(`"exp":[` + n(3600) + `]`), want: ErrBadClaim},
		{name: "exp missing", payload: rawClaims(`"sub":"a"`), want: ErrMissingExp},
		{name: "exp missing, not required", payload: rawClaims(`"sub":"a"`), opts: func(o *Options) { o.RequireExpiration = false }},
		{name: "exp upper case is not exp", payload: rawClaims(`"EXP":` + n(3600)), want: ErrMissingExp},
		{name: "exp escaped name", payload: rawClaims(`"e\u0078p":` + n(-3600)), want: ErrExpired},
		{name: "exp with custom skew", payload: rawClaims(`"exp":` + n(-6)), opts: func(o *Options) { o.ClockSkew = 5 * time.Second }, want: ErrExpired},
		{name: "exp within custom skew", payload: rawClaims(`"exp":` + n(-5)), opts: func(o *Options) { o.ClockSkew = 5 * time.Second }},
		{name: "exp 1ns skew", payload: rawClaims(`"exp":` + n(-1)), opts: func(o *Options) { o.ClockSkew = time.Nanosecond }, want: ErrExpired},

		// nbf.
		{name: "nbf past", payload: rawClaims(future + `,"nbf":` + n(-10))},
		{name: "nbf 60s ahead is within skew", payload: rawClaims(future + `,"nbf":` + n(60))},
		{name: "nbf 61s ahead", payload: rawClaims(future + `,"nbf":` + n(61)), want: ErrNotYetValid},
		{name: "nbf fractional just outside skew", payload: rawClaims(future + `,"nbf":` + n(60) + `.001`), want: ErrNotYetValid},
		{name: "nbf huge", payload: rawClaims(future + `,"nbf":1e300`), want: ErrBadClaim},
		{name: "nbf beyond float64", payload: rawClaims(future + `,"nbf":1e400`), want: ErrBadClaim},
		{name: "nbf beyond int64", payload: rawClaims(future + `,"nbf":9223372036854775808`), want: ErrBadClaim},
		{name: "nbf hugely negative", payload: rawClaims(future + `,"nbf":-1e300`), want: ErrBadClaim},
		{name: "nbf in year 9999", payload: rawClaims(future + `,"nbf":253402300799`), want: ErrNotYetValid},
		{name: "nbf string", payload: rawClaims(future + `,"nbf":"0"`), want: ErrBadClaim},
		{name: "nbf null", payload: rawClaims(future + `,"nbf":null`), want: ErrBadClaim},

		// iat.
		{name: "iat past", payload: rawClaims(future + `,"iat":` + n(-10))},
		{name: "iat 60s ahead is within skew", payload: rawClaims(future + `,"iat":` + n(60))},
		{name: "iat 61s ahead", payload: rawClaims(future + `,"iat":` + n(61)), want: ErrIssuedInFuture},
		{name: "iat huge", payload: rawClaims(future + `,"iat":1e300`), want: ErrBadClaim},
		{name: "iat in year 9999", payload: rawClaims(future + `,"iat":253402300799`), want: ErrIssuedInFuture},
		{name: "iat string", payload: rawClaims(future + `,"iat":"now"`), want: ErrBadClaim},

		// iss.
		{name: "iss mismatch", payload: `{"iss":"https://evil.example",` + future + `}`, want: ErrIssuer},
		{name: "iss trailing slash", payload: `{"iss":"https://issuer.example/",` + future + `}`, want: ErrIssuer},
		{name: "iss case differs", payload: `{"iss":"https://ISSUER.example",` + future + `}`, want: ErrIssuer},
		{name: "iss escaped is the same", payload: `{"iss":"https:\/\/issuer\u002eexample",` + future + `}`},
		{name: "iss missing", payload: `{` + future + `}`, want: ErrIssuer},
		{name: "iss number", payload: `{"iss":1,` + future + `}`, want: ErrBadClaim},
		{name: "iss array", payload: `{"iss":["https://issuer.example"],` + future + `}`, want: ErrBadClaim},
		{name: "iss null", payload: `{"iss":null,` + future + `}`, want: ErrBadClaim},

		// aud with Audiences ["api"].
		{name: "aud string", payload: rawClaims(future + `,"aud":"api"`), opts: withAPI},
		{name: "aud array", payload: rawClaims(future + `,"aud":["other","api"]`), opts: withAPI},
		{name: "aud no match", payload: rawClaims(future + `,"aud":"other"`), opts: withAPI, want: ErrAudience},
		{name: "aud array no match", payload: rawClaims(future + `,"aud":["other","API"]`), opts: withAPI, want: ErrAudience},
		{name: "aud empty array", payload: rawClaims(future + `,"aud":[]`), opts: withAPI, want: ErrAudience},
		{name: "aud missing", payload: rawClaims(future), opts: withAPI, want: ErrAudience},
		{name: "aud number", payload: rawClaims(future + `,"aud":1`), opts: withAPI, want: ErrBadClaim},
		{name: "aud null", payload: rawClaims(future + `,"aud":null`), opts: withAPI, want: ErrBadClaim},
		{name: "aud object", payload: rawClaims(future + `,"aud":{"api":true}`), opts: withAPI, want: ErrBadClaim},
		{name: "aud array with number", payload: rawClaims(future + `,"aud":["api",1]`), opts: withAPI, want: ErrBadClaim},
		{name: "aud nested array", payload: rawClaims(future + `,"aud":[["api"]]`), opts: withAPI, want: ErrBadClaim},
		{name: "aud matches second configured", payload: rawClaims(future + `,"aud":"web"`), opts: func(o *Options) { o.Audiences = []string{"api", "web"} }},
		{name: "aud missing, none configured", payload: rawClaims(future), opts: noAud},
		{name: "aud any string, none configured", payload: rawClaims(future + `,"aud":"whatever"`), opts: noAud},
		{name: "aud number, none configured", payload: rawClaims(future + `,"aud":1`), opts: noAud, want: ErrBadClaim},

		// maxLifetime (jwt_authn's max_lifetime: exp - now, here with the skew).
		{name: "lifetime within max", payload: rawClaims(`"exp":` + n(3600)), opts: maxLife(time.Hour)},
		{name: "lifetime max plus skew", payload: rawClaims(`"exp":` + n(3660)), opts: maxLife(time.Hour)},
		{name: "lifetime past max plus skew", payload: rawClaims(`"exp":` + n(3661)), opts: maxLife(time.Hour), want: ErrLifetime},
		{name: "lifetime huge exp", payload: rawClaims(`"exp":1e300`), opts: maxLife(time.Hour), want: ErrBadClaim},
		{name: "lifetime exp beyond float64", payload: rawClaims(`"exp":1e400`), opts: maxLife(time.Hour), want: ErrBadClaim},
		{name: "lifetime exp in year 9999", payload: rawClaims(`"exp":253402300799`), opts: maxLife(time.Hour), want: ErrLifetime},
		{name: "lifetime long iat-exp span but little left", payload: rawClaims(`"iat":` + n(-86400) + `,"exp":` + n(60)), opts: maxLife(time.Hour)},
		{name: "lifetime needs exp", payload: rawClaims(`"sub":"a"`), opts: func(o *Options) { o.RequireExpiration = false; o.MaxLifetime = time.Hour }, want: ErrMissingExp},
		{name: "lifetime expired is expired", payload: rawClaims(`"exp":` + n(-3600)), opts: maxLife(time.Hour), want: ErrExpired},
		{name: "lifetime unlimited by default", payload: rawClaims(`"exp":253402300799`)},

		// subjects.
		{name: "subject accepted", payload: validPayload, opts: subjects("alice")},
		{name: "subject refused", payload: validPayload, opts: subjects("bob"), want: ErrSubject},
		{name: "subject missing", payload: rawClaims(future), opts: subjects("alice"), want: ErrSubject},
		{name: "subject empty string", payload: rawClaims(future + `,"sub":""`), opts: subjects(""), want: nil},
		{name: "subject number is a bad claim first", payload: rawClaims(future + `,"sub":7`), opts: subjects("7"), want: ErrBadClaim},
		{name: "subject checked after the issuer", payload: `{"iss":"https://evil.example","sub":"bob",` + future + `}`, opts: subjects("alice"), want: ErrIssuer},

		// sub and jti.
		{name: "sub number", payload: rawClaims(future + `,"sub":1`), opts: noAud, want: ErrBadClaim},
		{name: "jti object", payload: rawClaims(future + `,"jti":{}`), opts: noAud, want: ErrBadClaim},
		{name: "private claims of any type", payload: rawClaims(future + `,"role":1,"x":null,"n":{"a":[1,{"b":2}]}`), opts: noAud},
	}
	k := testkeys.Get()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := k.Token("EdDSA", hdr("EdDSA"), tc.payload)
			tok, err := Parse(raw, 0)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			// Audiences are configured only where a case says so.
			v := newVerifier(t, func(o *Options) {
				o.Audiences = nil
				if tc.opts != nil {
					tc.opts(o)
				}
			})
			claims, err := v.Verify(tok, defaultKeys())
			checkErr(t, err, tc.want, raw)
			if err == nil && string(claims.JSON()) != tc.payload {
				t.Fatalf("claims JSON = %s", claims.JSON())
			}
		})
	}
}

func noAud(o *Options) { o.Audiences = nil }

func maxLife(d time.Duration) func(*Options) { return func(o *Options) { o.MaxLifetime = d } }

// subjects accepts exactly the given sub values.
func subjects(accepted ...string) func(*Options) {
	return func(o *Options) {
		o.Subject = func(sub string) bool {
			for _, a := range accepted {
				if sub == a {
					return true
				}
			}
			return false
		}
	}
}
func withAPI(o *Options) { o.Audiences = []string{"api"} }

func TestClaimsGet(t *testing.T) {
	k := testkeys.Get()
	payload := claimsJSON(`"realm_access":{"roles":["a","b"]},"email":"a\u0040b.c"`)
	tok, err := Parse(k.Token("ES256", hdr("ES256"), payload), 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newVerifier(t, nil).Verify(tok, defaultKeys())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("realm_access.roles.1").String(); got != "b" {
		t.Errorf("roles.1 = %q", got)
	}
	if got := c.Get("email").String(); got != "a@b.c" {
		t.Errorf("email = %q", got)
	}
	if c.Get("missing").Exists() {
		t.Error("missing claim exists")
	}
	var zero Claims
	if zero.Get("sub").Exists() || zero.JSON() != nil {
		t.Error("zero Claims not empty")
	}
}

// TestDefaultNow checks that a Verifier without Options.Now uses the real
// clock.
func TestDefaultNow(t *testing.T) {
	k := testkeys.Get()
	v, err := New(Options{Issuer: testIssuer, Algorithms: []string{"EdDSA"}, RequireExpiration: true})
	if err != nil {
		t.Fatal(err)
	}
	real := time.Now().Unix()
	for _, tc := range []struct {
		exp  int64
		want error
	}{{real + 3600, nil}, {real - 3600, ErrExpired}} {
		raw := k.Token("EdDSA", hdr("EdDSA"), rawClaims(fmt.Sprintf(`"exp":%d`, tc.exp)))
		tok, err := Parse(raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(tok, defaultKeys())
		checkErr(t, err, tc.want, raw)
	}
}
