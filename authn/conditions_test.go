package authn

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/verifier"
)

// conditionAuth is an Authenticator with one request rule for path "/"
// that carries the conditions rule (JSON members of the rule, e.g.
// `"scopes":["a"]`), issuer A reading Authorization and allowing large
// tokens (huge claims).
func conditionAuth(t testing.TB, requirement, rule, extraIssuer string) *Authenticator {
	t.Helper()
	return authWith(t, `{"maxTokenSize":400000,"jwtRules":[{"issuer":"`+issA+`","jwksUri":"https://a.example/jwks",
	  "fromHeaders":[{"name":"authorization","prefix":"Bearer "}],"outputClaimToHeaders":[{"header":"x-sub","claim":"sub"}]`+extraIssuer+`}],
	  "rules":[{"match":{"prefix":"/"},"requirement":"`+requirement+`",`+rule+`}]}`)
}

// bigArray is a JSON array of n strings "r0".."r<n-1>" and last.
func bigArray(n int, last string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		fmt.Fprintf(&b, `"r%d",`, i)
	}
	b.WriteString(`"` + last + `"]`)
	return b.String()
}

// TestClaimConditions: every matcher against claims of every JSON shape,
// hostile ones included. Each case is decided twice, on a fresh token (its
// claims read) and from the token cache (its verdict), and must decide the
// same.
func TestClaimConditions(t *testing.T) {
	const (
		scopesAll = `"scopes":["orders:read"]`
		scopesTwo = `"scopes":["a","b"]`
		scopesAny = `"anyScopes":["a","b"]`
		rolesAny  = `"claims":[{"claim":"roles","anyOf":["admin"]}]`
		rolesAll  = `"claims":[{"claim":"roles","allOf":["admin","ops"]}]`
		groupsAll = `"claims":[{"claim":"groups","allOf":["x","y"]}]`
		permAll   = `"claims":[{"claim":"permission","allOf":["x","y"]}]`
		nested    = `"claims":[{"claim":"realm_access.roles","anyOf":["admin"]}]`
		dotted    = `"claims":[{"claim":"kubernetes\\.io.namespace","equals":"prod"}]`
		star      = `"claims":[{"claim":"a*","equals":"x"}]`
		index0    = `"claims":[{"claim":"roles.0","equals":"admin"}]`
		exact     = `"claims":[{"claim":"email","string":{"exact":"bob@example.com"}}]`
		suffixIC  = `"claims":[{"claim":"email","string":{"suffix":"@EXAMPLE.com","ignoreCase":true}}]`
		prefix    = `"claims":[{"claim":"email","string":{"prefix":"bob@"}}]`
		containsM = `"claims":[{"claim":"email","string":{"contains":"@ex"}}]`
		regex     = `"claims":[{"claim":"email","string":{"regex":"[a-z]+@example\\.com"}}]`
		isTrue    = `"claims":[{"claim":"email_verified","equals":true}]`
		isFalse   = `"claims":[{"claim":"locked","equals":false}]`
		isThree   = `"claims":[{"claim":"level","equals":3}]`
		isAcme    = `"claims":[{"claim":"org","equals":"acme"}]`
		unicode   = `"claims":[{"claim":"name","equals":"Zoë"}]`
	)
	tests := []struct {
		name, rule, claims string
		want               bool
	}{
		// scopes: every one; scope a space-delimited string (or array), else scp.
		{"scope", scopesAll, `"scope":"orders:read"`, true},
		{"scope among others", scopesAll, `"scope":"profile orders:read orders:write"`, true},
		{"scope with extra spaces", scopesAll, `"scope":"  orders:read  profile "`, true},
		{"other scope", scopesAll, `"scope":"orders:write"`, false},
		{"scope prefix is not the scope", scopesAll, `"scope":"orders:reader"`, false},
		{"scope case", scopesAll, `"scope":"Orders:Read"`, false},
		{"tab is no separator", scopesAll, `"scope":"profile\torders:read"`, false},
		{"scope as an array", scopesAll, `"scope":["profile","orders:read"]`, true},
		{"scp array", scopesAll, `"scp":["orders:read"]`, true},
		{"scp string", scopesAll, `"scp":"profile orders:read"`, true},
		{"scope wins over scp", scopesAll, `"scope":"profile","scp":["orders:read"]`, false},
		{"empty scope wins over scp", scopesAll, `"scope":"","scp":["orders:read"]`, false},
		{"null scope, scp read", scopesAll, `"scope":null,"scp":["orders:read"]`, true},
		{"number scope, scp read", scopesAll, `"scope":1,"scp":"orders:read"`, true},
		{"no scope", scopesAll, `"sco":"orders:read"`, false},
		{"scope an object", scopesAll, `"scope":{"orders:read":true}`, false},
		{"scope nested array", scopesAll, `"scope":[["orders:read"]]`, false},
		{"scope array with non-strings", scopesAll, `"scope":[1,null,{"a":1},"orders:read"]`, true},
		{"scope escaped", scopesAll, `"scope":"orders\u003aread"`, true},
		{"scope unicode look-alike", scopesAll, `"scope":"orders\uff1aread"`, false},
		{"scope with NUL", scopesAll, `"scope":"orders:read\u0000"`, false},
		{"huge scope array", scopesAll, `"scope":` + bigArray(20000, "orders:read"), true},
		{"huge scope array without it", scopesAll, `"scope":` + bigArray(20000, "orders:write"), false},
		{"huge scope string", scopesAll, `"scope":"` + strings.Repeat("x ", 20000) + `orders:read"`, true},
		{"two scopes", scopesTwo, `"scope":"b a"`, true},
		{"one of two scopes", scopesTwo, `"scope":"a a"`, false},
		{"any scope", scopesAny, `"scope":"c b"`, true},
		{"none of the scopes", scopesAny, `"scope":"c d"`, false},
		{"any scope, empty", scopesAny, `"scope":""`, false},
		// anyOf / allOf on a list claim.
		{"role", rolesAny, `"roles":["user","admin"]`, true},
		{"role as a string", rolesAny, `"roles":"admin"`, true},
		{"roles string is not split", rolesAny, `"roles":"user admin"`, false},
		{"no role", rolesAny, `"roles":["user"]`, false},
		{"roles absent", rolesAny, ``, false},
		{"roles null", rolesAny, `"roles":null`, false},
		{"roles empty", rolesAny, `"roles":[]`, false},
		{"roles true", rolesAny, `"roles":true`, false},
		{"roles number", rolesAny, `"roles":1`, false},
		{"roles nested", rolesAny, `"roles":[["admin"]]`, false},
		{"roles object", rolesAny, `"roles":{"admin":true}`, false},
		{"roles object of the value", rolesAny, `"roles":{"r":"admin"}`, false},
		{"role case", rolesAny, `"roles":["Admin"]`, false},
		{"role with NUL", rolesAny, `"roles":["admin\u0000"]`, false},
		{"role escaped", rolesAny, `"roles":["\u0061dmin"]`, true},
		{"huge roles", rolesAny, `"roles":` + bigArray(20000, "admin"), true},
		{"all roles", rolesAll, `"roles":["ops","x","admin"]`, true},
		{"all roles, twice one", rolesAll, `"roles":["admin","admin"]`, false},
		{"all roles, as a string", rolesAll, `"roles":"admin ops"`, false},
		{"space-delimited by default: permission", permAll, `"permission":"y x"`, true},
		{"groups not space-delimited", groupsAll, `"groups":"x y"`, false},
		{"groups as an array", groupsAll, `"groups":["x","y"]`, true},
		// Paths.
		{"nested", nested, `"realm_access":{"roles":["admin"]}`, true},
		{"nested absent", nested, `"realm_access":{"role":["admin"]}`, false},
		{"nested not an object", nested, `"realm_access":"roles"`, false},
		{"dotted name", dotted, `"kubernetes.io":{"namespace":"prod"}`, true},
		{"dotted name, nested look-alike", dotted, `"kubernetes":{"io":{"namespace":"prod"}}`, false},
		{"star is a plain character", star, `"ab":"x","a*":"y"`, false},
		{"star name", star, `"a*":"x"`, true},
		{"array index", index0, `"roles":["admin","user"]`, true},
		{"array index, other element", index0, `"roles":["user","admin"]`, false},
		// Strings.
		{"exact", exact, `"email":"bob@example.com"`, true},
		{"exact, longer", exact, `"email":"bob@example.com.evil"`, false},
		{"exact, not a string", exact, `"email":["bob@example.com"]`, false},
		{"suffix ignoring case", suffixIC, `"email":"Bob@Example.COM"`, true},
		{"suffix, other domain", suffixIC, `"email":"bob@example.org"`, false},
		{"prefix", prefix, `"email":"bob@x"`, true},
		{"prefix, number", prefix, `"email":1`, false},
		{"contains", containsM, `"email":"bob@example.com"`, true},
		{"regex", regex, `"email":"bob@example.com"`, true},
		{"regex is anchored", regex, `"email":"x bob@example.com"`, false},
		{"regex, null", regex, `"email":null`, false},
		// equals: the same JSON type and value.
		{"true", isTrue, `"email_verified":true`, true},
		{"true as a string", isTrue, `"email_verified":"true"`, false},
		{"true as 1", isTrue, `"email_verified":1`, false},
		{"false for true", isTrue, `"email_verified":false`, false},
		{"true absent", isTrue, ``, false},
		{"false", isFalse, `"locked":false`, true},
		{"false absent", isFalse, ``, false},
		{"false null", isFalse, `"locked":null`, false},
		{"false as 0", isFalse, `"locked":0`, false},
		{"three", isThree, `"level":3`, true},
		{"three as 3.0", isThree, `"level":3.0`, true},
		{"three as 3e0", isThree, `"level":3e0`, true},
		{"three as a string", isThree, `"level":"3"`, false},
		{"three and a bit", isThree, `"level":3.0000001`, false},
		{"three as an array", isThree, `"level":[3]`, false},
		{"string", isAcme, `"org":"acme"`, true},
		{"string case", isAcme, `"org":"ACME"`, false},
		{"string in an array", isAcme, `"org":["acme"]`, false},
		{"unicode", unicode, `"name":"Zoë"`, true},
		{"unicode escaped", unicode, `"name":"Zo\u00eb"`, true},
		{"unicode decomposed", unicode, `"name":"Zoe\u0308"`, false},
	}
	keys := keySets(t)
	auths := map[string]*Authenticator{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := auths[tc.rule]
			if a == nil {
				a = conditionAuth(t, "required", tc.rule, "")
				auths[tc.rule] = a
			}
			extra := ""
			if tc.claims != "" {
				extra = "," + tc.claims
			}
			h := get("/x", [2]string{"authorization", "Bearer " + tokenA(claimsA(extra))})
			fresh := a.Authenticate(h, keys)
			cached := a.Authenticate(h, keys)
			if !cached.FromCache && fresh.Outcome == Allow {
				t.Error("the second request was not served from the cache")
			}
			cached.FromCache = false
			if !reflect.DeepEqual(fresh, cached) {
				t.Errorf("a cached token decides differently:\n fresh  %+v\n cached %+v", fresh, cached)
			}
			if got := fresh.Outcome == Allow; got != tc.want {
				t.Fatalf("allowed %v, want %v (%v)", got, tc.want, fresh.Err)
			}
			if !tc.want && (fresh.Response.Status != 403 || !errors.Is(fresh.Err, ErrInsufficientScope) && !errors.Is(fresh.Err, ErrClaimMismatch)) {
				t.Errorf("refused with %d %v, want 403", fresh.Response.Status, fresh.Err)
			}
		})
	}
}

