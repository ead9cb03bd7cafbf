// Package authn decides what happens to one request: it picks the request
// rule that applies (by path and method), finds the token in the request
// headers, query or cookies, picks the jwtRule of the token's issuer,
// verifies the token with that rule's keys and says which headers to strip
// and add, or which answer to send. It is plain Go; package main applies
// the decision through proxy-wasm.
package authn

import (
	"errors"
	"strconv"
	"time"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/verifier"
)

// Errors of the filter itself, next to the verifier's.
var (
	ErrNoToken        = errors.New("no token")
	ErrMultipleTokens = errors.New("multiple tokens")
	ErrPathNotNormal  = errors.New("path not in normal form")
	// ErrMethodOverride refuses a request that asks the application to run
	// another method than its own (X-HTTP-Method-Override, X-HTTP-Method,
	// X-Method-Override, a _method parameter) where rules decide by method.
	ErrMethodOverride = errors.New("method override not allowed")
)

// Outcome is what to do with the request.
type Outcome int

const (
	Allow Outcome = iota // continue, after Remove and Set
	Deny                 // send Response
	Wait                 // hold the request until Rule's keys are loaded
)

// Decision is the result of Authenticate.
type Decision struct {
	Outcome     Outcome
	Rule        int         // the jwtRule that matched (Allow, Wait; Deny when known); -1 if none
	Err         error       // why the request was denied (or, for an allowed failed token, why it failed)
	Response    *Response   // Deny
	Remove      []string    // Allow: headers to remove before Set
	Set         [][2]string // Allow: headers to set (replacing), ":path" included
	FilterState [][2]string // Allow: filter state entries to set, name ("wasm." is prefixed by Envoy) and value
	// FromCache marks an Allow served from the verified-token cache.
	FromCache bool
	// Fallback, for Wait, is the decision to apply if the keys do not
	// arrive in time; nil means Unavailable (503).
	Fallback *Decision
}

// KeysUnavailable reports whether d is the answer to a request whose keys
// did not arrive in time (see Unavailable).
func (d Decision) KeysUnavailable() bool { return errors.Is(d.Err, errKeysUnavailable) }

// Authenticator holds everything derived from the configuration.
type Authenticator struct {
	rules        []*rule
	byIssuer     map[string]*rule
	strip        []string
	maxToken     int
	allowDup     bool
	bypassCORS   bool
	requestRules []requestRule
	required     *requirement // no rule matched, or no rules
	cache        *tokenCache  // nil when disabled
	bypass       *requirement // CORS preflight
	responses    *responses
	policy       *policy  // the request rules' claim conditions; nil without any
	senders      *senders // sender constraints (binding.go); nil without any
}

type rule struct {
	index    int
	cfg      config.Rule
	verifier *verifier.Verifier
	sources  []source // where this issuer's tokens may come from
	bind     binding  // sender constraints (binding.go)
}

// Option adjusts an Authenticator.
type Option func(*verifier.Options)

// WithSignatureChecker has signatures checked by sigs first (Envoy's native
// crypto, when the configuration asks for it).
func WithSignatureChecker(sigs verifier.SignatureChecker) Option {
	return func(o *verifier.Options) { o.Signatures = sigs }
}

// WithClock has the verifiers and the token cache read the time from now
// (default time.Now). In Wasm every time.Now is a host call; the filter
// reads the clock once per request and serves that.
func WithClock(now func() time.Time) Option {
	return func(o *verifier.Options) { o.Now = now }
}

