package config

import (
	"errors"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/internal/ascii"
)

// Requirement is what a request rule asks of the requests it matches.
type Requirement uint8

const (
	// RequireToken: a valid token is required ("required").
	RequireToken Requirement = iota
	// AllowMissing: a request without a token passes; a token that is
	// present must be valid ("allow_missing", as jwt_authn).
	AllowMissing
	// AllowMissingOrFailed: every request passes; claims are forwarded only
	// from a valid token ("allow_missing_or_failed", as jwt_authn).
	AllowMissingOrFailed
	// Bypass: no token is looked for or verified ("bypass").
	Bypass
	// RequireAll: a valid token of every listed issuer, each from that
	// issuer's own header ("required_all", as jwt_authn's requires_all).
	RequireAll
)

var requirementNames = map[string]Requirement{
	"required":                RequireToken,
	"allow_missing":           AllowMissing,
	"allow_missing_or_failed": AllowMissingOrFailed,
	"bypass":                  Bypass,
	"required_all":            RequireAll,
}

func (r Requirement) String() string {
	for name, v := range requirementNames {
		if v == r {
			return name
		}
	}
	return "unknown"
}

// MatchKind is how a StringMatcher compares.
type MatchKind uint8

// Kinds of StringMatcher. Exact is "path" in a request rule's match.
const (
	MatchExact MatchKind = iota
	MatchPrefix
	MatchSuffix
	MatchContains
	MatchRegex
)

// StringMatcher is a compiled string condition, as Envoy's StringMatcher:
// exact, prefix, suffix, contains or a regular expression (Go RE2 syntax)
// that must match the whole string. IgnoreCase folds ASCII letters and does
// not apply to regular expressions.
type StringMatcher struct {
	Kind       MatchKind
	Value      string
	IgnoreCase bool
	Regex      Regex // compiled at parse time, anchored at both ends
}

// Regex is a compiled regular expression (Go's regexp, RE2 syntax).
type Regex interface{ MatchString(s string) bool }

// Match reports whether s satisfies m. It does not allocate.
func (m *StringMatcher) Match(s string) bool {
	switch m.Kind {
	case MatchExact:
		return len(s) == len(m.Value) && m.equal(s, m.Value)
	case MatchPrefix:
		return len(s) >= len(m.Value) && m.equal(s[:len(m.Value)], m.Value)
	case MatchSuffix:
		return len(s) >= len(m.Value) && m.equal(s[len(s)-len(m.Value):], m.Value)
	case MatchContains:
		if !m.IgnoreCase {
			return strings.Contains(s, m.Value)
		}
		for i := 0; i+len(m.Value) <= len(s); i++ {
			if ascii.EqualFold(s[i:i+len(m.Value)], m.Value) {
				return true
			}
		}
		return false
	case MatchRegex:
		return m.Regex != nil && m.Regex.MatchString(s)
	}
	return false
}

func (m *StringMatcher) equal(a, b string) bool {
	if m.IgnoreCase {
		return ascii.EqualFold(a, b)
	}
	return a == b
}

// RequestRule is one entry of the top-level "rules": which requests it
// matches and what it requires of them.
type RequestRule struct {
	Path        StringMatcher // MatchExact ("path"), MatchPrefix or MatchRegex
	Methods     []string      // empty: any method
	Requirement Requirement
	Issuers     []string // empty: any configured issuer
	// Claims are what the verified token's claims must satisfy (JSON
	// "scopes", "anyScopes" and "claims", in the order given); all must hold.
	Claims []*ClaimCondition
}

