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
	conds   []int          // the claim conditions a verified token must meet (policy indexes)
}

// requestRule is a configured rule with its prepared requirement.
type requestRule struct {
	cfg config.RequestRule
	req *requirement
}

// choose returns the requirement for a request, or the error that refuses
// it with 400 when rules are configured (or the request would bypass as a
// CORS preflight): a path not in normal form, or a method override. The
// rules must see the path and the method the upstream will serve.
func (a *Authenticator) choose(r *request) (*requirement, error) {
	preflight := a.bypassCORS && r.method == "OPTIONS" && r.origin && r.preflightM
	if (len(a.requestRules) == 0 && !preflight) || !r.hasPath {
		// Without rules, and for the rare request without a :path (CONNECT),
		// a token is required.
		return a.required, nil
	}
	path := r.path
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if !normalPath(path) {
		return nil, ErrPathNotNormal
	}
	if r.override {
		return nil, ErrMethodOverride
	}
	// A real preflight has no body (Fetch standard: it is never sent with
	// one); an OPTIONS that carries one is an ordinary request.
	if preflight && !r.body {
		return a.bypass, nil
	}
	for _, rr := range a.requestRules {
		if rr.cfg.Matches(r.method, path) {
			return rr.req, nil
		}
	}
	return a.required, nil
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
