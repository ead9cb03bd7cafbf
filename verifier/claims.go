package verifier

import (
	"time"

	"github.com/tidwall/gjson"
)

// Registered claims that Verify checks, by index into registered.
const (
	claimIss = iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
	numRegistered
)

// registered holds the registered claims found while parsing the payload;
// a missing claim is the zero Result.
type registered [numRegistered]gjson.Result

func registeredIndex(name string) int {
	switch name {
	case "iss":
		return claimIss
	case "sub":
		return claimSub
	case "aud":
		return claimAud
	case "exp":
		return claimExp
	case "nbf":
		return claimNbf
	case "iat":
		return claimIat
	case "jti":
		return claimJti
	}
	return -1
}

// Claims are the claims of a verified token.
type Claims struct {
	raw  string // payload JSON, for gjson
	json []byte // the same bytes, for callers wanting []byte
}

// Get returns the value at a gjson path in the payload, e.g. "sub" or
// "realm_access.roles".
func (c Claims) Get(path string) gjson.Result { return gjson.Get(c.raw, path) }

// JSON returns the payload JSON. It must not be modified.
func (c Claims) JSON() []byte { return c.json }

// checkClaims validates the registered claims of a token whose signature
// has been verified.
func (v *Verifier) checkClaims(c *registered) error {
	now := v.now()
	nowSec := float64(now.Unix()) + float64(now.Nanosecond())/float64(time.Second)

	exp, hasExp, err := numericDate(c[claimExp], errExpType, errExpRange)
	if err != nil {
		return err
	}
	nbf, hasNbf, err := numericDate(c[claimNbf], errNbfType, errNbfRange)
	if err != nil {
		return err
	}
	iat, hasIat, err := numericDate(c[claimIat], errIatType, errIatRange)
	if err != nil {
		return err
	}
	if err := checkStringClaim(c[claimIss], errIssType); err != nil {
		return err
	}
	if err := checkStringClaim(c[claimSub], errSubType); err != nil {
		return err
	}
	if err := checkStringClaim(c[claimJti], errJtiType); err != nil {
		return err
	}
	aud := c[claimAud]
	if err := checkAudienceType(aud); err != nil {
		return err
	}

	// Comparisons are in float64 seconds: fractions count, and a huge value
	// stays huge instead of wrapping like an int64 or time.Time would.
	switch {
	case !hasExp && v.requireExp:
		return ErrMissingExp
	case hasExp && nowSec > exp+v.skew:
		return ErrExpired
	case hasNbf && nowSec+v.skew < nbf:
		return ErrNotYetValid
	case hasIat && iat > nowSec+v.skew:
		return ErrIssuedInFuture
	case v.maxLife > 0 && exp-nowSec > v.maxLife+v.skew:
		return ErrLifetime
	}

	iss := c[claimIss]
	if !iss.Exists() {
		return errNoIssuer
	}
	if iss.Str != v.issuer {
		return ErrIssuer
	}

	if v.subject != nil {
		sub := c[claimSub]
		if !sub.Exists() {
			return errNoSubject
		}
		if !v.subject(sub.Str) {
			return ErrSubject
		}
	}

	if len(v.audiences) > 0 {
		if !aud.Exists() {
			return errNoAud
		}
		if !v.audienceMatches(aud) {
			return ErrAudience
		}
	}
	return nil
}

// NumericDate bounds: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the
// range of RFC 3339 dates (and of what jwt_authn can represent). A value
// outside, or not finite (JSON allows 1e400, which reads as +Inf: a token
// that never expires), is an invalid claim, never a date.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

// numericDate returns a NumericDate claim's value in seconds and whether it
// is present. Only JSON numbers within the bounds above qualify.
func numericDate(r gjson.Result, typeErr, rangeErr error) (float64, bool, error) {
	if !r.Exists() {
		return 0, false, nil
	}
	if r.Type != gjson.Number {
		return 0, false, typeErr
	}
	// The comparisons are false for NaN, so it is refused too.
	if !(r.Num >= minNumericDate && r.Num <= maxNumericDate) {
		return 0, false, rangeErr
	}
	return r.Num, true, nil
}

func checkStringClaim(r gjson.Result, typeErr error) error {
	if r.Exists() && r.Type != gjson.String {
		return typeErr
	}
	return nil
}

// checkAudienceType accepts a missing aud, a string, or an array of strings.
func checkAudienceType(aud gjson.Result) error {
	switch {
	case !aud.Exists(), aud.Type == gjson.String:
		return nil
	case aud.IsArray():
		ok := true
		aud.ForEach(func(_, e gjson.Result) bool {
			ok = e.Type == gjson.String
			return ok
		})
		if ok {
			return nil
		}
	}
	return errAudType
}

// audienceMatches reports whether aud, already known to be a string or an
// array of strings, contains one of the configured audiences.
func (v *Verifier) audienceMatches(aud gjson.Result) bool {
	if aud.Type == gjson.String {
		return v.acceptsAudience(aud.Str)
	}
	found := false
	aud.ForEach(func(_, e gjson.Result) bool {
		found = v.acceptsAudience(e.Str)
		return !found
	})
	return found
}

func (v *Verifier) acceptsAudience(a string) bool {
	for _, want := range v.audiences {
		if a == want {
			return true
		}
	}
	return false
}