// TestSpaceDelimitedClaims: an issuer's spaceDelimitedClaims make the
// string of those claims a list for allOf and anyOf, for that issuer only.
func TestSpaceDelimitedClaims(t *testing.T) {
	a := authWith(t, `{"jwtRules":[
	  {"issuer":"`+issA+`","jwksUri":"https://a.example/jwks","spaceDelimitedClaims":["groups","org.teams"]},
	  {"issuer":"`+issB+`","jwksUri":"https://b.example/jwks","algorithms":["ES256"],"fromHeaders":[{"name":"x-token","prefix":""}]}],
	  "rules":[{"match":{"prefix":"/g"},"requirement":"required","claims":[{"claim":"groups","allOf":["x","y"]}]},
	           {"match":{"prefix":"/t"},"requirement":"required","claims":[{"claim":"org.teams","anyOf":["blue"]}]},
	           {"match":{"prefix":"/s"},"requirement":"required","claims":[{"claim":"groups","string":{"exact":"x y"}}]}]}`)
	keys := keySets(t)
	tokA := [2]string{"authorization", "Bearer " + tokenA(claimsA(`,"groups":"y  x","org":{"teams":"red blue"}`))}
	tokB := [2]string{"x-token", tokenB("bob")}
	for _, tc := range []struct {
		path string
		tok  [2]string
		want Outcome
	}{
		{"/g", tokA, Allow},
		{"/t", tokA, Allow},
		{"/s", tokA, Deny}, // a string matcher sees the whole string "y  x"
		{"/g", tokB, Deny}, // B has no groups at all
	} {
		if d := a.Authenticate(get(tc.path, tc.tok), keys); d.Outcome != tc.want {
			t.Errorf("%s with %s: %v %v, want %v", tc.path, tc.tok[0], d.Outcome, d.Err, tc.want)
		}
	}
	// B's string "x y" is not split: the setting is A's.
	b := authWith(t, `{"jwtRules":[
	  {"issuer":"`+issA+`","jwksUri":"https://a.example/jwks","spaceDelimitedClaims":["groups"]},
	  {"issuer":"`+issB+`","jwksUri":"https://b.example/jwks","algorithms":["ES256"],"fromHeaders":[{"name":"x-token","prefix":""}]}],
	  "rules":[{"match":{"prefix":"/"},"requirement":"required","claims":[{"claim":"groups","anyOf":["x"]}]}]}`)
	tok := testkeys.Get().Token("ES256", `{"alg":"ES256","kid":"b1"}`, `{"iss":"`+issB+`","groups":"x y","exp":`+fmt.Sprint(time.Now().Add(time.Hour).Unix())+`}`)
	if d := b.Authenticate(get("/", [2]string{"x-token", tok}), keys); d.Outcome != Deny || !errors.Is(d.Err, ErrClaimMismatch) {
		t.Errorf("B's groups split by A's setting: %v %v", d.Outcome, d.Err)
	}
}

