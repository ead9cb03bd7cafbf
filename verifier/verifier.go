package verifier

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Key is a parsed, validated public key (made by jwkscache from a JWKS).
type Key struct {
	ID        string // JWK "kid" ("" if absent)
	Algorithm string // JWK "alg" ("" if absent); when set it must equal the token's alg
	Use       string // JWK "use" ("" or "sig")
	// RSA is the key of an RSA JWK (RS*, PS*); Public the key of any other
	// (*ecdsa.PublicKey, ed25519.PublicKey).
	RSA    *RSAKey
	Public crypto.PublicKey
	// DER is the key as DER SubjectPublicKeyInfo, made once per key set
	// for a SignatureChecker that hands keys to native code; may be nil.
	DER []byte
}

// RSAKey is an RSA public key as a JWK gives it. The *rsa.PublicKey is
// made on its first verification and kept: the Wasm build's crypto/rsa
// keeps its Montgomery precomputation in it (cmd/wasmbuild's patch), which
// would otherwise be redone for every signature.
type RSAKey struct {
	N []byte // the modulus, big-endian, without leading zeros
	E int    // the public exponent

	// pub is the *rsa.PublicKey, held as an unsafe.Pointer because a
	// *big.Int reachable from the filter's types keeps math/big's decimal
	// formatting (reachable through reflection) in the Wasm module: 0.2 MB,
	// and a fifth of a second of every Envoy start.
	pub unsafe.Pointer
}

// BitLen is the size of the modulus in bits.
func (k *RSAKey) BitLen() int {
	if len(k.N) == 0 {
		return 0
	}
	return (len(k.N)-1)*8 + bits.Len8(k.N[0])
}

// KeySource finds the key for a token. Implemented by jwkscache.
// It returns ErrUnknownKID (wrapped or bare) when no usable key matches.
// kid is "" when the token has none; what that means is the source's call.
// Any other error is reported as ErrUnknownKID with the error's text as
// log detail, so that text must be safe to log.
type KeySource interface {
	Key(kid, alg string) (*Key, error)
}

// DefaultClockSkew is the clock skew used when Options.ClockSkew is zero.
const DefaultClockSkew = 60 * time.Second

// Options configure a Verifier.
type Options struct {
	Issuer            string        // required; exact match with "iss"
	Audiences         []string      // if non-empty, "aud" (string or array of strings) must contain one
	Algorithms        []string      // allow-list; empty means ["RS256"]; "none" and HS* refused by New
	ClockSkew         time.Duration // default 60s when zero; negative is an error in New
	RequireExpiration bool          // exp must be present (callers pass true by default)
	// MaxLifetime, when positive, requires exp and refuses a token whose
	// remaining lifetime, exp minus now, exceeds it by more than the clock
	// skew (jwt_authn's max_lifetime).
	MaxLifetime time.Duration
	// Subject, when set, must accept the token's sub; a token without sub
	// is refused (jwt_authn's subjects).
	Subject func(sub string) bool
	Now     func() time.Time // default time.Now
	// Signatures, when set, is asked first to check a signature (the
	// filter's opt-in use of Envoy's native crypto); the standard library
	// checks what it does not handle.
	Signatures SignatureChecker
}

// SignatureChecker checks sig over input with k for alg outside the Go
// standard library. handled is false when it cannot check this signature,
// and the verifier then checks it itself. It is only called with a key that
// suits alg.
type SignatureChecker func(alg string, k *Key, input, sig []byte) (valid, handled bool)

// Verifier checks tokens for one issuer. It is immutable and safe for
// concurrent use.
type Verifier struct {
	issuer     string
	audiences  []string
	algs       algSet
	skew       float64 // seconds
	requireExp bool
	maxLife    float64 // seconds; 0 = unlimited
	subject    func(string) bool
	now        func() time.Time
	sigs       SignatureChecker
}

