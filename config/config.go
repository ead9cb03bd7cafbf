// Package config parses the filter's JSON configuration, once, when the
// plugin starts. Parsing is strict: an unknown field, a wrong type, a missing
// issuer or key source or an invalid duration is an error naming the field,
// so that a mistyped option can never silently weaken authentication.
package config

import (
	"time"
)

// Defaults, named with their units.
const (
	DefaultRealm                 = "edgejwt"
	DefaultPendingRequestTimeout = 5 * time.Second
	DefaultMaxPendingRequests    = 1024
	DefaultMaxTokenSize          = 8192
	DefaultTokenCacheSize        = 1000
	DefaultTokenCacheBytes       = 4 << 20
	DefaultFetchTimeout          = 5 * time.Second
	DefaultRefreshInterval       = 10 * time.Minute
	DefaultMinRefreshInterval    = 30 * time.Second
	DefaultMaxRefreshInterval    = 24 * time.Hour
	DefaultRetryInterval         = 1 * time.Second
	DefaultMaxRetryInterval      = 60 * time.Second
	DefaultMaxStale              = 24 * time.Hour
	DefaultUnknownKIDRefetch     = 3 * time.Second
	DefaultClockSkew             = 60 * time.Second
	DefaultAlgorithm             = "RS256"
	DefaultParam                 = "access_token" // RFC 6750 section 2.3

	// maxRegexLength bounds one configured regular expression.
	maxRegexLength = 1024

	// maxConfigSize bounds the configuration document (an inline JWKS included).
	maxConfigSize = 1 << 20
)

// Config is the whole filter configuration.
type Config struct {
	Rules                 []Rule
	Realm                 string
	PendingRequestTimeout time.Duration
	MaxPendingRequests    int
	MaxTokenSize          int
	TokenCacheSize        int // verified tokens remembered per VM; 0 disables the cache
	TokenCacheBytes       int
	// HostCrypto has RS256/384/512 and ES256/384 signatures checked by Envoy's native
	// verify_signature foreign function, the standard library being the
	// fallback wherever the host lacks it.
	HostCrypto bool

	// RequestRules say which requests need a token and from which issuers
	// (JSON "rules"); the first that matches applies. A request no rule
	// matches, and every request when there are none, needs a valid token
	// from any issuer.
	RequestRules []RequestRule
	// BypassCORSPreflight lets OPTIONS requests carrying Origin and
	// Access-Control-Request-Method through without a token.
	BypassCORSPreflight bool
	// StripFailureResponse sends the filter's answers without a body.
	StripFailureResponse bool
	// AllowDuplicateToken accepts a request that carries the same token in
	// several places; different tokens are still refused.
	AllowDuplicateToken bool
}

// Rule is one trusted issuer, as Istio's RequestAuthentication.jwtRules[i].
type Rule struct {
	Issuer      string
	Audiences   []string
	JWKSURI     string
	JWKS        string // inline JWKS; when set nothing is fetched
	JWKSCluster string
	// OIDCDiscovery finds the JWKS URI in <issuer>/.well-known/openid-configuration.
	OIDCDiscovery       bool
	Timeout             time.Duration
	RefreshInterval     time.Duration
	MinRefreshInterval  time.Duration // bounds on a Cache-Control max-age
	MaxRefreshInterval  time.Duration
	RetryInterval       time.Duration // first backoff after a failed fetch
	MaxRetryInterval    time.Duration
	MaxStale            time.Duration // last good keys used at most this long
	UnknownKIDRefetch   time.Duration // least time between unknown-kid refetches
	FromHeaders         []HeaderSource
	FromParams          []string // query parameter names, as decoded
	FromCookies         []string // cookie names
	OutputPayloadHeader string
	OutputClaimHeaders  []ClaimHeader
	ForwardOriginal     bool
	Algorithms          []string
	ClockSkew           time.Duration
	RequireExpiration   bool
	MaxLifetime         time.Duration   // 0: no limit; else exp is required and exp-now may not exceed it
	Subjects            []StringMatcher // when set, sub must match one
	// OutputPayloadFilterState names the Envoy filter state entry
	// ("wasm.<name>") that receives the verified payload JSON.
	OutputPayloadFilterState string
	// DPoP and MTLS are the sender constraints (binding.go).
	DPoP DPoP
	MTLS MTLS
	// SpaceDelimitedClaims lists claims (paths as a condition's "claim")
	// whose string value is a space-delimited list for the allOf and anyOf
	// conditions of request rules, besides scope and permission, as
	// Istio's field.
	SpaceDelimitedClaims []string
}

// HeaderSource is a header a token is read from, after an optional prefix.
type HeaderSource struct {
	Name   string // lower-cased at parse time
	Prefix string
}

// ClaimHeader copies one claim to one request header.
type ClaimHeader struct {
	Header string // lower-cased at parse time
	Claim  string // the configured claim path: names separated by '.', "\\." for a dot in a name
	Path   string // the same path for gjson, every special character escaped
}

// DefaultHeaderSource is Authorization: Bearer, as RFC 6750 section 2.1.
var DefaultHeaderSource = HeaderSource{Name: "authorization", Prefix: "Bearer "}