// TestClaimEqualsHeader: a claim compared with a request header, on every
// request: the token's verdict keeps the claim's value, the header is read
// each time.
func TestClaimEqualsHeader(t *testing.T) {
	a := conditionAuth(t, "required", `"claims":[{"claim":"tenant","equalsHeader":"x-tenant-id"}]`, "")
	keys := rsaKeys(t)
	keysFn := func(int) verifier.KeySource { return keys }
	tok := func(claims string) [2]string {
		return [2]string{"authorization", "Bearer " + tokenA(claimsA(claims))}
	}
	acme := tok(`,"tenant":"acme"`)
	tests := []struct {
		name    string
		headers [][2]string
		want    bool
	}{
		{"same", get("/x", acme, [2]string{"x-tenant-id", "acme"}), true},
		{"other tenant", get("/x", acme, [2]string{"x-tenant-id", "evil"}), false},
		{"case", get("/x", acme, [2]string{"x-tenant-id", "ACME"}), false},
		{"no header", get("/x", acme), false},
		{"header twice", get("/x", acme, [2]string{"x-tenant-id", "acme"}, [2]string{"x-tenant-id", "acme"}), false},
		{"header twice, one other", get("/x", acme, [2]string{"x-tenant-id", "acme"}, [2]string{"x-tenant-id", "evil"}), false},
		{"joined by a comma", get("/x", acme, [2]string{"x-tenant-id", "acme,evil"}), false},
		{"other header", get("/x", acme, [2]string{"x-tenant", "acme"}), false},
		{"number claim", get("/x", tok(`,"tenant":42`), [2]string{"x-tenant-id", "42"}), true},
		{"number claim, other text", get("/x", tok(`,"tenant":42.0`), [2]string{"x-tenant-id", "42"}), false},
		{"boolean claim", get("/x", tok(`,"tenant":true`), [2]string{"x-tenant-id", "true"}), false},
		{"array claim", get("/x", tok(`,"tenant":["acme"]`), [2]string{"x-tenant-id", "acme"}), false},
		{"array claim as text", get("/x", tok(`,"tenant":["acme"]`), [2]string{"x-tenant-id", `["acme"]`}), false},
		{"null claim", get("/x", tok(`,"tenant":null`), [2]string{"x-tenant-id", ""}), false},
		{"empty claim, empty header", get("/x", tok(`,"tenant":""`), [2]string{"x-tenant-id", ""}), false},
		{"absent claim, empty header", get("/x", tok(``), [2]string{"x-tenant-id", ""}), false},
		{"unicode", get("/x", tok(`,"tenant":"z\u00fcrich"`), [2]string{"x-tenant-id", "zürich"}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := a.Authenticate(tc.headers, keysFn)
			if got := d.Outcome == Allow; got != tc.want {
				t.Fatalf("allowed %v, want %v (%v)", got, tc.want, d.Err)
			}
			if !tc.want && !errors.Is(d.Err, ErrClaimMismatch) {
				t.Errorf("err %v", d.Err)
			}
		})
	}
	// One token, verified once, checked against the header of each request.
	before := keys.lookups
	for i, h := range []string{"acme", "evil", "acme", ""} {
		want := Allow
		if h != "acme" {
			want = Deny
		}
		if d := a.Authenticate(get("/x", acme, [2]string{"x-tenant-id", h}), keysFn); d.Outcome != want || want == Allow && !d.FromCache {
			t.Errorf("request %d, x-tenant-id %q: %v (from cache %v), want %v", i, h, d.Outcome, d.FromCache, want)
		}
	}
	if keys.lookups != before {
		t.Errorf("the cached token was verified again (%d lookups)", keys.lookups-before)
	}
}

