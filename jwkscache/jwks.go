// Package jwkscache owns the issuer's key set inside the filter: parsing a
// JWKS document into verified-usable keys (once per new document), choosing
// the key for a token, the format the document is kept in in proxy-wasm
// shared data, and the fetch schedule. It is plain Go: the proxy-wasm calls
// stay in package main, behind the small Store interface.
package jwkscache

import (
	"crypto"
	"encoding/base64"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/edgejwt/edgejwt/hostcrypto"
	"github.com/edgejwt/edgejwt/internal/errdetail"
	"github.com/edgejwt/edgejwt/verifier"
	"github.com/tidwall/gjson"
)

// Bounds on what an issuer may send; a JWKS is input from the network.
const (
	MaxJWKSSize    = 256 << 10 // bytes of one JWKS document
	MaxKeys        = 100       // keys kept from one document
	MinRSABits     = 2048      // RFC 8725 section 3.5; Go itself accepts 1024
	MaxRSABits     = 8192      // bounds the cost of one verification
	maxRSAExponent = 1<<31 - 1
)

// ErrNoUsableKey is returned when a document parses but holds no key the
// filter can use.
var ErrNoUsableKey = errors.New("jwks: no usable key")

// KeySet is an immutable set of parsed keys; it implements
// verifier.KeySource.
type KeySet struct {
	keys  []*verifier.Key
	byKID map[string]*verifier.Key
}

// Len is the number of usable keys.
func (s *KeySet) Len() int { return len(s.keys) }

// Key chooses the key for a token's kid and alg. With a kid, the key with
// that kid, if it suits alg. Without a kid, the one key of the set that suits
// alg, if there is exactly one (as jwks-rsa does): never "try every key",
// which would also multiply the cost of a forged token.
func (s *KeySet) Key(kid, alg string) (*verifier.Key, error) {
	if kid != "" {
		if k := s.byKID[kid]; k != nil && suits(k, alg) {
			return k, nil
		}
		return nil, verifier.ErrUnknownKID
	}
	var found *verifier.Key
	for _, k := range s.keys {
		if suits(k, alg) {
			if found != nil {
				return nil, errdetail.New(verifier.ErrUnknownKID, "token has no kid and several keys suit "+alg)
			}
			found = k
		}
	}
	if found == nil {
		return nil, verifier.ErrUnknownKID
	}
	return found, nil
}

// suits reports whether a key may verify a token signed with alg.
func suits(k *verifier.Key, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	if k.RSA != nil {
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
		return false
	}
	return ecSuits(k.Public, alg) || okpSuits(k.Public, alg)
}

// Skipped describes a key of a document that was left out, for one log line.
type Skipped struct {
	Index  int
	KID    string
	Reason string
	// Unsafe marks a key that must never be trusted (unsafe.go): a leaked
	// private key, a factorable modulus, a small-order point. Such a key
	// means the issuer's key management is broken, not merely that this
	// filter cannot use the key, and is logged and counted as such.
	Unsafe bool
}

func (s Skipped) String() string {
	return "keys[" + strconv.Itoa(s.Index) + "] (kid " + strconv.Quote(s.KID) + "): " + s.Reason
}

// Parse parses a JWKS document (RFC 7517). Keys that cannot be used safely
// are left out and reported in skipped, without dropping the good keys of
// the same set; a document with no usable key is an error (ErrNoUsableKey),
// as a configured inline JWKS must have one.
func Parse(doc []byte) (set *KeySet, skipped []Skipped, err error) {
	set, skipped, err = ParseKeySet(doc)
	if err == nil && set.Len() == 0 {
		return nil, skipped, ErrNoUsableKey
	}
	return set, skipped, err
}

// ParseKeySet is Parse for a fetched document: a well-formed document with
// no usable key ({"keys":[]}, or only keys that cannot be used) gives an
// empty KeySet, not an error. That is the issuer's word: it has withdrawn
// its keys (revocation), and every token is to be refused.
func ParseKeySet(doc []byte) (set *KeySet, skipped []Skipped, err error) {
	if len(doc) > MaxJWKSSize {
		return nil, nil, errors.New("jwks: document larger than " + strconv.Itoa(MaxJWKSSize) + " bytes")
	}
	if !utf8.Valid(doc) || !gjson.ValidBytes(doc) {
		return nil, nil, errors.New("jwks: not valid JSON")
	}
	root := gjson.ParseBytes(doc)
	if !root.IsObject() {
		return nil, nil, errors.New("jwks: not a JSON object")
	}
	keys, err := uniqueMember(root, "keys")
	if err != nil {
		return nil, nil, err
	}
	if !keys.IsArray() {
		return nil, nil, errors.New(`jwks: "keys" must be an array`)
	}
	set = &KeySet{byKID: map[string]*verifier.Key{}}
	i := 0
	keys.ForEach(func(_, jwk gjson.Result) bool {
		kid := jwk.Get("kid")
		k, reason, unsafe := parseKey(jwk)
		switch {
		case reason != "":
		case len(set.keys) == MaxKeys:
			reason = "more than " + strconv.Itoa(MaxKeys) + " keys"
		case k.ID != "" && set.byKID[k.ID] != nil:
			reason = "duplicate kid"
		}
		if reason != "" {
			skipped = append(skipped, Skipped{Index: i, KID: boundedKID(kid), Reason: reason, Unsafe: unsafe})
		} else {
			set.keys = append(set.keys, k)
			if k.ID != "" {
				set.byKID[k.ID] = k
			}
		}
		i++
		return true
	})
	return set, skipped, nil
}