// Matches reports whether the rule applies to a request with this method
// and path (the path without its query).
func (r *RequestRule) Matches(method, path string) bool {
	if len(r.Methods) > 0 {
		found := false
		for _, m := range r.Methods {
			if m == method {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return r.Path.Match(path)
}

func compileRegex(field, expr string) (Regex, error) {
	if expr == "" {
		return nil, errf(field, "must not be empty")
	}
	if len(expr) > maxRegexLength {
		return nil, errf(field, "longer than "+strconv.Itoa(maxRegexLength)+" bytes")
	}
	re, err := compileAnchored(expr)
	if err != nil {
		return nil, errf(field, err.Error())
	}
	return re, nil
}

// stringMatcher parses {exact|prefix|suffix|contains|regex, ignoreCase}.
func stringMatcher(field string, v gjson.Result) (StringMatcher, error) {
	var m StringMatcher
	if !v.IsObject() {
		return m, errf(field, "must be an object with one of exact, prefix, suffix, contains, regex")
	}
	kinds := 0
	var err error
	var regexField string
	err = members(v, field, func(name, f string, mv gjson.Result) error {
		kind := MatchKind(0)
		switch name {
		case "exact":
			kind = MatchExact
		case "prefix":
			kind = MatchPrefix
		case "suffix":
			kind = MatchSuffix
		case "contains":
			kind = MatchContains
		case "regex":
			kind = MatchRegex
			regexField = f
		case "ignoreCase":
			m.IgnoreCase, err = boolean(f, mv)
			return err
		default:
			return errf(f, "unknown field")
		}
		kinds++
		m.Kind = kind
		m.Value, err = str(f, mv)
		if err == nil && kind != MatchExact && m.Value == "" {
			err = errf(f, "must not be empty")
		}
		return err
	})
	if err != nil {
		return m, err
	}
	if kinds != 1 {
		return m, errf(field, "needs exactly one of exact, prefix, suffix, contains, regex")
	}
	if m.Kind == MatchRegex {
		if m.IgnoreCase {
			return m, errf(field+".ignoreCase", "does not apply to regex; use (?i) in the expression")
		}
		if m.Regex, err = compileRegex(regexField, m.Value); err != nil {
			return m, err
		}
	}
	return m, nil
}

func stringMatchers(field string, v gjson.Result) ([]StringMatcher, error) {
	out, err := arrayOf(field, v, "string matchers", stringMatcher)
	if err == nil && len(out) == 0 {
		return nil, errf(field, "must not be empty (leave it out to accept any subject)")
	}
	return out, err
}

func requestRules(field string, v gjson.Result) ([]RequestRule, error) {
	return arrayOf(field, v, "rules", requestRule)
}

func requestRule(field string, v gjson.Result) (RequestRule, error) {
	var r RequestRule
	if !v.IsObject() {
		return r, errf(field, "must be an object {match, requirement, issuers}")
	}
	seenMatch, seenReq := false, false
	var err error
	err = members(v, field, func(name, f string, mv gjson.Result) error {
		switch name {
		case "match":
			seenMatch = true
			err = requestMatch(f, mv, &r)
		case "requirement":
			seenReq = true
			var s string
			if s, err = str(f, mv); err == nil {
				req, ok := requirementNames[s]
				if !ok {
					return errf(f, "must be one of required, allow_missing, allow_missing_or_failed, bypass, required_all")
				}
				r.Requirement = req
			}
		case "issuers":
			r.Issuers, err = strList(f, mv)
			if err == nil && len(r.Issuers) == 0 {
				err = errf(f, "must not be empty (leave it out to accept every issuer)")
			}
		case "scopes", "anyScopes":
			c := &ClaimCondition{Claim: "scope", Kind: CondScopesAll}
			if name == "anyScopes" {
				c.Kind = CondScopesAny
			}
			c.Values, err = conditionValues(f, mv, true)
			r.Claims = append(r.Claims, c)
		case "claims":
			list := mv.Array()
			if !mv.IsArray() || len(list) == 0 {
				return errf(f, "must be a non-empty array of claim conditions")
			}
			for i, e := range list {
				var c *ClaimCondition
				if c, err = claimCondition(index(f, i), e); err != nil {
					return err
				}
				r.Claims = append(r.Claims, c)
			}
		default:
			return errf(f, "unknown field")
		}
		return err
	})
	if err != nil {
		return r, err
	}
	switch {
	case len(r.Claims) > 0 && r.Requirement == Bypass:
		return r, errf(field, "a bypass rule verifies no token: it takes no scopes, anyScopes or claims")
	case len(r.Claims) > 0 && r.Requirement == RequireAll:
		return r, errf(field, "scopes, anyScopes and claims are not supported with required_all: which issuer's token would they test?")
	case !seenMatch:
		return r, errf(field+".match", "required")
	case !seenReq:
		return r, errf(field+".requirement", "required: one of required, allow_missing, allow_missing_or_failed, bypass, required_all")
	case r.Requirement == Bypass && len(r.Issuers) > 0:
		return r, errf(field+".issuers", "a bypass rule verifies no token, so it takes no issuers")
	case r.Requirement == RequireAll && len(r.Issuers) < 2:
		return r, errf(field+".issuers", "required_all needs at least two issuers")
	}
	return r, nil
}

// requestMatch parses {path|prefix|regex, methods}.
func requestMatch(field string, v gjson.Result, r *RequestRule) error {
	if !v.IsObject() {
		return errf(field, "must be an object with one of path, prefix, regex, and optional methods")
	}
	kinds := 0
	var err error
	err = members(v, field, func(name, f string, mv gjson.Result) error {
		switch name {
		case "path", "prefix":
			kinds++
			r.Path.Kind = MatchExact
			if name == "prefix" {
				r.Path.Kind = MatchPrefix
			}
			if r.Path.Value, err = str(f, mv); err == nil && !strings.HasPrefix(r.Path.Value, "/") {
				err = errf(f, "must start with /")
			}
		case "regex":
			kinds++
			r.Path.Kind = MatchRegex
			if r.Path.Value, err = str(f, mv); err == nil {
				r.Path.Regex, err = compileRegex(f, r.Path.Value)
			}
		case "methods":
			r.Methods, err = methods(f, mv)
		default:
			return errf(f, "unknown field")
		}
		return err
	})
	if err != nil {
		return err
	}
	if kinds != 1 {
		return errf(field, "needs exactly one of path, prefix, regex (prefix \"/\" matches every path)")
	}
	return nil
}

// methods accepts HTTP method names. They are case-sensitive (RFC 9110
// section 9.1), so lower case, which would never match a standard method,
// is refused rather than silently never matching.
func methods(field string, v gjson.Result) ([]string, error) {
	list, err := strList(field, v)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errf(field, "must not be empty (leave it out to match every method)")
	}
	for i, m := range list {
		for j := 0; j < len(m); j++ {
			c := m[j]
			if !isTokenChar(c) || ('a' <= c && c <= 'z') {
				return nil, errf(index(field, i), "invalid method "+strconv.Quote(m)+": methods are case-sensitive tokens such as GET")
			}
		}
	}
	return list, nil
}

// paramNames accepts query parameter names, compared with the request's
// parameter names after percent-decoding.
func paramNames(field string, v gjson.Result) ([]string, error) {
	list, err := strList(field, v)
	if err != nil {
		return nil, err
	}
	for i, p := range list {
		for j := 0; j < len(p); j++ {
			if c := p[j]; c <= ' ' || c >= 0x7f || strings.IndexByte("&=#?%+", c) >= 0 {
				return nil, errf(index(field, i), "invalid query parameter name "+strconv.Quote(p))
			}
		}
	}
	return list, nil
}

// cookieNames accepts cookie names (RFC 6265 section 4.1.1: a token).
func cookieNames(field string, v gjson.Result) ([]string, error) {
	list, err := strList(field, v)
	if err != nil {
		return nil, err
	}
	for i, c := range list {
		for j := 0; j < len(c); j++ {
			if !isTokenChar(c[j]) {
				return nil, errf(index(field, i), "invalid cookie name "+strconv.Quote(c))
			}
		}
	}
	return list, nil
}

// maxClaimPathLength bounds a configured claim path.
const maxClaimPathLength = 256

// ClaimPath turns a configured claim path into a gjson path that means
// nothing but "these member names, nested": names are separated by '.', a
// name that contains a dot writes it as `\.` and a backslash as `\\`; no
// other escape exists. Every character gjson treats specially (wildcards
// '*' '?', '#' queries, '|' pipes, '@' modifiers, '!' literals, ...) is
// escaped, so a configured path can never select more or other than one
// value. A name made of digits also indexes an array, as in gjson.
func ClaimPath(s string) (string, error) {
	if s == "" {
		return "", errors.New("must not be empty")
	}
	if len(s) > maxClaimPathLength {
		return "", errors.New("longer than " + strconv.Itoa(maxClaimPathLength) + " bytes")
	}
	var path, name strings.Builder
	flush := func() error {
		if name.Len() == 0 {
			return errors.New("empty name in claim path " + strconv.Quote(s))
		}
		if path.Len() > 0 {
			path.WriteByte('.')
		}
		path.WriteString(gjson.Escape(name.String()))
		name.Reset()
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 == len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				return "", errors.New("in claim path " + strconv.Quote(s) + `: a backslash must be followed by "." or "\"`)
			}
			i++
			name.WriteByte(s[i])
		case '.':
			if err := flush(); err != nil {
				return "", err
			}
		default:
			if c < 0x20 || c == 0x7f {
				return "", errors.New("claim path " + strconv.Quote(s) + " has a control character")
			}
			name.WriteByte(c)
		}
	}
	if err := flush(); err != nil {
		return "", err
	}
	return path.String(), nil
}

// filterStateName accepts the name of a filter state entry: the filter
// writes "wasm.<name>".
func filterStateName(field string, v gjson.Result) (string, error) {
	s, err := str(field, v)
	if err != nil {
		return "", err
	}
	if s == "" || len(s) > 128 {
		return "", errf(field, "must be 1 to 128 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "", errf(field, "invalid name "+strconv.Quote(s)+": use letters, digits, '_', '-' and '.'")
		}
	}
	return s, nil
}
