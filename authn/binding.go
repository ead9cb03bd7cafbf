package authn

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/dpop"
	"github.com/edgejwt/edgejwt/internal/errdetail"
	"github.com/edgejwt/edgejwt/jwkscache"
	"github.com/edgejwt/edgejwt/verifier"
)

// Sender-constrained tokens: a token whose cnf claim binds it to a DPoP
// key (cnf.jkt, RFC 9449) or to a TLS client certificate (cnf["x5t#S256"],
// RFC 8705) passes only with the proof of that binding, on every request,
// cached token or not. The checks run after the token verified (confirm),
// so that only tokens of a trusted issuer cost a proof check.

// Refusals of the binding checks, besides dpop's. Fixed texts.
var (
	// ErrBoundAsBearer: a DPoP-bound token presented without the DPoP
	// scheme, whatever the rule's dpop mode (RFC 9449 section 7.2).
	ErrBoundAsBearer = errors.New("DPoP-bound token used as a bearer token")
	// ErrDPoPRequired: a bearer token under a rule with dpop mode required.
	ErrDPoPRequired = errors.New("DPoP required")
	// ErrNotDPoPBound: the DPoP scheme with a token that has no cnf.jkt.
	ErrNotDPoPBound = errors.New("token not DPoP-bound")
	// ErrConfirmation: a cnf claim that is not an object of jkt and
	// x5t#S256 strings (one at least): a binding the filter cannot check.
	ErrConfirmation = errors.New("unsupported confirmation method")
	// ErrNoClientCertificate: a certificate-bound token on a connection
	// without a client certificate.
	ErrNoClientCertificate = errors.New("client certificate required")
	// ErrCertificateBinding: a certificate-bound token with another
	// client certificate.
	ErrCertificateBinding = errors.New("certificate binding mismatch")
	// ErrCertificateRequired: a token without cnf["x5t#S256"] under a
	// rule with mtls mode required.
	ErrCertificateRequired = errors.New("certificate-bound token required")
)

var bindingErrors = [...]error{ErrBoundAsBearer, ErrDPoPRequired, ErrNotDPoPBound, ErrConfirmation,
	ErrNoClientCertificate, ErrCertificateBinding, ErrCertificateRequired}

