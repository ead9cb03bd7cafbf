package authn

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/verifier"
)

// Errors of a verified token that does not meet a request rule's claim
// conditions (403): its scopes, or another condition.
var (
	ErrInsufficientScope = errors.New("insufficient scope")
	ErrClaimMismatch     = errors.New("claim mismatch")
)

// policy holds the claim conditions of every request rule, compiled at
// configuration. A token's claims are read once, when it is verified: the
// outcome of every condition (and, for an equalsHeader, the claim's value)
// is its verdict, kept with it in the token cache, so that a cached token
// meets its conditions without reading a claim again.
type policy struct {
	conds  []*config.ClaimCondition
	resp   []*Response // the 403 of each
	header bool        // some condition is an equalsHeader
}

// verdict is what a token's claims say to the policy's conditions.
type verdict struct {
	ok    []uint64 // bit i: conds[i] holds (not for equalsHeader)
	bound []string // equalsHeader conds[i]: the claim's value, "" for none
}

// addConditions adds a request rule's conditions to the policy and to req.
func (a *Authenticator) addConditions(req *requirement, conds []*config.ClaimCondition) {
	if a.policy == nil {
		a.policy = &policy{}
	}
	p := a.policy
	for _, c := range conds {
		req.conds = append(req.conds, len(p.conds))
		p.conds = append(p.conds, c)
		p.header = p.header || c.Kind == config.CondHeader
		scope, details := "", "claim "+c.Claim+" not accepted"
		if c.Kind >= config.CondScopesAll {
			scope, details = strings.Join(c.Values, " "), ErrInsufficientScope.Error()
		}
		p.resp = append(p.resp, a.responses.forbidden(scope, details))
	}
}

// evaluate judges a verified token's claims; delimited lists the claims
// its issuer writes as space-delimited strings (beyond scope and
// permission).
func (p *policy) evaluate(claims verifier.Claims, delimited []string) verdict {
	v := verdict{ok: make([]uint64, (len(p.conds)+63)/64)}
	if p.header {
		v.bound = make([]string, len(p.conds))
	}
	for i, c := range p.conds {
		if c.Kind == config.CondHeader {
			v.bound[i] = boundValue(claims.Get(c.Path))
		} else if holds(c, claims, delimited) {
			v.ok[i/64] |= 1 << (i % 64)
		}
	}
	return v
}

// size is about the memory a verdict holds, for the token cache's bound.
func (v *verdict) size() int {
	n := 8*len(v.ok) + 16*len(v.bound)
	for _, s := range v.bound {
		n += len(s)
	}
	return n
}

// unmet returns the first of conds (a requirement's) that the token's
// verdict and the request's headers do not meet, or -1.
func (p *policy) unmet(conds []int, r *request, v *verdict) int {
	for _, i := range conds {
		if c := p.conds[i]; c.Kind == config.CondHeader {
			if !headerEquals(r.headers, c.Header, v.bound[i]) {
				return i
			}
		} else if v.ok[i/64]&(1<<(i%64)) == 0 {
			return i
		}
	}
	return -1
}

// forbid is the decision for a verified token of rule that does not meet
// condition i.
func (a *Authenticator) forbid(rule, i int) Decision {
	err := ErrClaimMismatch
	if a.policy.conds[i].Kind >= config.CondScopesAll {
		err = ErrInsufficientScope
	}
	return Decision{Outcome: Deny, Rule: rule, Err: err, Response: a.policy.resp[i]}
}

// headerEquals reports whether the request has exactly one header name,
// and its value is want (never empty): with two, which one the upstream
// reads would be its guess.
func headerEquals(headers [][2]string, name, want string) bool {
	found := false
	for _, h := range headers {
		if h[0] == name {
			if found || h[1] != want {
				return false
			}
			found = true
		}
	}
	return found && want != ""
}

// boundValue is the value of a claim compared with a request header: a
// string as it is, a number as its JSON text; anything else is none.
func boundValue(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return strings.Clone(v.Str) // not a slice of the payload, which the cache would keep
	case gjson.Number:
		return strings.Clone(v.Raw)
	}
	return ""
}

// holds reports whether the claims meet condition c. An absent claim, or
// one of another JSON type than c's, never does.
func holds(c *config.ClaimCondition, claims verifier.Claims, delimited []string) bool {
	var v gjson.Result
	split := true
	if c.Kind >= config.CondScopesAll {
		// The scope claim (RFC 8693, RFC 9068), else scp (Azure AD,
		// Okta): a space-delimited string or an array.
		if v = claims.Get("scope"); v.Type != gjson.String && !v.IsArray() {
			v = claims.Get("scp")
		}
	} else {
		v = claims.Get(c.Path)
		split = c.Claim == "scope" || c.Claim == "permission" || contains(delimited, c.Claim)
	}
	switch c.Kind {
	case config.CondString:
		return v.Type == gjson.String && c.Match.Match(v.Str)
	case config.CondEquals:
		e := &c.Equals
		return v.Type == e.Type && (v.Type != gjson.Number || v.Num == e.Num) && (v.Type != gjson.String || v.Str == e.Str)
	}
	// allOf, anyOf and scopes read the claim as a set of strings: an
	// array's string elements (others count for nothing), or a string,
	// split on spaces when the claim is space-delimited. Bit i of seen:
	// Values[i] is in it. len(Values) <= 64.
	var seen uint64
	switch {
	case v.Type == gjson.String && split:
		for s := v.Str; s != ""; {
			w := s
			if i := strings.IndexByte(s, ' '); i >= 0 {
				w, s = s[:i], s[i+1:]
			} else {
				s = ""
			}
			seen |= matches(c.Values, w)
		}
	case v.Type == gjson.String || v.IsArray():
		// ForEach visits a string itself, an array's elements.
		v.ForEach(func(_, e gjson.Result) bool {
			if e.Type == gjson.String {
				seen |= matches(c.Values, e.Str)
			}
			return true
		})
	}
	if c.Kind == config.CondAllOf || c.Kind == config.CondScopesAll {
		return seen == 1<<len(c.Values)-1
	}
	return seen != 0
}

// matches returns the set of the indexes of the values equal to s.
func matches(values []string, s string) (set uint64) {
	for i, x := range values {
		if x == s {
			set |= 1 << i
		}
	}
	return set
}

// forbidden is the 403 of a condition not met (RFC 6750 section 3.1:
// insufficient_scope); scope, for a rule's scopes, lists the scopes that
// would do. With stripFailureResponse it says that, not why: no body, no
// scope.
func (r *responses) forbidden(scope, details string) *Response {
	if scope != "" && !r.strip {
		scope = `, scope="` + scope + `"`
	} else {
		scope = ""
	}
	return r.build(403, `Bearer realm="`+r.realm+`", error="insufficient_scope"`+scope, `{"error":"Forbidden","details":`+jsonString(details)+`}`)
}