// TestConditionAnswers: the 403 of each kind of condition, with and
// without stripFailureResponse, and the reasons the metrics count.
func TestConditionAnswers(t *testing.T) {
	rule := `"scopes":["orders:read","orders:list"],"anyScopes":["admin","ops"],"claims":[{"claim":"org.\"name\\\\","equals":"acme"},{"claim":"tenant","equalsHeader":"x-tenant-id"}]`
	keys := keySets(t)
	for _, strip := range []bool{false, true} {
		a := authWith(t, fmt.Sprintf(`{"stripFailureResponse":%v,"realm":"api","jwtRules":[{"issuer":"%s","jwksUri":"https://a.example/jwks"}],
		  "rules":[{"match":{"prefix":"/"},"requirement":"required",%s}]}`, strip, issA, rule))
		for _, tc := range []struct {
			name, claims, tenant string
			err                  error
			challenge, body      string
		}{
			{"scopes", `"scope":"orders:read admin"`, "acme", ErrInsufficientScope,
				`Bearer realm="api", error="insufficient_scope", scope="orders:read orders:list"`, `{"error":"Forbidden","details":"insufficient scope"}`},
			{"anyScopes", `"scope":"orders:read orders:list"`, "acme", ErrInsufficientScope,
				`Bearer realm="api", error="insufficient_scope", scope="admin ops"`, `{"error":"Forbidden","details":"insufficient scope"}`},
			{"claim", `"scope":"orders:read orders:list ops","org":{"\"name\\":"evil"}`, "acme", ErrClaimMismatch,
				`Bearer realm="api", error="insufficient_scope"`, `{"error":"Forbidden","details":"claim org.\"name\\\\ not accepted"}`},
			{"header", `"scope":"orders:read orders:list ops","org":{"\"name\\":"acme"},"tenant":"acme"`, "evil", ErrClaimMismatch,
				`Bearer realm="api", error="insufficient_scope"`, `{"error":"Forbidden","details":"claim tenant not accepted"}`},
		} {
			t.Run(fmt.Sprintf("%s strip=%v", tc.name, strip), func(t *testing.T) {
				d := a.Authenticate(get("/", [2]string{"authorization", "Bearer " + tokenA(claimsA(","+tc.claims))}, [2]string{"x-tenant-id", tc.tenant}), keys)
				if d.Outcome != Deny || d.Err != tc.err || d.Rule != 0 {
					t.Fatalf("%v %v rule %d, want a refusal for %v", d.Outcome, d.Err, d.Rule, tc.err)
				}
				want := &Response{Status: 403, Headers: [][2]string{{"content-type", "application/json"}, {"www-authenticate", tc.challenge}}, Body: []byte(tc.body)}
				if strip {
					// No body, and no scope attribute: that, not why.
					challenge, _, _ := strings.Cut(tc.challenge, `, scope=`)
					want = &Response{Status: 403, Headers: [][2]string{{"www-authenticate", challenge}}}
				}
				if !reflect.DeepEqual(d.Response, want) {
					t.Errorf("response\n %d %q %s\nwant\n %d %q %s", d.Response.Status, d.Response.Headers, d.Response.Body, want.Status, want.Headers, want.Body)
				}
				if want := strings.ReplaceAll(tc.err.Error(), " ", "_"); Reason(d.Err) != tc.err.Error() || want != map[error]string{ErrInsufficientScope: "insufficient_scope", ErrClaimMismatch: "claim_mismatch"}[tc.err] {
					t.Errorf("Reason %q", Reason(d.Err))
				}
			})
		}
		// All met.
		d := a.Authenticate(get("/", [2]string{"authorization", "Bearer " + tokenA(claimsA(`,"scope":"orders:list orders:read ops","org":{"\"name\\":"acme"},"tenant":"acme"`))},
			[2]string{"x-tenant-id", "acme"}), keys)
		if d.Outcome != Allow {
			t.Errorf("every condition met: %v %v", d.Outcome, d.Err)
		}
	}
}

