package dpop

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/edgejwt/edgejwt/verifier"
)

// Defaults of Options.
const (
	DefaultMaxAge    = 60 * time.Second
	DefaultClockSkew = 5 * time.Second
)

// Options configure a Checker.
type Options struct {
	// Algorithms is the allow-list of proof algs; empty means every
	// algorithm this build verifies (verifier.SupportedAlgorithms).
	Algorithms []string
	// MaxAge is how old a proof may be (now minus iat); ClockSkew how far
	// its iat may be in the future. Zero means the default.
	MaxAge, ClockSkew time.Duration
	// Origins, when set, are the scheme://authority (NormalizeOrigin)
	// htu must have, instead of the request's :scheme and :authority:
	// behind a proxy that terminates TLS or rewrites the host.
	Origins []string
	Now     func() time.Time // default time.Now
	// Signatures is asked first to check a proof's signature (hostCrypto).
	Signatures verifier.SignatureChecker
	// Replay, when set, refuses a proof seen before (ErrReplayed).
	Replay *ReplayCache
	// Nonces, when set, requires a nonce this Envoy issued (ErrNonce).
	Nonces *Nonces
}

// Checker checks the proofs of one rule.
type Checker struct {
	o Options
}

// NewChecker returns a Checker; its errors are configuration errors.
func NewChecker(o Options) (*Checker, error) {
	if len(o.Algorithms) == 0 {
		o.Algorithms = verifier.SupportedAlgorithms()
	}
	for _, a := range o.Algorithms {
		if !verifier.Compiled(a) {
			return nil, errors.New("dpop: algorithm " + a + " is not supported by this build")
		}
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.ClockSkew <= 0 {
		o.ClockSkew = DefaultClockSkew
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	for i, origin := range o.Origins {
		n, ok := NormalizeOrigin(origin)
		if !ok {
			return nil, errors.New("dpop: origin " + origin + " is not scheme://authority")
		}
		o.Origins[i] = n
	}
	return &Checker{o: o}, nil
}

// Algorithms is the allow-list, for the algs of a challenge.
func (c *Checker) Algorithms() []string { return c.o.Algorithms }

// Nonces is the nonce maker, nil when nonces are not required.
func (c *Checker) Nonces() *Nonces { return c.o.Nonces }

// Request is what Check compares a proof with.
type Request struct {
	Method    string // :method
	Scheme    string // :scheme
	Authority string // :authority
	Path      string // :path, query and all
	// Proof is the DPoP header's value; Proofs how many DPoP headers the
	// request has (exactly one is allowed).
	Proof  string
	Proofs int
	// AccessToken is the token the proof goes with, and JKT the
	// thumbprint it is bound to (its cnf.jkt).
	AccessToken string
	JKT         string
}

// Check checks a request's proof as RFC 9449 section 4.3 says, in this
// order: one DPoP header; a well-formed proof (Parse); alg in the
// allow-list; the signature, with the proof's jwk; htm the request's
// method; htu the request's URI (without query and fragment, both sides
// normalized: targetURI); iat within [now-MaxAge, now+ClockSkew]; ath the
// hash of the access token; the jwk's thumbprint the token's cnf.jkt
// (ErrKeyBinding); the nonce, when required (ErrNonce); and last, so that
// only proofs that pass every other check take room in it, the replay
// cache.
func (c *Checker) Check(r *Request) error {
	switch {
	case r.Proofs == 0:
		return ErrMissing
	case r.Proofs > 1:
		return ErrMultiple
	}
	p, err := Parse(r.Proof)
	if err != nil {
		return err
	}
	if !c.allows(p.alg) {
		return ErrAlgorithm
	}
	if err := verifier.CheckSignature(p.alg, p.key, p.input, p.sig, c.o.Signatures); err != nil {
		if errors.Is(err, verifier.ErrBadSignature) {
			return ErrSignature
		}
		return detail(ErrKey, err.Error()) // the jwk does not suit alg
	}
	if p.htm != r.Method {
		return ErrMethod
	}
	if err := c.checkURI(p.htu, r); err != nil {
		return err
	}
	now := c.o.Now()
	nowSec := float64(now.UnixNano()) / 1e9
	if p.iat < nowSec-c.o.MaxAge.Seconds() || p.iat > nowSec+c.o.ClockSkew.Seconds() {
		return ErrTime
	}
	if !athMatches(p.ath, r.AccessToken) {
		return ErrAccessToken
	}
	if p.thumbprint != r.JKT {
		return ErrKeyBinding
	}
	if c.o.Nonces != nil && (!p.hasNonce || !c.o.Nonces.Valid(p.nonce, now)) {
		return ErrNonce
	}
	if c.o.Replay != nil {
		return c.o.Replay.Check(p.thumbprint, p.jti, seconds(p.iat), now)
	}
	return nil
}

func (c *Checker) allows(alg string) bool {
	for _, a := range c.o.Algorithms {
		if a == alg {
			return true
		}
	}
	return false
}

var errOrigin = detail(ErrURI, "htu's scheme and authority are not the request's")

func (c *Checker) checkURI(htu string, r *Request) error {
	origin, path, ok := targetURI(htu)
	if !ok {
		return errHTUParse
	}
	reqOrigin, reqPath, ok := requestURI(r.Scheme, r.Authority, r.Path)
	if !ok || path != reqPath {
		return ErrURI
	}
	if len(c.o.Origins) == 0 {
		if origin != reqOrigin {
			return errOrigin
		}
		return nil
	}
	for _, o := range c.o.Origins {
		if o == origin {
			return nil
		}
	}
	return errOrigin
}

// athMatches compares ath with the hash of token without allocating.
func athMatches(ath, token string) bool {
	if len(ath) != 43 {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return string(enc[:]) == ath
}