// New derives an Authenticator from a parsed configuration.
func New(cfg *config.Config, opts ...Option) (*Authenticator, error) {
	a := &Authenticator{
		byIssuer:   map[string]*rule{},
		maxToken:   cfg.MaxTokenSize,
		allowDup:   cfg.AllowDuplicateToken,
		bypassCORS: cfg.BypassCORSPreflight,
		responses:  newResponses(cfg.Realm, cfg.StripFailureResponse),
	}
	clock := verifier.Options{Now: time.Now}
	for _, o := range opts {
		o(&clock)
	}
	a.cache = newTokenCache(cfg.TokenCacheSize, cfg.TokenCacheBytes, clock.Now)
	stripped := map[string]bool{}
	for i, rc := range cfg.Rules {
		field := "jwtRules[" + strconv.Itoa(i) + "]"
		vo := verifier.Options{
			Issuer:            rc.Issuer,
			Audiences:         rc.Audiences,
			Algorithms:        rc.Algorithms,
			ClockSkew:         rc.ClockSkew,
			RequireExpiration: rc.RequireExpiration,
			MaxLifetime:       rc.MaxLifetime,
		}
		if len(rc.Subjects) > 0 {
			vo.Subject = subjectMatcher(rc.Subjects)
		}
		for _, o := range opts {
			o(&vo)
		}
		v, err := verifier.New(vo)
		if err != nil {
			return nil, &config.Error{Field: field, Msg: err.Error()}
		}
		r := &rule{index: i, cfg: rc, verifier: v}
		for _, hs := range rc.FromHeaders {
			r.addSource(source{kind: fromHeader, name: hs.Name, prefix: hs.Prefix})
		}
		for _, p := range rc.FromParams {
			r.addSource(source{kind: fromParam, name: p})
		}
		for _, c := range rc.FromCookies {
			r.addSource(source{kind: fromCookie, name: c})
		}
		if err := a.addBinding(r, vo); err != nil {
			return nil, err
		}
		out := rc.OutputClaimHeaders
		names := make([]string, 0, len(out)+1)
		if rc.OutputPayloadHeader != "" {
			names = append(names, rc.OutputPayloadHeader)
		}
		for _, ch := range out {
			names = append(names, ch.Header)
		}
		for _, n := range names {
			if n == "cookie" {
				return nil, &config.Error{Field: field, Msg: "the cookie header cannot be an output"}
			}
			if !stripped[n] {
				stripped[n] = true
				a.strip = append(a.strip, n)
			}
		}
		a.rules = append(a.rules, r)
		a.byIssuer[rc.Issuer] = r
	}
	for _, r := range a.rules {
		for _, s := range r.sources {
			if s.kind == fromHeader && stripped[s.name] {
				return nil, &config.Error{Field: "jwtRules[" + strconv.Itoa(r.index) + "]", Msg: "header " + s.name + " is both a token source and an output"}
			}
		}
	}

	a.required = a.newRequirement(config.RequireToken, nil)
	a.bypass = &requirement{mode: config.Bypass}
	for i, rr := range cfg.RequestRules {
		req := a.required
		switch {
		case rr.Requirement == config.Bypass:
			req = a.bypass
		case rr.Requirement == config.RequireAll:
			var err error
			if req, err = a.newRequireAll(i, rr.Issuers); err != nil {
				return nil, err
			}
		case rr.HasConditions():
			// Conditions need a token: under allow_missing, a request
			// without one is refused as under required (as Istio's
			// AuthorizationPolicy refuses it: its claims are absent).
			mode := rr.Requirement
			if mode == config.AllowMissing {
				mode = config.RequireToken
			}
			req = a.newRequirement(mode, rr.Issuers)
			a.addConditions(req, cfg.RequestRules[i].Claims)
		case rr.Requirement != config.RequireToken || len(rr.Issuers) > 0:
			req = a.newRequirement(rr.Requirement, rr.Issuers)
		}
		a.requestRules = append(a.requestRules, requestRule{cfg: rr, req: req})
	}
	return a, nil
}

func (r *rule) addSource(s source) {
	if !r.accepts(s) {
		r.sources = append(r.sources, s)
	}
}

// accepts reports whether the rule reads tokens from s. A rule has a few
// sources: a scan beats hashing a struct of strings.
func (r *rule) accepts(s source) bool {
	for _, x := range r.sources {
		if x == s {
			return true
		}
	}
	return false
}

// newRequirement prepares a requirement for the given issuers (nil: all).
func (a *Authenticator) newRequirement(mode config.Requirement, issuers []string) *requirement {
	req := &requirement{mode: mode, allowed: make([]bool, len(a.rules)), ext: newExtractor()}
	for _, r := range a.rules {
		if issuers != nil && !contains(issuers, r.cfg.Issuer) {
			continue
		}
		req.allowed[r.index] = true
		for _, s := range r.sources {
			req.ext.add(s)
		}
	}
	return req
}

func subjectMatcher(ms []config.StringMatcher) func(string) bool {
	return func(sub string) bool {
		for i := range ms {
			if ms[i].Match(sub) {
				return true
			}
		}
		return false
	}
}

// Strip lists the output headers, removed from every request before the
// filter adds its own, so that a client cannot forge them.
func (a *Authenticator) Strip() []string { return a.strip }

