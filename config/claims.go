package config

import (
	"strconv"

	"github.com/tidwall/gjson"
)

// CondKind is how a ClaimCondition tests the token's claims.
type CondKind uint8

// Kinds of ClaimCondition.
const (
	CondString    CondKind = iota // Match: the claim is a string that matches
	CondAllOf                     // Values: the claim holds every value
	CondAnyOf                     // Values: the claim holds at least one value
	CondEquals                    // Equals: the claim is this string, number or boolean
	CondHeader                    // Header: the claim equals the request header's value
	CondScopesAll                 // Values: the token's scopes hold every value ("scopes")
	CondScopesAny                 // Values: the token's scopes hold at least one ("anyScopes")
)

// maxConditionValues bounds the values of one condition.
const maxConditionValues = 64

// maxExactNumber is 2^53: beyond it not every integer is a float64, and
// JSON numbers are compared as float64.
const maxExactNumber = 1 << 53

// ClaimCondition is a condition that the claims of a verified token must
// meet under a request rule: one of its "claims", or its "scopes" or
// "anyScopes" (Claim "scope"; the token's scope claim, or scp when it has
// none). An absent claim meets no condition.
type ClaimCondition struct {
	Claim  string // the configured claim path (ClaimPath syntax)
	Path   string // the same path for gjson
	Kind   CondKind
	Match  StringMatcher // CondString
	Values []string      // CondAllOf, CondAnyOf, CondScopesAll, CondScopesAny
	Equals gjson.Result  // CondEquals: a JSON string, number, true or false
	Header string        // CondHeader, lower case
}

// HasConditions reports whether the rule asks anything of the token's
// claims.
func (r *RequestRule) HasConditions() bool { return len(r.Claims) > 0 }

// conditionValues parses the values of a condition: 1 to 64 non-empty
// strings. Scopes must be RFC 6749 scope tokens (section 3.3: printable
// ASCII but space, '"' and '\'), which also keeps them safe in a
// WWW-Authenticate header.
func conditionValues(field string, v gjson.Result, scope bool) ([]string, error) {
	list, err := strList(field, v)
	if err == nil && (len(list) == 0 || len(list) > maxConditionValues) {
		err = errf(field, "must hold 1 to "+strconv.Itoa(maxConditionValues)+" values")
	}
	for i := 0; err == nil && scope && i < len(list); i++ {
		for _, c := range []byte(list[i]) {
			if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
				err = errf(index(field, i), "not a scope: printable ASCII without spaces, quotes or backslashes (RFC 6749 section 3.3)")
				break
			}
		}
	}
	return list, err
}

// claimCondition parses {claim, and one of string, allOf, anyOf, equals,
// equalsHeader}.
func claimCondition(field string, v gjson.Result) (*ClaimCondition, error) {
	c := &ClaimCondition{}
	const kinds = "string, allOf, anyOf, equals, equalsHeader"
	if !v.IsObject() {
		return c, errf(field, "must be an object {claim, and one of "+kinds+"}")
	}
	n := 0
	var err error
	err = members(v, field, func(name, f string, mv gjson.Result) error {
		n++
		switch name {
		case "claim":
			n--
			if c.Claim, err = str(f, mv); err == nil {
				var perr error
				if c.Path, perr = ClaimPath(c.Claim); perr != nil {
					err = errf(f, perr.Error())
				}
			}
		case "string":
			c.Kind = CondString
			c.Match, err = stringMatcher(f, mv)
		case "allOf", "anyOf":
			c.Kind = CondAllOf
			if name == "anyOf" {
				c.Kind = CondAnyOf
			}
			c.Values, err = conditionValues(f, mv, false)
		case "equals":
			c.Kind = CondEquals
			c.Equals = mv
			if mv.Type == gjson.Null || mv.Type == gjson.JSON || mv.Num >= maxExactNumber || mv.Num <= -maxExactNumber {
				err = errf(f, "must be a string, true, false, or a number below 2^53 in magnitude (numbers are compared as float64)")
			}
		case "equalsHeader":
			c.Kind = CondHeader
			c.Header, err = headerName(f, mv)
		default:
			return errf(f, "unknown field")
		}
		return err
	})
	switch {
	case err != nil:
		return c, err
	case c.Claim == "":
		return c, errf(field+".claim", "required")
	case n != 1:
		return c, errf(field, "needs exactly one of "+kinds)
	}
	return c, nil
}