func boundedKID(v gjson.Result) string {
	s := v.String()
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

// uniqueMember returns obj's member name, refusing a document that names it
// twice (gjson would take the first, encoding/json the last).
func uniqueMember(obj gjson.Result, name string) (gjson.Result, error) {
	var found gjson.Result
	n := 0
	obj.ForEach(func(k, v gjson.Result) bool {
		if k.String() == name {
			found = v
			n++
		}
		return true
	})
	switch n {
	case 0:
		return found, errors.New("jwks: no " + strconv.Quote(name) + " member")
	case 1:
		return found, nil
	}
	return found, errors.New("jwks: " + strconv.Quote(name) + " appears more than once")
}

// parseKey turns one JWK into a key, or says why it cannot be used, and
// whether that is because the key must never be trusted.
func parseKey(jwk gjson.Result) (k *verifier.Key, reason string, unsafe bool) {
	if !jwk.IsObject() {
		return nil, "not a JSON object", false
	}
	m := map[string]gjson.Result{}
	dup := ""
	jwk.ForEach(func(k, v gjson.Result) bool {
		name := k.String()
		if _, ok := m[name]; ok {
			dup = name
			return false
		}
		m[name] = v
		return true
	})
	if dup != "" {
		return nil, "member " + strconv.Quote(boundedName(dup)) + " appears more than once", false
	}
	for _, name := range []string{"kty", "kid", "use", "alg", "crv", "n", "e", "x", "y"} {
		if v, ok := m[name]; ok && v.Type != gjson.String {
			return nil, strconv.Quote(name) + " is not a string", false
		}
	}
	if priv := hasPrivateMembers(func(name string) bool { _, ok := m[name]; return ok }); priv != "" {
		return nil, "the JWK carries private key members (" + priv + "): the issuer has published its signing secret", true
	}
	k = &verifier.Key{ID: m["kid"].String(), Algorithm: m["alg"].String(), Use: m["use"].String()}
	if _, ok := m["use"]; ok && k.Use != "sig" {
		return nil, "use is not sig", false
	}
	if ops, ok := m["key_ops"]; ok {
		if !ops.IsArray() || !containsString(ops, "verify") {
			return nil, `key_ops does not allow "verify"`, false
		}
	}
	var pub crypto.PublicKey
	switch kty := m["kty"].String(); kty {
	case "RSA":
		k.RSA, reason, unsafe = rsaKey(m["n"].String(), m["e"].String())
	case "EC":
		pub, reason = ecKey(m["crv"].String(), m["x"].String(), m["y"].String())
	case "OKP":
		pub, reason, unsafe = okpKey(m["crv"].String(), m["x"].String())
	case "":
		return nil, "no kty", false
	default:
		return nil, "unsupported kty " + boundedName(kty), false
	}
	if reason != "" {
		return nil, reason, unsafe
	}
	k.Public = pub
	if k.RSA != nil {
		k.DER = hostcrypto.RSAPublicKeyDER(k.RSA.N, k.RSA.E)
	} else {
		k.DER = hostcrypto.PublicKeyDER(pub)
	}
	if k.Algorithm != "" && !suits(k, k.Algorithm) {
		return nil, "alg " + boundedName(k.Algorithm) + " does not suit the key", false
	}
	return k, "", false
}

func boundedName(s string) string {
	if len(s) > 32 {
		return strconv.Quote(s[:32]) + "..."
	}
	return strconv.Quote(s)
}

func containsString(arr gjson.Result, s string) bool {
	found := false
	arr.ForEach(func(_, v gjson.Result) bool {
		found = v.Type == gjson.String && v.Str == s
		return !found
	})
	return found
}

// b64 decodes a base64url member strictly: no padding, canonical trailing
// bits, and none of the CR/LF that Go's decoder would skip.
func b64(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil
}

func rsaKey(n64, e64 string) (*verifier.RSAKey, string, bool) {
	n, ok := b64(n64)
	if !ok || len(n) == 0 || n[0] == 0 {
		return nil, "n is not a minimal base64url integer", false
	}
	e, ok := b64(e64)
	if !ok || len(e) == 0 || e[0] == 0 || len(e) > 4 {
		return nil, "e is not a minimal base64url integer", false
	}
	bits := (&verifier.RSAKey{N: n}).BitLen()
	if bits < MinRSABits {
		return nil, "RSA modulus of " + strconv.Itoa(bits) + " bits, under " + strconv.Itoa(MinRSABits), false
	}
	if bits > MaxRSABits {
		return nil, "RSA modulus of " + strconv.Itoa(bits) + " bits, over " + strconv.Itoa(MaxRSABits), false
	}
	var ev uint64
	for _, b := range e {
		ev = ev<<8 | uint64(b)
	}
	if ev < 3 || ev%2 == 0 || ev > maxRSAExponent {
		return nil, "RSA exponent is not an odd number from 3 to 2^31-1", false
	}
	if p := smallFactor(n); p != 0 {
		return nil, "RSA modulus divisible by " + strconv.Itoa(int(p)) + ": factorable", true
	}
	if hasROCAFingerprint(n) {
		return nil, "RSA modulus has the ROCA fingerprint (CVE-2017-15361): factorable", true
	}
	return &verifier.RSAKey{N: n, E: int(ev)}, "", false
}
