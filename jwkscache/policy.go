package jwkscache

import (
	"strconv"
	"strings"
	"time"
)

// Policy is the fetch schedule of one issuer's JWKS. Durations are named
// with what they bound; DefaultPolicy gives the values the README documents.
type Policy struct {
	// RefreshInterval is the time between fetches when the JWKS response
	// has no Cache-Control max-age.
	RefreshInterval time.Duration
	// MinRefreshInterval and MaxRefreshInterval bound a max-age.
	MinRefreshInterval time.Duration
	MaxRefreshInterval time.Duration
	// RetryInterval is the delay after a first failed fetch; it doubles
	// with every further failure up to MaxRetryInterval. Each delay is
	// jittered down by up to half, so that Envoys started together do not
	// retry together.
	RetryInterval    time.Duration
	MaxRetryInterval time.Duration
	// MaxStale is how long the last good key set keeps being used when
	// fetches fail; past it requests are refused (fail closed).
	MaxStale time.Duration
	// UnknownKIDRefetchInterval is the least time between two fetches
	// triggered by tokens whose kid the key set does not hold.
	UnknownKIDRefetchInterval time.Duration
	// FetchTimeout bounds one fetch; a fetch lease lasts that plus a margin.
	FetchTimeout time.Duration
}

// DefaultPolicy returns the documented defaults.
func DefaultPolicy() Policy {
	return Policy{
		RefreshInterval:           10 * time.Minute,
		MinRefreshInterval:        30 * time.Second,
		MaxRefreshInterval:        24 * time.Hour,
		RetryInterval:             1 * time.Second,
		MaxRetryInterval:          60 * time.Second,
		MaxStale:                  24 * time.Hour,
		UnknownKIDRefetchInterval: 5 * time.Second,
		FetchTimeout:              5 * time.Second,
	}
}

// NextRefresh is when a document fetched at `at`, whose response carried
// the given Cache-Control header (possibly empty), should be fetched again.
func (p Policy) NextRefresh(at time.Time, cacheControl string) time.Time {
	d := p.RefreshInterval
	if age, ok := maxAge(cacheControl); ok {
		d = age
	}
	d = max(d, p.MinRefreshInterval)
	if p.MaxRefreshInterval > 0 {
		d = min(d, p.MaxRefreshInterval)
	}
	return at.Add(d)
}

// RetryDelay is the delay after the n-th consecutive failure (n >= 1).
// jitter, in [0, 1), takes up to half of it off.
func (p Policy) RetryDelay(n int, jitter float64) time.Duration {
	d := p.RetryInterval
	for i := 1; i < n && d < p.MaxRetryInterval; i++ {
		d *= 2
	}
	d = min(d, p.MaxRetryInterval)
	return d - time.Duration(float64(d/2)*jitter)
}

// maxAge reads the max-age directive of a Cache-Control header (RFC 9111
// section 5.2.2.1). no-store and no-cache ask for the shortest interval.
// A malformed or repeated max-age is ignored.
func maxAge(cc string) (time.Duration, bool) {
	var age time.Duration
	found := false
	for _, dir := range strings.Split(cc, ",") {
		name, val, hasVal := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache":
			return 0, true
		case "max-age":
			if found || !hasVal {
				return 0, false
			}
			val = strings.Trim(strings.TrimSpace(val), `"`)
			if val == "" || strings.TrimLeft(val, "0123456789") != "" || len(val) > 9 {
				return 0, false
			}
			n, _ := strconv.Atoi(val)
			age, found = time.Duration(n)*time.Second, true
		}
	}
	return age, found
}
