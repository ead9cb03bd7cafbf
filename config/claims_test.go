package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestParseClaimConditions(t *testing.T) {
	cfg, err := Parse([]byte(`{
	  "jwtRules": [{"issuer": "i", "jwksUri": "http://h/j", "spaceDelimitedClaims": ["groups", "kubernetes\\.io.perms"]}],
	  "rules": [
	    {"match": {"prefix": "/orders", "methods": ["GET"]}, "requirement": "required", "scopes": ["orders:read"]},
	    {"match": {"prefix": "/orders"}, "requirement": "allow_missing", "anyScopes": ["a", "b"],
	     "claims": [
	       {"claim": "realm_access.roles", "anyOf": ["admin", "ops"]},
	       {"claim": "groups", "allOf": ["x"]},
	       {"claim": "email", "string": {"suffix": "@EXAMPLE.com", "ignoreCase": true}},
	       {"claim": "sub", "string": {"regex": "user-[0-9]+"}},
	       {"claim": "email_verified", "equals": true},
	       {"claim": "level", "equals": -2.5},
	       {"claim": "org", "equals": "acme"},
	       {"claim": "tenant", "equalsHeader": "X-Tenant-ID"}
	     ], "scopes": ["c"]}
	  ]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Rules[0].SpaceDelimitedClaims; !reflect.DeepEqual(got, []string{"groups", `kubernetes\.io.perms`}) {
		t.Errorf("spaceDelimitedClaims %q", got)
	}
	r0, r1 := cfg.RequestRules[0], cfg.RequestRules[1]
	if len(r0.Claims) != 1 || !r0.HasConditions() ||
		!reflect.DeepEqual(*r0.Claims[0], ClaimCondition{Claim: "scope", Kind: CondScopesAll, Values: []string{"orders:read"}}) {
		t.Errorf("rules[0] %+v", r0.Claims)
	}
	// In the order given: anyScopes, the claims, scopes.
	c := r1.Claims
	if len(c) != 10 {
		t.Fatalf("claims %+v", c)
	}
	check := func(i int, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("condition %d = %+v", i, c[i])
		}
	}
	check(0, c[0].Kind == CondScopesAny && c[0].Claim == "scope" && reflect.DeepEqual(c[0].Values, []string{"a", "b"}))
	check(1, c[1].Kind == CondAnyOf && c[1].Claim == "realm_access.roles" && c[1].Path == "realm_access.roles" && reflect.DeepEqual(c[1].Values, []string{"admin", "ops"}))
	check(2, c[2].Kind == CondAllOf && reflect.DeepEqual(c[2].Values, []string{"x"}))
	check(3, c[3].Kind == CondString && c[3].Match.Kind == MatchSuffix && c[3].Match.IgnoreCase && c[3].Match.Match("bob@example.COM"))
	check(4, c[4].Kind == CondString && c[4].Match.Regex != nil && c[4].Match.Match("user-12") && !c[4].Match.Match("xuser-12"))
	check(5, c[5].Kind == CondEquals && c[5].Equals.Type == gjson.True)
	check(6, c[6].Kind == CondEquals && c[6].Equals.Type == gjson.Number && c[6].Equals.Num == -2.5)
	check(7, c[7].Kind == CondEquals && c[7].Equals.Type == gjson.String && c[7].Equals.Str == "acme")
	check(8, c[8].Kind == CondHeader && c[8].Header == "x-tenant-id" && c[8].Path == "tenant")
	check(9, c[9].Kind == CondScopesAll && reflect.DeepEqual(c[9].Values, []string{"c"}))
	if (&RequestRule{}).HasConditions() {
		t.Error("a rule without scopes or claims has conditions")
	}
}

func TestClaimConditionErrorsNameTheField(t *testing.T) {
	rule := func(req, extra string) string {
		return `{"jwtRules":[{"issuer":"i","jwksUri":"http://h/j"},{"issuer":"j","jwksUri":"http://h/k"}],
		  "rules":[{"match":{"prefix":"/"},"requirement":"` + req + `"` + extra + `}]}`
	}
	claim := func(c string) string { return rule("required", `,"claims":[`+c+`]`) }
	tests := []struct {
		name, doc, field, msg string
	}{
		{"scopes not array", rule("required", `,"scopes":"a"`), "rules[0].scopes", "must be an array"},
		{"scopes object", rule("required", `,"scopes":{"allOf":["a"]}`), "rules[0].scopes", "must be an array"},
		{"scopes empty", rule("required", `,"scopes":[]`), "rules[0].scopes", "1 to 64 values"},
		{"anyScopes empty", rule("required", `,"anyScopes":[]`), "rules[0].anyScopes", "1 to 64 values"},
		{"scope with space", rule("required", `,"scopes":["a","b c"]`), "rules[0].scopes[1]", "not a scope"},
		{"scope with quote", rule("required", `,"anyScopes":["a\"b"]`), "rules[0].anyScopes[0]", "not a scope"},
		{"scope with backslash", rule("required", `,"anyScopes":["a\\b"]`), "rules[0].anyScopes[0]", "not a scope"},
		{"scope not ASCII", rule("required", `,"anyScopes":["caf\u00e9"]`), "rules[0].anyScopes[0]", "not a scope"},
		{"scope not string", rule("required", `,"anyScopes":[1]`), "rules[0].anyScopes[0]", "must be a string"},
		{"scope empty string", rule("required", `,"anyScopes":[""]`), "rules[0].anyScopes[0]", "must not be empty"},
		{"too many scopes", rule("required", `,"scopes":["a"`+strings.Repeat(`,"a"`, 64)+`]`), "rules[0].scopes", "1 to 64 values"},
		{"scopes twice", rule("required", `,"scopes":["a"],"scopes":["b"]`), "rules[0].scopes", "duplicate"},
		{"scopes on bypass", rule("bypass", `,"scopes":["a"]`), "rules[0]", "bypass"},
		{"claims on bypass", rule("bypass", `,"claims":[{"claim":"a","equals":true}]`), "rules[0]", "bypass"},
		{"claims on required_all", rule("required_all", `,"issuers":["i","j"],"claims":[{"claim":"a","equals":true}]`), "rules[0]", "required_all"},
		{"scopes on required_all", rule("required_all", `,"issuers":["i","j"],"anyScopes":["a"]`), "rules[0]", "required_all"},
		{"claims not array", rule("required", `,"claims":{"claim":"a","equals":true}`), "rules[0].claims", "non-empty array"},
		{"claims empty", rule("required", `,"claims":[]`), "rules[0].claims", "non-empty array"},
		{"condition not object", claim(`"roles"`), "rules[0].claims[0]", "must be an object"},
		{"second condition not object", claim(`{"claim":"a","equals":1},[]`), "rules[0].claims[1]", "must be an object"},
		{"condition without claim", claim(`{"equals":"a"}`), "rules[0].claims[0].claim", "required"},
		{"claim not string", claim(`{"claim":1,"equals":"a"}`), "rules[0].claims[0].claim", "must be a string"},
		{"claim empty", claim(`{"claim":"","equals":"a"}`), "rules[0].claims[0].claim", "must not be empty"},
		{"claim path empty name", claim(`{"claim":"a..b","equals":"a"}`), "rules[0].claims[0].claim", "empty name"},
		{"claim path bad escape", claim(`{"claim":"a\\*","equals":"a"}`), "rules[0].claims[0].claim", "backslash"},
		{"claim path control character", claim(`{"claim":"a\u0000","equals":"a"}`), "rules[0].claims[0].claim", "control character"},
		{"no matcher", claim(`{"claim":"a"}`), "rules[0].claims[0]", "needs exactly one of"},
		{"two matchers", claim(`{"claim":"a","equals":"x","anyOf":["y"]}`), "rules[0].claims[0]", "needs exactly one of"},
		{"unknown matcher", claim(`{"claim":"a","glob":"x*"}`), "rules[0].claims[0].glob", "unknown field"},
		{"Istio values", claim(`{"claim":"a","values":["x"]}`), "rules[0].claims[0].values", "unknown field"},
		{"bool", claim(`{"claim":"a","bool":true}`), "rules[0].claims[0].bool", "unknown field"},
		{"duplicate member", claim(`{"claim":"a","claim":"b","equals":"x"}`), "rules[0].claims[0].claim", "duplicate"},
		{"string not object", claim(`{"claim":"a","string":"x"}`), "rules[0].claims[0].string", "must be an object"},
		{"string two kinds", claim(`{"claim":"a","string":{"exact":"x","prefix":"y"}}`), "rules[0].claims[0].string", "exactly one"},
		{"string unknown kind", claim(`{"claim":"a","string":{"glob":"x"}}`), "rules[0].claims[0].string.glob", "unknown field"},
		{"bad regex", claim(`{"claim":"a","string":{"regex":"a("}}`), "rules[0].claims[0].string.regex", "invalid regular expression"},
		{"empty regex", claim(`{"claim":"a","string":{"regex":""}}`), "rules[0].claims[0].string.regex", "must not be empty"},
		{"empty prefix", claim(`{"claim":"a","string":{"prefix":""}}`), "rules[0].claims[0].string.prefix", "must not be empty"},
		{"exact not string", claim(`{"claim":"a","string":{"exact":1}}`), "rules[0].claims[0].string.exact", "must be a string"},
		{"ignoreCase with regex", claim(`{"claim":"a","string":{"regex":"x","ignoreCase":true}}`), "rules[0].claims[0].string.ignoreCase", "(?i)"},
		{"ignoreCase outside string", claim(`{"claim":"a","anyOf":["x"],"ignoreCase":true}`), "rules[0].claims[0].ignoreCase", "unknown field"},
		{"anyOf empty", claim(`{"claim":"a","anyOf":[]}`), "rules[0].claims[0].anyOf", "1 to 64 values"},
		{"anyOf not array", claim(`{"claim":"a","anyOf":"x"}`), "rules[0].claims[0].anyOf", "must be an array"},
		{"allOf null", claim(`{"claim":"a","allOf":null}`), "rules[0].claims[0].allOf", "must be an array"},
		{"allOf with number", claim(`{"claim":"a","allOf":["x",2]}`), "rules[0].claims[0].allOf[1]", "must be a string"},
		{"allOf with empty string", claim(`{"claim":"a","allOf":[""]}`), "rules[0].claims[0].allOf[0]", "must not be empty"},
		{"allOf too long", claim(`{"claim":"a","allOf":["a"` + strings.Repeat(`,"a"`, 64) + `]}`), "rules[0].claims[0].allOf", "1 to 64 values"},
		{"equals null", claim(`{"claim":"a","equals":null}`), "rules[0].claims[0].equals", "a string, true, false, or a number"},
		{"equals array", claim(`{"claim":"a","equals":["x"]}`), "rules[0].claims[0].equals", "a string, true, false, or a number"},
		{"equals object", claim(`{"claim":"a","equals":{}}`), "rules[0].claims[0].equals", "a string, true, false, or a number"},
		{"equals 2^53", claim(`{"claim":"a","equals":9007199254740992}`), "rules[0].claims[0].equals", "2^53"},
		{"equals -1e300", claim(`{"claim":"a","equals":-1e300}`), "rules[0].claims[0].equals", "2^53"},
		{"equals 1e400", claim(`{"claim":"a","equals":1e400}`), "rules[0].claims[0].equals", "2^53"},
		{"header not string", claim(`{"claim":"a","equalsHeader":true}`), "rules[0].claims[0].equalsHeader", "must be a string"},
		{"header empty", claim(`{"claim":"a","equalsHeader":""}`), "rules[0].claims[0].equalsHeader", "must not be empty"},
		{"header with space", claim(`{"claim":"a","equalsHeader":"x tenant"}`), "rules[0].claims[0].equalsHeader", "invalid header name"},
		{"pseudo-header", claim(`{"claim":"a","equalsHeader":":authority"}`), "rules[0].claims[0].equalsHeader", "invalid header name"},
		{"spaceDelimitedClaims empty", `{"jwtRules":[{"issuer":"i","jwksUri":"http://h/j","spaceDelimitedClaims":[]}]}`, "jwtRules[0].spaceDelimitedClaims", "must not be empty"},
		{"spaceDelimitedClaims empty name", `{"jwtRules":[{"issuer":"i","jwksUri":"http://h/j","spaceDelimitedClaims":[""]}]}`, "jwtRules[0].spaceDelimitedClaims[0]", "must not be empty"},
		{"spaceDelimitedClaims not array", `{"jwtRules":[{"issuer":"i","jwksUri":"http://h/j","spaceDelimitedClaims":"scope"}]}`, "jwtRules[0].spaceDelimitedClaims", "must be an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Parse = %v, want a config error", err)
			}
			if ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("field %q msg %q; want field %q and a message containing %q", ce.Field, ce.Msg, tt.field, tt.msg)
			}
		})
	}
}