// TestConditionsWithRequirements is the matrix of the README: what each
// requirement does with conditions, for no token, an invalid token, a valid
// token that fails a condition and one that meets them.
func TestConditionsWithRequirements(t *testing.T) {
	keys := keySets(t)
	good := [2]string{"authorization", "Bearer " + tokenA(claimsA(`,"scope":"orders:read"`))}
	weak := [2]string{"authorization", "Bearer " + tokenA(claimsA(`,"scope":"profile"`))}
	expired := [2]string{"authorization", "Bearer " + tokenA(fmt.Sprintf(`{"iss":%q,"sub":"alice","scope":"orders:read","exp":%d}`, issA, time.Now().Add(-time.Hour).Unix()))}
	type result struct {
		outcome Outcome
		status  uint32 // Deny
		err     error  // Deny, or an allowed failure
		claims  bool   // Allow: x-sub set
		removed bool   // Allow: the token removed
	}
	for _, tc := range []struct {
		requirement               string
		none, invalid, weak, good result
	}{
		{"required",
			result{Deny, 401, ErrNoToken, false, false},
			result{Deny, 401, verifier.ErrExpired, false, false},
			result{Deny, 403, ErrInsufficientScope, false, false},
			result{Allow, 0, nil, true, true}},
		// With conditions a token is required: no token, no claims to
		// meet them (as Istio's AuthorizationPolicy, which answers 403).
		{"allow_missing",
			result{Deny, 401, ErrNoToken, false, false},
			result{Deny, 401, verifier.ErrExpired, false, false},
			result{Deny, 403, ErrInsufficientScope, false, false},
			result{Allow, 0, nil, true, true}},
		// Report-only: everything passes; claims only when the conditions
		// are met; a token that fails them is removed and counted.
		{"allow_missing_or_failed",
			result{Allow, 0, nil, false, false},
			result{Allow, 0, verifier.ErrExpired, false, true},
			result{Allow, 0, ErrInsufficientScope, false, true},
			result{Allow, 0, nil, true, true}},
	} {
		a := conditionAuth(t, tc.requirement, `"scopes":["orders:read"]`, "")
		for _, c := range []struct {
			name string
			h    [][2]string
			want result
		}{{"no token", get("/x"), tc.none}, {"invalid token", get("/x", expired), tc.invalid},
			{"valid token, scope missing", get("/x", weak), tc.weak}, {"valid token, scope there", get("/x", good), tc.good}} {
			for _, pass := range []string{"fresh", "cached"} {
				d := a.Authenticate(c.h, keys)
				got := result{outcome: d.Outcome, err: d.Err}
				if d.Outcome == Deny {
					got.status = d.Response.Status
				} else {
					got.claims = setMap(d)["x-sub"] != ""
					got.removed = len(d.Remove) > 0
				}
				if !reflect.DeepEqual(got, c.want) && !(got.err != nil && c.want.err != nil && errors.Is(got.err, c.want.err) && got.outcome == c.want.outcome) {
					t.Errorf("%s, %s (%s): %+v, want %+v", tc.requirement, c.name, pass, got, c.want)
				}
			}
		}
	}
}

