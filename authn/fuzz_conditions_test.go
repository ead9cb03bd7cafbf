package authn

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/verifier"
)

// fuzzConditions are the conditions FuzzConditions judges, each on a path
// of its own ("/0", "/1", ...): every one reads the claim "c", but the
// scope rules, which read scope (the same value).
var fuzzConditions = []string{
	`"claims":[{"claim":"c","anyOf":["admin","x y"]}]`,
	`"claims":[{"claim":"c","allOf":["admin","ops"]}]`,
	`"claims":[{"claim":"c","equals":"admin"}]`,
	`"claims":[{"claim":"c","equals":3}]`,
	`"claims":[{"claim":"c","equals":true}]`,
	`"claims":[{"claim":"c","string":{"prefix":"ad"}}]`,
	`"claims":[{"claim":"c","equalsHeader":"x-c"}]`,
	`"scopes":["a","b"]`,
	`"anyScopes":["a","b"]`,
}

// FuzzConditions signs a token whose claims "c" and "scope" hold an
// arbitrary JSON value and judges it under every kind of condition, on a
// fresh token and again from the token cache. Each answer must be the same
// both times, and the one a reference reading of the claims with
// encoding/json gives.
func FuzzConditions(f *testing.F) {
	for _, s := range [][2]string{
		{`"admin"`, "admin"}, {`["ops","admin"]`, `["ops","admin"]`}, {`"a b"`, "a b"}, {`["b",1,null,"a"]`, ""},
		{`3.0`, "3.0"}, {`3e0`, "3"}, {`true`, "true"}, {`null`, ""}, {`{"admin":"admin"}`, "admin"}, {`[["admin"]]`, "admin"},
		{`"ad\u0000"`, "ad"}, {`"\u0061dmin"`, "admin"}, {`"  a   b "`, ""}, {`"x y"`, "x y"}, {`-0`, "-0"}, {`1e400`, "1e400"},
	} {
		f.Add(s[0], s[1])
	}
	var rules []string
	for i, c := range fuzzConditions {
		rules = append(rules, fmt.Sprintf(`{"match":{"path":"/%d"},"requirement":"required",%s}`, i, c))
	}
	a := authWith(f, `{"maxTokenSize":100000,"jwtRules":[{"issuer":"`+issB+`","jwksUri":"https://b.example/jwks","algorithms":["ES256"],
	  "fromHeaders":[{"name":"x-token","prefix":""}]}],"rules":[`+strings.Join(rules, ",")+`]}`)
	ks := keySets(f)
	keys := func(int) verifier.KeySource { return ks(1) }
	exp := time.Now().Add(24 * time.Hour).Unix()
	f.Fuzz(func(t *testing.T, value, header string) {
		if !gjson.Valid(value) || strings.ContainsAny(header, "\x00\r\n") {
			return
		}
		payload := fmt.Sprintf(`{"iss":%q,"exp":%d,"c":%s,"scope":%s}`, issB, exp, value, value)
		tok := testkeys.Get().Token("ES256", `{"alg":"ES256","kid":"b1"}`, payload)
		want := reference(payload, header)
		for i := range fuzzConditions {
			h := get(fmt.Sprintf("/%d", i), [2]string{"x-token", tok}, [2]string{"x-c", header})
			fresh := a.Authenticate(h, keys)
			if fresh.Outcome == Deny && fresh.Response.Status == 401 {
				return // a payload the verifier refuses (say, invalid UTF-8)
			}
			cached := a.Authenticate(h, keys)
			if fresh.Outcome != cached.Outcome || fresh.Err != cached.Err || !cached.FromCache && cached.Outcome == Allow {
				t.Fatalf("condition %d, c=%s: fresh %v %v, cached %v %v (from cache %v)", i, value, fresh.Outcome, fresh.Err, cached.Outcome, cached.Err, cached.FromCache)
			}
			if got := fresh.Outcome == Allow; got != want[i] {
				t.Fatalf("condition %s, c=%s, x-c %q: allowed %v, the reference says %v", fuzzConditions[i], value, header, got, want[i])
			}
		}
	})
}

// reference judges fuzzConditions by reading the payload with
// encoding/json.
func reference(payload, header string) []bool {
	d := json.NewDecoder(strings.NewReader(payload))
	d.UseNumber()
	var claims map[string]any
	if err := d.Decode(&claims); err != nil {
		return nil // the verifier refuses it too (checked by the caller's 401)
	}
	c := claims["c"]
	str, isStr := c.(string)
	var set []string // c as a set of strings
	if arr, ok := c.([]any); ok {
		for _, e := range arr {
			if s, ok := e.(string); ok {
				set = append(set, s)
			}
		}
	} else if isStr {
		set = []string{str}
	}
	var scopes []string
	if isStr {
		for _, w := range strings.Split(str, " ") {
			if w != "" {
				scopes = append(scopes, w)
			}
		}
	} else {
		scopes = set
	}
	has := func(set []string, v string) bool {
		for _, s := range set {
			if s == v {
				return true
			}
		}
		return false
	}
	num, isNum := c.(json.Number)
	three := false
	if isNum {
		f, err := num.Float64()
		three = err == nil && f == 3
	}
	bound := ""
	if isNum {
		bound = string(num)
	} else if isStr {
		bound = str
	}
	return []bool{
		has(set, "admin") || has(set, "x y"),
		has(set, "admin") && has(set, "ops"),
		isStr && str == "admin",
		three,
		c == true,
		isStr && strings.HasPrefix(str, "ad"),
		bound != "" && bound == header,
		has(scopes, "a") && has(scopes, "b"),
		has(scopes, "a") || has(scopes, "b"),
	}
}