// LookAlikes appends to dst the names of the request's headers that an
// upstream may read as one of the output headers, so that they are removed
// from every request too: the output's own name, and every name equal to
// it once '_' reads as '-' and case is folded. CGI and its heirs (PHP,
// WSGI's HTTP_X_JWT_SUB, nginx with underscores_in_headers) read
// "x_jwt_sub" and "X-Jwt-Sub" as one variable, and a forged one could win.
func (a *Authenticator) LookAlikes(headers [][2]string, dst []string) []string {
	for _, h := range headers {
		if a.looksLikeOutput(h[0]) && !contains(dst, h[0]) {
			dst = append(dst, h[0])
		}
	}
	return dst
}

func (a *Authenticator) looksLikeOutput(name string) bool {
	for _, out := range a.strip {
		if len(out) != len(name) {
			continue
		}
		same := true
		for i := 0; i < len(name) && same; i++ {
			c, o := name[i], out[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			same = c == o || c == '_' && o == '-'
		}
		if same {
			return true
		}
	}
	return false
}

// KeysFunc returns the key set of rule i, or nil while none is loaded.
type KeysFunc func(rule int) verifier.KeySource

// Authenticate decides on a request from its headers (names in lower case,
// as Envoy gives them; the pseudo-headers :path and :method included),
// taking a body to be announced by the headers alone (Content-Length,
// Transfer-Encoding).
func (a *Authenticator) Authenticate(headers [][2]string, keys KeysFunc) Decision {
	return a.AuthenticateStream(headers, true, keys)
}

// AuthenticateStream is Authenticate with the host's end-of-stream flag:
// false when a body follows the headers.
func (a *Authenticator) AuthenticateStream(headers [][2]string, endOfStream bool, keys KeysFunc) Decision {
	req := readRequest(headers, endOfStream)
	want, err := a.choose(&req)
	switch {
	case err != nil:
		return Decision{Outcome: Deny, Rule: -1, Err: err, Response: a.responses.badRequest(err)}
	case want.mode == config.Bypass:
		return Decision{Outcome: Allow, Rule: -1}
	}
	if want.mode == config.RequireAll {
		return a.verifyAll(&req, want, keys)
	}
	f := want.ext.extract(&req, a.allowDup)
	if f.count == 0 {
		if want.mode == config.RequireToken {
			return a.deny(-1, ErrNoToken)
		}
		return Decision{Outcome: Allow, Rule: -1}
	}
	d := a.verify(&req, want, &f, keys)
	if d.Outcome == Wait && want.mode == config.AllowMissingOrFailed {
		fb := a.failed(&req, &f, d.Rule, errKeysUnavailable)
		d.Fallback = &fb
	}
	if d.Outcome == Deny && want.mode == config.AllowMissingOrFailed {
		return a.failed(&req, &f, d.Rule, d.Err)
	}
	return d
}

// verify decides on the token found: Allow with the claims, Deny, or Wait
// for the keys of its issuer.
func (a *Authenticator) verify(req *request, want *requirement, f *found, keys KeysFunc) Decision {
	if f.multiple {
		return a.deny(-1, ErrMultipleTokens)
	}
	// The cache holds verified tokens only, which never contain a
	// separator: a hit needs no scan for one.
	if e := a.cache.get(f.token, keys); e != nil {
		if r := a.rules[e.rule]; want.allowed[r.index] && r.acceptsAll(f) {
			d := a.conclude(req, want, r, f, &e.cnf, &e.verdict, e.set, e.filterState)
			d.FromCache = d.Outcome == Allow
			return d
		}
	}
	tok, err := verifier.Parse(f.token, a.maxToken)
	if err != nil {
		if len(f.token) > 0 && f.token[0] > ' ' && hasSeparator(f.token) {
			// "Bearer a b": two words after the scheme (RFC 6750 section
			// 2.1 allows one). A separator never parses, so only a token
			// that failed is scanned for one. A token that starts with a
			// control character is a malformed credential instead (see
			// afterPrefix).
			return a.deny(-1, ErrMultipleTokens)
		}
		return a.deny(-1, err)
	}
	// A token whose issuer is unknown, not allowed here, or that came from a
	// place its issuer does not read tokens from, is refused without a
	// fetch or a signature check.
	r := a.byIssuer[tok.UnverifiedIssuer()]
	if r == nil || !want.allowed[r.index] {
		return a.deny(-1, verifier.ErrIssuer)
	}
	if !r.acceptsAll(f) {
		return a.deny(-1, verifier.ErrIssuer)
	}
	ks := keys(r.index)
	if ks == nil {
		return Decision{Outcome: Wait, Rule: r.index}
	}
	claims, err := r.verifier.Verify(tok, ks)
	if err != nil {
		return a.refuse(r, f, err)
	}
	var out, fs [][2]string
	if h := r.cfg.OutputPayloadHeader; h != "" {
		out = append(out, [2]string{h, tok.RawPayloadSegment()})
	}
	for _, ch := range r.cfg.OutputClaimHeaders {
		if v, ok := claimHeaderValue(claims.Get(ch.Path)); ok {
			out = append(out, [2]string{ch.Header, v})
		}
	}
	if name := r.cfg.OutputPayloadFilterState; name != "" {
		fs = [][2]string{{name, string(claims.JSON())}}
	}
	var v verdict
	if a.policy != nil {
		v = a.policy.evaluate(claims, r.cfg.SpaceDelimitedClaims)
	}
	cnf := confirmationOf(claims)
	a.cache.put(f.token, r.index, ks, claims.Get("exp").Float(), r.cfg.ClockSkew, out, fs, v, cnf)
	return a.conclude(req, want, r, f, &cnf, &v, out, fs)
}

// conclude decides on a verified token f found, of rule r, whose binding
// is cnf, whose verdict is v and whose outputs are set and fs: the sender
// constraints first (a token without its proof is not authenticated: 401),
// then the request rule's conditions (403), else Allow. A plain bearer
// token under a rule without sender constraints allocates nothing here.
func (a *Authenticator) conclude(req *request, want *requirement, r *rule, f *found, cnf *confirmation, v *verdict, set, fs [][2]string) Decision {
	usedDPoP := r.bind.dpopMode != config.DPoPDisabled && f.from(dpopSource)
	if err := a.checkBinding(req, r, f, cnf, usedDPoP); err != nil {
		return a.bindingDeny(r, err, usedDPoP)
	}
	if i := a.policy.unmet(want.conds, req, v); i >= 0 {
		if usedDPoP {
			return a.dpopForbid(r, i)
		}
		return a.forbid(r.index, i)
	}
	d := allow(req, r, f, set, fs)
	if usedDPoP && !r.cfg.ForwardOriginal {
		// d.Remove may be shared (the extractor's): appended to a copy.
		d.Remove = append(d.Remove[:len(d.Remove):len(d.Remove)], dpopHeader)
	}
	return d
}

// allow is the Allow decision for the token f found, verified for rule r,
// whose outputs are set and fs. Its lists may be shared (a cache entry's):
// they are read-only. The common case, a token from one header, allocates
// nothing.
func allow(req *request, r *rule, f *found, set, fs [][2]string) Decision {
	d := Decision{Outcome: Allow, Rule: r.index, FilterState: fs, Set: set}
	switch {
	case r.cfg.ForwardOriginal:
	case f.n == 1 && f.places[0].kind == fromHeader:
		d.Remove = f.removeHeader
	default:
		d.Set = nil
		f.removal(req, &d.Remove, &d.Set)
		d.Set = append(d.Set, set...)
	}
	return d
}

// acceptsAll reports whether every place the token was found is one the
// rule reads tokens from.
func (r *rule) acceptsAll(f *found) bool {
	for _, p := range f.places[:f.n] {
		if !r.accepts(p) {
			return false
		}
	}
	return true
}

// failed is the decision for a token that failed under
// allow_missing_or_failed: the request goes on without claims, and without
// the token (unless its issuer's rule forwards it), so that the upstream
// never mistakes an unverified token for a verified one.
func (a *Authenticator) failed(req *request, f *found, ruleIndex int, err error) Decision {
	d := Decision{Outcome: Allow, Rule: ruleIndex, Err: err}
	if ruleIndex >= 0 && a.rules[ruleIndex].cfg.ForwardOriginal {
		return d
	}
	f.removal(req, &d.Remove, &d.Set)
	return d
}

// KeysMissing is the decision for a request that had to wait for keys (d,
// a Wait decision) and did not get them: d.Fallback under
// allow_missing_or_failed, else Unavailable.
func (a *Authenticator) KeysMissing(d Decision) Decision {
	if d.Fallback != nil {
		return *d.Fallback
	}
	return a.Unavailable(d.Rule)
}

// Unavailable is the decision for a request whose keys did not arrive in time.
func (a *Authenticator) Unavailable(rule int) Decision {
	return Decision{Outcome: Deny, Rule: rule, Err: errKeysUnavailable, Response: a.responses.unavailable}
}

func (a *Authenticator) deny(rule int, err error) Decision {
	return Decision{Outcome: Deny, Rule: rule, Err: err, Response: a.responses.forError(err)}
}