// bindingReason is the text of a binding refusal, or "".
func bindingReason(err error) string {
	for _, s := range bindingErrors {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return dpop.Reason(err)
}

// dpopSource is the token source the DPoP scheme adds to a rule.
var dpopSource = source{kind: fromHeader, name: "authorization", prefix: "DPoP "}

// dpopHeader is the request header of the proof (RFC 9449 section 4.1).
const dpopHeader = "dpop"

// confirmation is what a verified token's cnf claim binds it to.
type confirmation struct {
	jkt string // a DPoP key's thumbprint
	x5t string // a client certificate's SHA-256, base64url
	bad bool   // a cnf the filter cannot check
}

// confirmationOf reads the cnf claim of verified claims.
func confirmationOf(claims verifier.Claims) confirmation {
	cnf := claims.Get("cnf")
	if !cnf.Exists() {
		return confirmation{}
	}
	if !cnf.IsObject() {
		return confirmation{bad: true}
	}
	var c confirmation
	cnf.ForEach(func(k, v gjson.Result) bool {
		var dst *string
		switch k.Str {
		case "jkt":
			dst = &c.jkt
		case "x5t#S256":
			dst = &c.x5t
		}
		if dst == nil || v.Type != gjson.String || v.Str == "" || *dst != "" {
			c.bad = true // another method, a wrong type, or a member twice
			return false
		}
		*dst = v.Str
		return true
	})
	if c.jkt == "" && c.x5t == "" {
		c.bad = true // an empty cnf confirms nothing
	}
	return c
}

// binding is a rule's sender constraints, prepared by New.
type binding struct {
	issuer   string
	dpop     config.DPoP
	dpopMode config.DPoPMode
	mtls     bool // mtls mode required
	opts     dpop.Options
	checker  *dpop.Checker // made on first use, or by ShareDPoPState
	nonce    bool
	algs     string // the algs of the rule's DPoP challenges
}

// senders is the Authenticator's state for sender constraints.
type senders struct {
	// peerCert returns the SHA-256 digest of the connection's client
	// certificate, in hex; ok is false without one.
	peerCert func() (digest string, ok bool)
	// answers are DPoP challenges by rule, code and reason, built once.
	answers map[dpopAnswer]*Response
	algs    []string  // of every DPoP rule, for the missing-token challenge
	missing *Response // the missing-token answer without a DPoP challenge
}

func (a *Authenticator) sendersState() *senders {
	if a.senders == nil {
		a.senders = &senders{answers: map[dpopAnswer]*Response{}}
	}
	return a.senders
}

type dpopAnswer struct {
	rule         int
	code, reason string
}

// addBinding prepares rule r's sender constraints: with DPoP enabled, the
// Authorization: DPoP source and a proof checker that uses the verifier's
// clock and signature checker (hostCrypto).
func (a *Authenticator) addBinding(r *rule, vo verifier.Options) error {
	d := r.cfg.DPoP
	r.bind = binding{issuer: r.cfg.Issuer, dpop: d, dpopMode: d.Mode, mtls: r.cfg.MTLS.Required, nonce: d.RequireNonce}
	if d.Mode == config.DPoPDisabled {
		return nil
	}
	r.addSource(dpopSource)
	r.bind.opts = dpop.Options{
		Algorithms: d.Algorithms, MaxAge: d.MaxAge, ClockSkew: d.ClockSkew,
		Origins: d.Origins, Now: vo.Now, Signatures: vo.Signatures,
	}
	if r.bind.opts.Now == nil {
		r.bind.opts.Now = time.Now
	}
	c, err := dpop.NewChecker(r.bind.opts)
	if err != nil {
		return &config.Error{Field: "jwtRules[" + strconv.Itoa(r.index) + "].dpop", Msg: err.Error()}
	}
	r.bind.opts.Algorithms = c.Algorithms()
	r.bind.algs = strings.Join(c.Algorithms(), " ")
	s := a.sendersState()
	for _, alg := range c.Algorithms() {
		if !contains(s.algs, alg) {
			s.algs = append(s.algs, alg)
		}
	}
	// A request without a token is told of DPoP too (RFC 9449 section
	// 7.1): a second challenge, with every algorithm of every DPoP rule.
	if s.missing == nil {
		s.missing = a.responses.missing
	}
	m := *s.missing
	m.Headers = append(m.Headers[:len(m.Headers):len(m.Headers)], [2]string{"www-authenticate",
		`DPoP realm="` + a.responses.realm + `", algs="` + strings.Join(s.algs, " ") + `"`})
	a.responses.missing = &m
	return nil
}

// ShareDPoPState keeps the replay caches and the nonce secret of the DPoP
// rules in store (Envoy's shared data), so that the workers of one Envoy
// see each other's proofs; it creates the replay caches' buckets now. The
// filter calls it once, at plugin start (dpop.NewMemoryStore serves a
// process of its own). Until it is called every DPoP proof is refused.
func (a *Authenticator) ShareDPoPState(store jwkscache.Store) error {
	for _, r := range a.rules {
		if r.bind.dpopMode == config.DPoPDisabled {
			continue
		}
		if err := r.bind.makeChecker(store); err != nil {
			return &config.Error{Field: "jwtRules[" + strconv.Itoa(r.index) + "].dpop", Msg: err.Error()}
		}
	}
	return nil
}

// SetPeerCertificate gives the Authenticator the client certificate of the
// request in progress: fn returns its SHA-256 digest in hex (Envoy's
// connection.sha256_peer_certificate_digest), ok false without one. It is
// only called for tokens that are certificate-bound, or under mtls mode
// required.
func (a *Authenticator) SetPeerCertificate(fn func() (digest string, ok bool)) {
	a.sendersState().peerCert = fn
}

func (b *binding) makeChecker(store jwkscache.Store) error {
	o := b.opts
	var err error
	if o.Replay, err = dpop.NewReplayCache(store, b.issuer, b.dpop.ReplayCacheSize, b.dpop.MaxAge); err != nil {
		return err
	}
	if b.nonce {
		if o.Nonces, err = dpop.NewNonces(store, b.dpop.NonceLifetime); err != nil {
			return err
		}
	}
	b.checker, err = dpop.NewChecker(o)
	return err
}

// refuse is the decision for a token of rule r that failed verification
// (err): a request made with the DPoP scheme is answered with a DPoP
// challenge (RFC 9449 section 7.1).
func (a *Authenticator) refuse(r *rule, f *found, err error) Decision {
	if r.bind.dpopMode != config.DPoPDisabled && f.from(dpopSource) {
		return Decision{Outcome: Deny, Rule: r.index, Err: err, Response: a.dpopResponse(r, "invalid_token", err)}
	}
	return a.deny(r.index, err)
}

// bindingDeny is the decision for a verified token of rule r whose sender
// constraint failed (err): a DPoP challenge when the request used the DPoP
// scheme, DPoP is required, or the proof's check has an error code of its
// own (use_dpop_nonce, invalid_dpop_proof); else a Bearer one.
func (a *Authenticator) bindingDeny(r *rule, err error, usedDPoP bool) Decision {
	d := Decision{Outcome: Deny, Rule: r.index, Err: err}
	if usedDPoP || errors.Is(err, ErrDPoPRequired) || dpop.Code(err) != "" {
		code := dpop.Code(err)
		if code == "" {
			code = "invalid_token"
		}
		d.Response = a.dpopResponse(r, code, err)
	} else {
		d.Response = a.responses.forError(err)
	}
	return d
}

// dpopForbid is forbid (a request rule's condition i not met, 403) for a
// request made with the DPoP scheme: the same answer with a DPoP challenge
// (RFC 9449 section 7.1 lets RFC 6750's error codes go with the DPoP
// scheme), built once per rule and condition.
func (a *Authenticator) dpopForbid(r *rule, i int) Decision {
	d := a.forbid(r.index, i)
	k := dpopAnswer{rule: r.index, code: "insufficient_scope", reason: strconv.Itoa(i)}
	resp, ok := a.senders.answers[k]
	if !ok {
		c := *d.Response
		c.Headers = make([][2]string, len(d.Response.Headers))
		for j, h := range d.Response.Headers {
			if h[0] == "www-authenticate" && strings.HasPrefix(h[1], "Bearer ") {
				h[1] = "DPoP " + strings.TrimPrefix(h[1], "Bearer ") + `, algs="` + r.bind.algs + `"`
			}
			c.Headers[j] = h
		}
		resp = &c
		a.senders.answers[k] = resp
	}
	d.Response = resp
	return d
}

// from reports whether a token was found in source s.
func (f *found) from(s source) bool {
	for _, p := range f.places[:f.n] {
		if p == s {
			return true
		}
	}
	return false
}

// checkBinding checks the verified token f found, of rule r, against its
// binding cnf and the rule's sender constraints; nil when it may pass.
func (a *Authenticator) checkBinding(req *request, r *rule, f *found, cnf *confirmation, usedDPoP bool) error {
	switch {
	case cnf.bad:
		return ErrConfirmation
	case usedDPoP && cnf.jkt == "":
		return ErrNotDPoPBound
	case usedDPoP:
		if err := r.bind.checkProof(req, f.token, cnf.jkt); err != nil {
			return err
		}
	case cnf.jkt != "":
		return ErrBoundAsBearer
	case r.bind.dpopMode == config.DPoPRequired:
		return ErrDPoPRequired
	}
	if cnf.x5t == "" && !r.bind.mtls {
		return nil
	}
	if cnf.x5t == "" {
		return ErrCertificateRequired
	}
	var digest string
	ok := false
	if a.senders != nil && a.senders.peerCert != nil {
		digest, ok = a.senders.peerCert()
	}
	if !ok || digest == "" {
		return ErrNoClientCertificate
	}
	if !certificateMatches(cnf.x5t, digest) {
		return ErrCertificateBinding
	}
	return nil
}

// errNotShared: ShareDPoPState was not called.
var errNotShared = errdetail.New(dpop.ErrReplayCheck, "no store for the replay cache (ShareDPoPState)")

// checkProof checks the request's DPoP proof for token.
func (b *binding) checkProof(req *request, token, jkt string) error {
	if b.checker == nil {
		return errNotShared
	}
	dr := dpop.Request{Method: req.method, Path: req.path, AccessToken: token, JKT: jkt}
	for _, h := range req.headers {
		switch h[0] {
		case dpopHeader:
			dr.Proof = h[1]
			dr.Proofs++
		case ":scheme":
			dr.Scheme = h[1]
		case ":authority":
			dr.Authority = h[1]
		}
	}
	return b.checker.Check(&dr)
}

// certificateMatches compares a cnf["x5t#S256"] (base64url) with a
// certificate digest in hex, as Envoy gives it.
func certificateMatches(x5t, hexDigest string) bool {
	var sum [32]byte
	if len(hexDigest) != 2*len(sum) || len(x5t) != 43 {
		return false
	}
	// By hand: encoding/hex's errors bring fmt into the RSA-only build.
	for i := range sum {
		hi, lo := unhex(hexDigest[2*i]), unhex(hexDigest[2*i+1])
		if hi < 0 || lo < 0 {
			return false
		}
		sum[i] = byte(hi<<4 | lo)
	}
	var enc [43]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	return string(enc[:]) == x5t
}

// dpopResponse is the 401 with a DPoP challenge for err: built once per
// rule, code and reason; a use_dpop_nonce answer carries a fresh nonce.
func (a *Authenticator) dpopResponse(r *rule, code string, err error) *Response {
	reason := Reason(err)
	k := dpopAnswer{rule: r.index, code: code, reason: reason}
	resp, ok := a.senders.answers[k]
	if !ok {
		challenge := `DPoP realm="` + a.responses.realm + `", error="` + code + `"`
		if !a.responses.strip {
			challenge += `, error_description="` + reason + `"`
		}
		challenge += `, algs="` + r.bind.algs + `"`
		resp = a.responses.build(401, challenge, `{"error":"Invalid token","details":`+jsonString(reason)+`}`)
		a.senders.answers[k] = resp
	}
	if code == "use_dpop_nonce" && r.bind.checker != nil && r.bind.checker.Nonces() != nil {
		withNonce := *resp
		withNonce.Headers = append(resp.Headers[:len(resp.Headers):len(resp.Headers)],
			[2]string{"dpop-nonce", r.bind.checker.Nonces().Issue(r.bind.opts.Now())})
		return &withNonce
	}
	return resp
}