// TestConditionsPerRule: one token, verified once, meets the conditions of
// one rule and not another's; a rule without conditions is unaffected.
func TestConditionsPerRule(t *testing.T) {
	a := authWith(t, `{"jwtRules":[{"issuer":"`+issA+`","jwksUri":"https://a.example/jwks"}],"rules":[
	  {"match":{"prefix":"/orders","methods":["GET","HEAD"]},"requirement":"required","scopes":["orders:read"]},
	  {"match":{"prefix":"/orders","methods":["POST"]},"requirement":"required","scopes":["orders:write"]},
	  {"match":{"prefix":"/admin/"},"requirement":"required","claims":[{"claim":"roles","anyOf":["admin"]}]},
	  {"match":{"prefix":"/public/"},"requirement":"allow_missing"}]}`)
	keys := rsaKeys(t)
	keysFn := func(int) verifier.KeySource { return keys }
	tok := [2]string{"authorization", "Bearer " + tokenA(claimsA(`,"scope":"orders:read","roles":["user"]`))}
	for _, tc := range []struct {
		method, path string
		want         Outcome
		err          error
	}{
		{"GET", "/orders/1", Allow, nil},
		{"POST", "/orders", Deny, ErrInsufficientScope},
		{"GET", "/admin/x", Deny, ErrClaimMismatch},
		{"GET", "/public/x", Allow, nil},
		{"GET", "/other", Allow, nil},
		{"HEAD", "/orders/1", Allow, nil},
	} {
		if d := a.Authenticate(withMethod(tc.method, get(tc.path, tok)), keysFn); d.Outcome != tc.want || d.Err != tc.err {
			t.Errorf("%s %s: %v %v, want %v %v", tc.method, tc.path, d.Outcome, d.Err, tc.want, tc.err)
		}
	}
	if keys.lookups != 1 {
		t.Errorf("the token was verified %d times, want once", keys.lookups)
	}
}

