package config

import (
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/dpop"
)

// Sender-constrained tokens: DPoP (RFC 9449) and certificate-bound tokens
// (RFC 8705), per jwtRules entry.

// DPoPMode says whether a rule accepts, requires or ignores the DPoP scheme.
type DPoPMode uint8

const (
	// DPoPDisabled: "Authorization: DPoP" is not a token source of the
	// rule. A token bound to a DPoP key (cnf.jkt) is still never accepted
	// as a bearer token.
	DPoPDisabled DPoPMode = iota
	// DPoPAllowed: DPoP-bound tokens with their proof, and bearer tokens
	// that are not bound.
	DPoPAllowed
	// DPoPRequired: DPoP-bound tokens with their proof only.
	DPoPRequired
)

// Bounds and defaults of the dpop and mtls objects.
const (
	DefaultDPoPMaxAge        = dpop.DefaultMaxAge
	DefaultDPoPClockSkew     = dpop.DefaultClockSkew
	DefaultDPoPNonceLifetime = 5 * time.Minute
	DefaultReplayCacheSize   = dpop.DefaultReplayCacheSize
	maxDPoPMaxAge            = time.Hour
	maxReplayCacheSize       = 1 << 20
)

// DPoP is a rule's "dpop" object.
type DPoP struct {
	Mode DPoPMode
	// Algorithms of proofs; nil means every algorithm the build verifies.
	Algorithms []string
	MaxAge     time.Duration // oldest iat accepted, before now
	ClockSkew  time.Duration // latest iat accepted, after now
	// Origins are the accepted scheme://authority of htu (normalized);
	// nil means the request's :scheme and :authority.
	Origins         []string
	RequireNonce    bool
	NonceLifetime   time.Duration
	ReplayCacheSize int // proofs remembered for the rule, shared by the workers
}

// MTLS is a rule's "mtls" object: certificate-bound tokens are always
// checked; Required refuses tokens that are not bound.
type MTLS struct {
	Required bool
}

func parseDPoP(field string, v gjson.Result) (DPoP, error) {
	d := DPoP{
		MaxAge:          DefaultDPoPMaxAge,
		ClockSkew:       DefaultDPoPClockSkew,
		NonceLifetime:   DefaultDPoPNonceLifetime,
		ReplayCacheSize: DefaultReplayCacheSize,
	}
	if !v.IsObject() {
		return d, errf(field, "must be an object")
	}
	var err error
	mode := ""
	err = members(v, field, func(name, f string, mv gjson.Result) error {
		switch name {
		case "mode":
			mode, err = str(f, mv)
			switch mode {
			case "disabled":
				d.Mode = DPoPDisabled
			case "allowed":
				d.Mode = DPoPAllowed
			case "required":
				d.Mode = DPoPRequired
			default:
				if err == nil {
					err = errf(f, `must be "disabled", "allowed" or "required"`)
				}
			}
		case "algorithms":
			d.Algorithms, err = algorithms(f, mv)
		case "maxAge":
			d.MaxAge, err = duration(f, mv)
			if err == nil && d.MaxAge > maxDPoPMaxAge {
				err = errf(f, "at most "+maxDPoPMaxAge.String())
			}
		case "clockSkew":
			d.ClockSkew, err = duration(f, mv)
			if err == nil && d.ClockSkew > maxDPoPMaxAge {
				err = errf(f, "at most "+maxDPoPMaxAge.String())
			}
		case "origins":
			d.Origins, err = arrayOf(f, mv, "strings", origin)
		case "requireNonce":
			d.RequireNonce, err = boolean(f, mv)
		case "nonceLifetime":
			d.NonceLifetime, err = duration(f, mv)
		case "replayCacheSize":
			d.ReplayCacheSize, err = positiveInt(f, mv)
			if err == nil && d.ReplayCacheSize > maxReplayCacheSize {
				err = errf(f, "at most "+strconv.Itoa(maxReplayCacheSize))
			}
		default:
			return errf(f, "unknown field")
		}
		return err
	})
	if err == nil && mode == "" {
		err = errf(field+".mode", "required")
	}
	return d, err
}

func origin(field string, v gjson.Result) (string, error) {
	s, err := str(field, v)
	if err != nil {
		return "", err
	}
	n, ok := dpop.NormalizeOrigin(s)
	if !ok {
		return "", errf(field, "must be an http or https scheme://authority, such as \"https://api.example.com\"")
	}
	return n, nil
}

func parseMTLS(field string, v gjson.Result) (MTLS, error) {
	var m MTLS
	if !v.IsObject() {
		return m, errf(field, "must be an object")
	}
	var err error
	mode := ""
	err = members(v, field, func(name, f string, mv gjson.Result) error {
		switch name {
		case "mode":
			mode, err = str(f, mv)
			switch mode {
			case "allowed":
			case "required":
				m.Required = true
			default:
				if err == nil {
					err = errf(f, `must be "allowed" or "required" (a certificate-bound token is always checked)`)
				}
			}
		default:
			return errf(f, "unknown field")
		}
		return err
	})
	if err == nil && mode == "" {
		err = errf(field+".mode", "required")
	}
	return m, err
}
