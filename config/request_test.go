package config

import (
	"reflect"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func TestParseNewFields(t *testing.T) {
	cfg, err := Parse([]byte(`{
	  "jwtRules": [{
	    "issuer": "iss-a", "jwksUri": "https://a.example/jwks",
	    "fromParams": ["access_token", "jwt"],
	    "fromCookies": ["session"],
	    "maxLifetime": "1h",
	    "subjects": [{"prefix": "spiffe://a/"}, {"exact": "Bob", "ignoreCase": true}, {"regex": "svc-[0-9]+"}],
	    "outputPayloadToFilterState": "edgejwt.payload",
	    "outputClaimToHeaders": [{"header": "x-ns", "claim": "kubernetes\\.io.namespace"}]
	  }, {
	    "issuer": "iss-b", "jwks": "{\"keys\":[]}", "fromCookies": ["b"]
	  }],
	  "rules": [
	    {"match": {"path": "/healthz"}, "requirement": "bypass"},
	    {"match": {"prefix": "/api/", "methods": ["POST", "PUT"]}, "requirement": "required", "issuers": ["iss-b"]},
	    {"match": {"regex": "/v[0-9]+/public/.*"}, "requirement": "allow_missing"},
	    {"match": {"prefix": "/"}, "requirement": "allow_missing_or_failed"}
	  ],
	  "bypassCorsPreflight": true,
	  "stripFailureResponse": true,
	  "allowDuplicateToken": true
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.BypassCORSPreflight || !cfg.StripFailureResponse || !cfg.AllowDuplicateToken {
		t.Errorf("top-level booleans: %+v", cfg)
	}
	a, b := cfg.Rules[0], cfg.Rules[1]
	// Sources given: no default header source is added.
	if len(a.FromHeaders) != 0 || !reflect.DeepEqual(a.FromParams, []string{"access_token", "jwt"}) || !reflect.DeepEqual(a.FromCookies, []string{"session"}) {
		t.Errorf("rule 0 sources: %v %v %v", a.FromHeaders, a.FromParams, a.FromCookies)
	}
	if len(b.FromHeaders) != 0 || len(b.FromParams) != 0 || !reflect.DeepEqual(b.FromCookies, []string{"b"}) {
		t.Errorf("rule 1 sources: %v %v %v", b.FromHeaders, b.FromParams, b.FromCookies)
	}
	if a.MaxLifetime != time.Hour || !a.RequireExpiration {
		t.Errorf("maxLifetime %v, requireExpiration %v", a.MaxLifetime, a.RequireExpiration)
	}
	if a.OutputPayloadFilterState != "edgejwt.payload" {
		t.Errorf("filter state %q", a.OutputPayloadFilterState)
	}
	if got := a.OutputClaimHeaders[0]; got.Claim != `kubernetes\.io.namespace` || got.Path != `kubernetes\.io.namespace` {
		t.Errorf("claim header %+v", got)
	}
	if len(a.Subjects) != 3 || a.Subjects[0].Kind != MatchPrefix || !a.Subjects[1].IgnoreCase || a.Subjects[2].Regex == nil {
		t.Errorf("subjects %+v", a.Subjects)
	}
	rr := cfg.RequestRules
	if len(rr) != 4 {
		t.Fatalf("rules: %+v", rr)
	}
	want := []struct {
		kind MatchKind
		req  Requirement
	}{{MatchExact, Bypass}, {MatchPrefix, RequireToken}, {MatchRegex, AllowMissing}, {MatchPrefix, AllowMissingOrFailed}}
	for i, w := range want {
		if rr[i].Path.Kind != w.kind || rr[i].Requirement != w.req {
			t.Errorf("rules[%d] = %+v, want kind %d requirement %v", i, rr[i], w.kind, w.req)
		}
	}
	if !reflect.DeepEqual(rr[1].Methods, []string{"POST", "PUT"}) || !reflect.DeepEqual(rr[1].Issuers, []string{"iss-b"}) {
		t.Errorf("rules[1] = %+v", rr[1])
	}
}

func TestDefaultSourcesOnlyWithoutAnySource(t *testing.T) {
	for _, tc := range []struct {
		extra           string
		headers, params int
	}{
		{``, 1, 1},
		{`,"fromHeaders":[]`, 1, 1},
		{`,"fromHeaders":[{"name":"x-token"}]`, 1, 0},
		{`,"fromParams":["t"]`, 0, 1},
		{`,"fromCookies":["c"]`, 0, 0},
	} {
		cfg, err := Parse([]byte(`{"jwtRules":[{"issuer":"i","jwksUri":"http://h/j"` + tc.extra + `}]}`))
		if err != nil {
			t.Fatal(err)
		}
		r := cfg.Rules[0]
		if len(r.FromHeaders) != tc.headers || len(r.FromParams) != tc.params {
			t.Errorf("%s: headers %v params %v", tc.extra, r.FromHeaders, r.FromParams)
		}
		if tc.extra == `` && (r.FromHeaders[0] != DefaultHeaderSource || r.FromParams[0] != "access_token") {
			t.Errorf("defaults: %v %v", r.FromHeaders, r.FromParams)
		}
	}
}

func TestStringMatcher(t *testing.T) {
	re := func(expr string) StringMatcher {
		r, err := compileRegex("x", expr)
		if err != nil {
			t.Fatal(err)
		}
		return StringMatcher{Kind: MatchRegex, Value: expr, Regex: r}
	}
	tests := []struct {
		m    StringMatcher
		s    string
		want bool
	}{
		{StringMatcher{Kind: MatchExact, Value: "alice"}, "alice", true},
		{StringMatcher{Kind: MatchExact, Value: "alice"}, "Alice", false},
		{StringMatcher{Kind: MatchExact, Value: "alice"}, "alice2", false},
		{StringMatcher{Kind: MatchExact, Value: "alice", IgnoreCase: true}, "ALICE", true},
		{StringMatcher{Kind: MatchExact, Value: "é", IgnoreCase: true}, "É", false}, // ASCII folding only, as Envoy
		{StringMatcher{Kind: MatchPrefix, Value: "spiffe://a/"}, "spiffe://a/ns/x", true},
		{StringMatcher{Kind: MatchPrefix, Value: "spiffe://a/"}, "spiffe://ab/ns/x", false},
		{StringMatcher{Kind: MatchPrefix, Value: "spiffe://a/"}, "spiffe:", false},
		{StringMatcher{Kind: MatchPrefix, Value: "SPIFFE://", IgnoreCase: true}, "spiffe://x", true},
		{StringMatcher{Kind: MatchSuffix, Value: "@example.com"}, "bob@example.com", true},
		{StringMatcher{Kind: MatchSuffix, Value: "@example.com"}, "bob@example.com.evil", false},
		{StringMatcher{Kind: MatchSuffix, Value: "@EXAMPLE.com", IgnoreCase: true}, "bob@example.COM", true},
		{StringMatcher{Kind: MatchContains, Value: "adm"}, "xadmy", true},
		{StringMatcher{Kind: MatchContains, Value: "adm"}, "xAdmy", false},
		{StringMatcher{Kind: MatchContains, Value: "adm", IgnoreCase: true}, "xAdMy", true},
		{StringMatcher{Kind: MatchContains, Value: "adm", IgnoreCase: true}, "ad", false},
		{re("svc-[0-9]+"), "svc-12", true},
		{re("svc-[0-9]+"), "xsvc-12", false}, // the whole string must match
		{re("svc-[0-9]+"), "svc-12x", false},
		{re("a|b"), "b", true}, // alternation is anchored as a whole
		{re("a|b"), "ab", false},
		{re("(?i)svc"), "SVC", true},
	}
	for _, tc := range tests {
		if got := tc.m.Match(tc.s); got != tc.want {
			t.Errorf("%+v.Match(%q) = %v, want %v", tc.m, tc.s, got, tc.want)
		}
	}
}

func TestRequestRuleMatches(t *testing.T) {
	cfg, err := Parse([]byte(`{"jwtRules":[{"issuer":"i","jwksUri":"http://h/j"}],"rules":[
	  {"match":{"path":"/healthz"},"requirement":"bypass"},
	  {"match":{"prefix":"/api/","methods":["POST"]},"requirement":"required"},
	  {"match":{"regex":"/v[0-9]+/items/[^/]+"},"requirement":"allow_missing"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rr := cfg.RequestRules
	tests := []struct {
		rule         int
		method, path string
		want         bool
	}{
		{0, "GET", "/healthz", true},
		{0, "GET", "/healthz/", false},
		{0, "GET", "/healthzz", false},
		{0, "GET", "/HEALTHZ", false},
		{1, "POST", "/api/x", true},
		{1, "POST", "/api", false},
		{1, "GET", "/api/x", false},
		{1, "post", "/api/x", false},
		{2, "GET", "/v2/items/abc", true},
		{2, "GET", "/v2/items/abc/def", false},
		{2, "GET", "/x/v2/items/abc", false},
	}
	for _, tc := range tests {
		if got := rr[tc.rule].Matches(tc.method, tc.path); got != tc.want {
			t.Errorf("rules[%d].Matches(%s %s) = %v, want %v", tc.rule, tc.method, tc.path, got, tc.want)
		}
	}
}

func TestClaimPath(t *testing.T) {
	payload := `{"sub":"alice","a":{"b":"nested"},"a.b":"dotted","kubernetes.io":{"namespace":"prod"},` +
		`"urn:zitadel:iam:org:project:roles":{"admin":{"1":"org"}},"roles":["r0","r1"],` +
		`"*":"star","a|b":"pipe","@reverse":"at","#":"hash","back\\slash":"bs","x":{"y.z":{"w":"deep"}}}`
	tests := []struct {
		claim string
		want  string // "" for no value
	}{
		{"sub", "alice"},
		{"a.b", "nested"},
		{`a\.b`, "dotted"},
		{`kubernetes\.io.namespace`, "prod"},
		{"urn:zitadel:iam:org:project:roles", `{"admin":{"1":"org"}}`},
		{"roles.1", "r1"},
		{"*", "star"}, // the member named "*", not a wildcard
		{"a|b", "pipe"},
		{"@reverse", "at"},
		{"#", "hash"},
		{`back\\slash`, "bs"},
		{`x.y\.z.w`, "deep"},
		// gjson syntax has no effect: no wildcard, query, modifier or pipe.
		{"su?", ""},
		{"s*", ""},
		{"roles.#", ""},
		{"@this", ""},
		{"roles|0", ""},
		{"a.b|@reverse", ""},
		{"!true", ""},
	}
	for _, tc := range tests {
		path, err := ClaimPath(tc.claim)
		if err != nil {
			t.Fatalf("ClaimPath(%q): %v", tc.claim, err)
		}
		got := gjson.Get(payload, path)
		val := got.String()
		if !got.Exists() {
			val = ""
		}
		if val != tc.want {
			t.Errorf("claim %q (gjson path %q) = %q, want %q", tc.claim, path, val, tc.want)
		}
	}
	for _, bad := range []string{"", ".", "a.", ".a", "a..b", `a\`, `a\b`, `a\*`, "a\x00b", string(make([]byte, 300))} {
		if p, err := ClaimPath(bad); err == nil {
			t.Errorf("ClaimPath(%q) = %q, want an error", bad, p)
		}
	}
}