// New validates o and returns a Verifier. Errors from New are
// configuration errors, not token errors.
func New(o Options) (*Verifier, error) {
	if o.Issuer == "" {
		return nil, errors.New("verifier: issuer is required")
	}
	for _, a := range o.Audiences {
		if a == "" {
			return nil, errors.New("verifier: empty audience")
		}
	}
	if o.ClockSkew < 0 {
		return nil, errors.New("verifier: negative clock skew")
	}
	if o.MaxLifetime < 0 {
		return nil, errors.New("verifier: negative maximum lifetime")
	}
	v := &Verifier{
		issuer:     o.Issuer,
		audiences:  append([]string(nil), o.Audiences...),
		skew:       o.ClockSkew.Seconds(),
		requireExp: o.RequireExpiration || o.MaxLifetime > 0,
		maxLife:    o.MaxLifetime.Seconds(),
		subject:    o.Subject,
		now:        o.Now,
		sigs:       o.Signatures,
	}
	if o.ClockSkew == 0 {
		v.skew = DefaultClockSkew.Seconds()
	}
	if v.now == nil {
		v.now = time.Now
	}
	names := o.Algorithms
	if len(names) == 0 {
		names = []string{"RS256"}
	}
	for _, name := range names {
		if isForbidden(name) {
			return nil, errors.New("verifier: algorithm " + quoteBounded(name) + " is never allowed")
		}
		a := lookupAlgorithm(name)
		if a == algUnknown || !a.compiled() {
			return nil, errors.New("verifier: unsupported algorithm " + quoteBounded(name) +
				" (supported: [" + strings.Join(SupportedAlgorithms(), " ") + "])")
		}
		v.algs.add(a)
	}
	return v, nil
}

// Verify checks the token's alg against the allow-list, gets the key from
// keys, checks the signature and then the claims, in that order. On success
// it returns the claims. Every error wraps one of the package's sentinels.
func (v *Verifier) Verify(t *Token, keys KeySource) (Claims, error) {
	if t == nil {
		return Claims{}, errNilToken
	}
	// "none" and HS* never map to an algorithm, so they stop here whatever
	// the allow-list says.
	a := lookupAlgorithm(t.alg)
	if a == algUnknown {
		return Claims{}, errAlgUnknown
	}
	if !v.algs.has(a) {
		return Claims{}, errAlgNotAllowed
	}
	if keys == nil {
		return Claims{}, errNoKeySource
	}
	k, err := keys.Key(t.kid, t.alg)
	if err != nil {
		if errors.Is(err, ErrUnknownKID) {
			return Claims{}, err
		}
		// Only ErrUnknownKID may decide Reason: err's text is detail.
		return Claims{}, detail(ErrUnknownKID, err.Error())
	}
	if err := checkKey(a, k); err != nil {
		return Claims{}, err
	}
	if err := v.checkSignature(a, k, t); err != nil {
		return Claims{}, err
	}
	if err := v.checkClaims(&t.claims); err != nil {
		return Claims{}, err
	}
	return Claims{raw: t.payload, json: t.payloadBytes}, nil
}

func (v *Verifier) checkSignature(a algorithm, k *Key, t *Token) error {
	if v.sigs != nil {
		if valid, handled := v.sigs(t.alg, k, t.signingInput, t.sig); handled {
			if !valid {
				return ErrBadSignature
			}
			return nil
		}
	}
	return verifySignature(a, k, t.signingInput, t.sig)
}

// quoteBounded quotes at most the first 32 characters of s, as %.32q does.
func quoteBounded(s string) string {
	n := 0
	for i := range s {
		if n == 32 {
			return strconv.Quote(s[:i])
		}
		n++
	}
	return strconv.Quote(s)
}

// publicKey is k for crypto/rsa, made once.
func (k *RSAKey) publicKey() *rsa.PublicKey {
	if p := atomic.LoadPointer(&k.pub); p != nil {
		return (*rsa.PublicKey)(p)
	}
	p := &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: k.E}
	atomic.StorePointer(&k.pub, unsafe.Pointer(p))
	return p
}