// TestConditionsCostNothingCached: on a cached token, a rule with three
// conditions allocates no more than a rule without.
func TestConditionsCostNothingCached(t *testing.T) {
	keys := keySets(t)
	h := get("/x", [2]string{"authorization", "Bearer " + tokenA(claimsA(`,"scope":"orders:read profile","roles":["admin"],"tenant":"acme"`))},
		[2]string{"x-tenant-id", "acme"})
	allocs := func(rule string) float64 {
		a := conditionAuth(t, "required", rule, "")
		if d := a.Authenticate(h, keys); d.Outcome != Allow {
			t.Fatal(d.Err)
		}
		return testing.AllocsPerRun(100, func() {
			if d := a.Authenticate(h, keys); d.Outcome != Allow || !d.FromCache {
				t.Fatal(d.Err)
			}
		})
	}
	without := allocs(`"issuers":["` + issA + `"]`)
	with := allocs(`"scopes":["orders:read"],"claims":[{"claim":"roles","anyOf":["admin"]},{"claim":"tenant","equalsHeader":"x-tenant-id"}]`)
	if with > without {
		t.Errorf("a cached token allocates %v times with three conditions, %v without", with, without)
	}
}

// BenchmarkConditions: Authenticate on a cached token under a rule without
// conditions and under one with three (a scope, a role, a tenant header),
// and on a fresh token with the three (make bench-go runs these natively
// and under wazero).
func BenchmarkConditions(b *testing.B) {
	ks := rsaKeys(b)
	keysFn := func(int) verifier.KeySource { return ks }
	h := [][2]string{{":path", "/api"}, {":method", "GET"}, {"authorization", "Bearer " + tokenA(claimsA(`,"scope":"orders:read profile","roles":["admin","user"],"tenant":"acme"`))},
		{"accept", "*/*"}, {"x-tenant-id", "acme"}}
	const three = `"scopes":["orders:read"],"claims":[{"claim":"roles","anyOf":["admin"]},{"claim":"tenant","equalsHeader":"x-tenant-id"}]`
	for _, tc := range []struct {
		name, rule string
		cache      bool
	}{
		{"cached_none", `"issuers":["` + issA + `"]`, true},
		{"cached_three", three, true},
		{"fresh_none", `"issuers":["` + issA + `"]`, false},
		{"fresh_three", three, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			a := conditionAuth(b, "required", tc.rule, "")
			if !tc.cache {
				a.cache = nil
			}
			a.Authenticate(h, keysFn)
			b.ReportAllocs()
			for b.Loop() {
				if d := a.Authenticate(h, keysFn); d.Outcome != Allow {
					b.Fatal(d.Err)
				}
			}
		})
	}
	// The check alone: what a cached token's verdict and the request's
	// headers cost under the three conditions.
	b.Run("check_three", func(b *testing.B) {
		a := conditionAuth(b, "required", three, "")
		r := readRequest(h, true)
		want, _ := a.choose(&r)
		a.Authenticate(h, keysFn)
		e := a.cache.get(strings.TrimPrefix(h[2][1], "Bearer "), keysFn)
		if e == nil || len(want.conds) != 3 {
			b.Fatal("no verdict")
		}
		b.ReportAllocs()
		for b.Loop() {
			if a.policy.unmet(want.conds, &r, &e.verdict) >= 0 {
				b.Fatal("unmet")
			}
		}
	})
}
