package authn

import (
	"strconv"
	"strings"

	"github.com/edgejwt/edgejwt/config"
)

// requirement is what one request rule (or the default) asks, with
// everything it needs prepared at configure time.
type requirement struct {
	mode    config.Requirement
	allowed []bool         // by rule index: may this issuer's tokens satisfy it
	ext     *extractor     // the sources of the allowed issuers
	each    []*requirement // RequireAll: one "required" per listed issuer
}

// requestRule is a configured rule with its prepared requirement.
type requestRule struct {
	cfg config.RequestRule
	req *requirement
}

// choose returns the requirement for a request, or nil when the request's
// path is not in normal form and rules are configured (answered 400).
func (a *Authenticator) choose(r *request) *requirement {
	if a.bypassCORS && r.method == "OPTIONS" && r.origin && r.preflightM {
		return a.bypass
	}
	if len(a.requestRules) == 0 || !r.hasPath {
		// Without rules, and for the rare request without a :path (CONNECT),
		// a token is required.
		return a.required
	}
	path := r.path
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if !normalPath(path) {
		return nil
	}
	for _, rr := range a.requestRules {
		if rr.cfg.Matches(r.method, path) {
			return rr.req
		}
	}
	return a.required
}

// normalPath reports whether a request path (without its query) is in a
// normal form, one that a server normalizing it (RFC 3986 sections 6.2.2.2
// and 5.2.4, or the common extensions below) leaves unchanged, so that the
// path the rules saw is the path the upstream serves:
//
//   - it starts with '/';
//   - it holds no backslash and no malformed percent-escape;
//   - no unreserved character (letters, digits, '-', '.', '_', '~') is
//     percent-encoded: URI producers must not encode them (RFC 3986 section
//     2.3), and decoding them could turn a path no rule matches into one a
//     rule protects;
//   - treating "%2F" and "%5C" as '/' too, no segment is empty (no "//"),
//     and no segment is "." or "..", also when followed by a ';' parameter
//     ("..;" is ".." to some servers).
func normalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i, segStart := 1, 1; ; {
		sepLen := 0
	scan:
		for ; i < len(p); i++ {
			switch p[i] {
			case '\\':
				return false
			case '/':
				sepLen = 1
				break scan
			case '%':
				if i+2 >= len(p) || unhex(p[i+1]) < 0 || unhex(p[i+2]) < 0 {
					return false
				}
				d := byte(unhex(p[i+1])<<4 | unhex(p[i+2]))
				if isUnreserved(d) {
					return false
				}
				if d == '/' || d == '\\' {
					sepLen = 3
					break scan
				}
				i += 2
			}
		}
		raw := p[segStart:i]
		seg := raw
		if j := strings.IndexByte(seg, ';'); j >= 0 {
			seg = seg[:j]
		}
		switch {
		case seg == "." || seg == "..":
			return false
		case sepLen == 0:
			return true // the last segment may be empty: a trailing slash
		case raw == "":
			return false // "//"
		}
		i += sepLen
		segStart = i
	}
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// newRequireAll prepares a required_all rule (index i): one "required" per
// issuer. Each issuer's token must come from a header of its own: sources
// shared between them would make "which token is whose" a guess, and two
// rewrites of :path or Cookie (query and cookie sources) would undo each
// other's removal.
func (a *Authenticator) newRequireAll(i int, issuers []string) (*requirement, error) {
	field := "rules[" + strconv.Itoa(i) + "].issuers"
	all := &requirement{mode: config.RequireAll}
	seen := map[string]string{}
	for _, iss := range issuers {
		r := a.byIssuer[iss]
		for _, s := range r.sources {
			if s.kind != fromHeader {
				return nil, &config.Error{Field: field, Msg: "required_all reads tokens from headers only; issuer " + iss + " has a query or cookie source"}
			}
			if other, ok := seen[s.name]; ok && other != iss {
				return nil, &config.Error{Field: field, Msg: "issuers " + other + " and " + iss + " share the header " + s.name}
			}
			seen[s.name] = iss
		}
		all.each = append(all.each, a.newRequirement(config.RequireToken, []string{iss}))
	}
	return all, nil
}

// verifyAll decides a required_all request: every issuer's token, each
// verified as under "required"; the first refusal or wait decides, else the
// removals and outputs of all of them apply.
func (a *Authenticator) verifyAll(req *request, want *requirement, keys KeysFunc) Decision {
	out := Decision{Outcome: Allow, Rule: -1}
	for _, one := range want.each {
		f := one.ext.extract(req, a.allowDup)
		if f.count == 0 {
			return a.deny(-1, ErrNoToken)
		}
		d := a.verify(req, one, &f, keys)
		if d.Outcome != Allow {
			return d
		}
		if out.Rule < 0 {
			out.Rule = d.Rule
		}
		out.Remove = append(out.Remove, d.Remove...)
		out.Set = append(out.Set, d.Set...)
		out.FilterState = append(out.FilterState, d.FilterState...)
	}
	return out
}
