// Package authn decides what happens to one request: it finds the token in
// the request headers, picks the rule of the token's issuer, verifies the
// token with that rule's keys and says which headers to strip and add, or
// which answer to send. It is plain Go; package main applies the decision
// through proxy-wasm.
package authn

import (
	"errors"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/verifier"
)

// Errors of the filter itself, next to the verifier's.
var (
	ErrNoToken        = errors.New("no token")
	ErrMultipleTokens = errors.New("multiple tokens")
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
	Outcome  Outcome
	Rule     int         // the rule that matched (Allow, Wait; Deny when known)
	Err      error       // why the request was denied
	Response *Response   // Deny
	Remove   []string    // Allow: headers to remove before Set
	Set      [][2]string // Allow: headers to add
}

// Authenticator holds everything derived from the configuration.
type Authenticator struct {
	rules     []*rule
	byIssuer  map[string]*rule
	sources   map[string][]source // header name -> prefixes
	strip     []string
	maxToken  int
	responses *responses
}

type rule struct {
	index    int
	cfg      config.Rule
	verifier *verifier.Verifier
	accepts  map[source]bool // where this issuer's tokens may come from
}

type source struct {
	header string
	prefix string
}

// New derives an Authenticator from a parsed configuration.
func New(cfg *config.Config) (*Authenticator, error) {
	a := &Authenticator{
		byIssuer:  map[string]*rule{},
		sources:   map[string][]source{},
		maxToken:  cfg.MaxTokenSize,
		responses: newResponses(cfg.Realm),
	}
	stripped := map[string]bool{}
	for i, rc := range cfg.Rules {
		v, err := verifier.New(verifier.Options{
			Issuer:            rc.Issuer,
			Audiences:         rc.Audiences,
			Algorithms:        rc.Algorithms,
			ClockSkew:         rc.ClockSkew,
			RequireExpiration: rc.RequireExpiration,
		})
		if err != nil {
			return nil, &config.Error{Field: "jwtRules[" + itoa(i) + "]", Msg: err.Error()}
		}
		r := &rule{index: i, cfg: rc, verifier: v, accepts: map[source]bool{}}
		for _, hs := range rc.FromHeaders {
			s := source{header: hs.Name, prefix: hs.Prefix}
			r.accepts[s] = true
			if !containsSource(a.sources[s.header], s) {
				a.sources[s.header] = append(a.sources[s.header], s)
			}
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
			if !stripped[n] {
				stripped[n] = true
				a.strip = append(a.strip, n)
			}
		}
		a.rules = append(a.rules, r)
		a.byIssuer[rc.Issuer] = r
	}
	for _, r := range a.rules {
		for _, s := range a.strip {
			if _, ok := a.sources[s]; ok {
				return nil, &config.Error{Field: "jwtRules[" + itoa(r.index) + "]", Msg: "header " + s + " is both a token source and an output"}
			}
		}
	}
	return a, nil
}

func containsSource(list []source, s source) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// Strip lists the output headers, removed from every request before the
// filter adds its own, so that a client cannot forge them.
func (a *Authenticator) Strip() []string { return a.strip }

// KeysFunc returns the key set of rule i, or nil while none is loaded.
type KeysFunc func(rule int) verifier.KeySource

// Authenticate decides on a request from its headers (names in lower case,
// as Envoy gives them).
func (a *Authenticator) Authenticate(headers [][2]string, keys KeysFunc) Decision {
	raw, src, err := a.extract(headers)
	if err != nil {
		return a.deny(-1, err)
	}
	tok, err := verifier.Parse(raw, a.maxToken)
	if err != nil {
		return a.deny(-1, err)
	}
	r := a.byIssuer[tok.UnverifiedIssuer()]
	if r == nil || !r.accepts[src] {
		return a.deny(-1, verifier.ErrIssuer)
	}
	ks := keys(r.index)
	if ks == nil {
		return Decision{Outcome: Wait, Rule: r.index}
	}
	claims, err := r.verifier.Verify(tok, ks)
	if err != nil {
		return a.deny(r.index, err)
	}
	d := Decision{Outcome: Allow, Rule: r.index}
	if !r.cfg.ForwardOriginal {
		d.Remove = append(d.Remove, src.header)
	}
	if h := r.cfg.OutputPayloadHeader; h != "" {
		d.Set = append(d.Set, [2]string{h, tok.RawPayloadSegment()})
	}
	for _, ch := range r.cfg.OutputClaimHeaders {
		if v, ok := claimHeaderValue(claims.Get(ch.Claim)); ok {
			d.Set = append(d.Set, [2]string{ch.Header, v})
		}
	}
	return d
}

// Unavailable is the decision for a request whose keys did not arrive in time.
func (a *Authenticator) Unavailable(rule int) Decision {
	return Decision{Outcome: Deny, Rule: rule, Err: errKeysUnavailable, Response: a.responses.unavailable}
}

func (a *Authenticator) deny(rule int, err error) Decision {
	return Decision{Outcome: Deny, Rule: rule, Err: err, Response: a.responses.forError(err)}
}
