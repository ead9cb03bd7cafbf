package config

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/edgejwt/edgejwt/internal/httpuri"
	"github.com/edgejwt/edgejwt/verifier"
)

// Error is a configuration error; Field is the JSON path of the offending
// value, e.g. "jwtRules[0].timeout".
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "config: " + e.Msg
	}
	return "config: " + e.Field + ": " + e.Msg
}

func errf(field, msg string) error {
	return &Error{Field: field, Msg: msg}
}

// index is field[i].
func index(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// Parse parses and validates a configuration document.
func Parse(doc []byte) (*Config, error) {
	if len(doc) > maxConfigSize {
		return nil, errf("", "configuration larger than "+strconv.Itoa(maxConfigSize)+" bytes")
	}
	if !utf8.Valid(doc) || !gjson.ValidBytes(doc) {
		return nil, errf("", "configuration is not valid JSON")
	}
	root := gjson.ParseBytes(doc)
	if !root.IsObject() {
		return nil, errf("", "configuration must be a JSON object")
	}
	cfg := &Config{
		Realm:                 DefaultRealm,
		PendingRequestTimeout: DefaultPendingRequestTimeout,
		MaxPendingRequests:    DefaultMaxPendingRequests,
		MaxTokenSize:          DefaultMaxTokenSize,
		TokenCacheSize:        DefaultTokenCacheSize,
		TokenCacheBytes:       DefaultTokenCacheBytes,
	}
	var err error
	seenRules := false
	walkErr := members(root, "", func(name, field string, v gjson.Result) error {
		switch name {
		case "jwtRules":
			seenRules = true
			cfg.Rules, err = parseRules(field, v)
		case "realm":
			cfg.Realm, err = str(field, v)
			if err == nil && !validRealm(cfg.Realm) {
				err = errf(field, "must be printable ASCII without quotes or backslashes")
			}
		case "pendingRequestTimeout":
			cfg.PendingRequestTimeout, err = duration(field, v)
		case "maxPendingRequests":
			cfg.MaxPendingRequests, err = positiveInt(field, v)
		case "maxTokenSize":
			cfg.MaxTokenSize, err = positiveInt(field, v)
		case "tokenCacheSize":
			cfg.TokenCacheSize, err = nonNegativeInt(field, v)
		case "hostCrypto":
			cfg.HostCrypto, err = boolean(field, v)
		case "tokenCacheBytes":
			cfg.TokenCacheBytes, err = positiveInt(field, v)
		case "rules":
			cfg.RequestRules, err = requestRules(field, v)
		case "bypassCorsPreflight":
			cfg.BypassCORSPreflight, err = boolean(field, v)
		case "stripFailureResponse":
			cfg.StripFailureResponse, err = boolean(field, v)
		case "allowDuplicateToken":
			cfg.AllowDuplicateToken, err = boolean(field, v)
		default:
			return errf(field, "unknown field")
		}
		return err
	})
	if walkErr != nil {
		return nil, walkErr
	}
	if !seenRules || len(cfg.Rules) == 0 {
		return nil, errf("jwtRules", "at least one rule is required")
	}
	known := map[string]bool{}
	for _, r := range cfg.Rules {
		known[r.Issuer] = true
	}
	for i, rr := range cfg.RequestRules {
		for j, iss := range rr.Issuers {
			if !known[iss] {
				return nil, errf(index(index("rules", i)+".issuers", j), "issuer "+strconv.Quote(iss)+" is not in jwtRules")
			}
		}
	}
	return cfg, nil
}

func parseRules(field string, v gjson.Result) ([]Rule, error) {
	if !v.IsArray() {
		return nil, errf(field, "must be an array")
	}
	var rules []Rule
	issuers := map[string]bool{}
	for i, rv := range v.Array() {
		f := index(field, i)
		r, e := parseRule(f, rv)
		if e != nil {
			return nil, e
		}
		if issuers[r.Issuer] {
			return nil, errf(f+".issuer", "duplicate issuer "+strconv.Quote(r.Issuer))
		}
		issuers[r.Issuer] = true
		rules = append(rules, r)
	}
	return rules, nil
}

func parseRule(field string, v gjson.Result) (Rule, error) {
	r := Rule{
		Timeout:            DefaultFetchTimeout,
		RefreshInterval:    DefaultRefreshInterval,
		MinRefreshInterval: DefaultMinRefreshInterval,
		MaxRefreshInterval: DefaultMaxRefreshInterval,
		RetryInterval:      DefaultRetryInterval,
		MaxRetryInterval:   DefaultMaxRetryInterval,
		MaxStale:           DefaultMaxStale,
		UnknownKIDRefetch:  DefaultUnknownKIDRefetch,
		ClockSkew:          DefaultClockSkew,
		RequireExpiration:  true,
	}
	if !v.IsObject() {
		return r, errf(field, "must be an object")
	}
	var err error
	explicitNoExp := false
	err = members(v, field, func(name, f string, mv gjson.Result) error {
		switch name {
		case "issuer":
			r.Issuer, err = str(f, mv)
			if err == nil && r.Issuer == "" {
				err = errf(f, "must not be empty")
			}
		case "audiences":
			r.Audiences, err = strList(f, mv)
		case "jwksUri":
			r.JWKSURI, err = str(f, mv)
			if err == nil {
				err = checkURI(f, r.JWKSURI)
			}
		case "jwks":
			r.JWKS, err = str(f, mv)
			if err == nil && !gjson.Valid(r.JWKS) {
				err = errf(f, "must hold a JWKS as a JSON string")
			}
		case "oidcDiscovery":
			r.OIDCDiscovery, err = boolean(f, mv)
		case "jwksCluster":
			r.JWKSCluster, err = str(f, mv)
			if err == nil && r.JWKSCluster == "" {
				err = errf(f, "must not be empty")
			}
		case "timeout":
			r.Timeout, err = duration(f, mv)
		case "jwksRefreshInterval":
			r.RefreshInterval, err = duration(f, mv)
		case "jwksMinRefreshInterval":
			r.MinRefreshInterval, err = duration(f, mv)
		case "jwksMaxRefreshInterval":
			r.MaxRefreshInterval, err = duration(f, mv)
		case "jwksRetryInterval":
			r.RetryInterval, err = duration(f, mv)
		case "jwksMaxRetryInterval":
			r.MaxRetryInterval, err = duration(f, mv)
		case "jwksMaxStale":
			r.MaxStale, err = duration(f, mv)
		case "jwksUnknownKidRefetchInterval":
			r.UnknownKIDRefetch, err = duration(f, mv)
		case "fromHeaders":
			r.FromHeaders, err = headerSources(f, mv)
		case "fromParams":
			r.FromParams, err = paramNames(f, mv)
		case "fromCookies":
			r.FromCookies, err = cookieNames(f, mv)
		case "outputPayloadToHeader":
			r.OutputPayloadHeader, err = headerName(f, mv)
		case "outputClaimToHeaders":
			r.OutputClaimHeaders, err = claimHeaders(f, mv)
		case "forwardOriginalToken":
			r.ForwardOriginal, err = boolean(f, mv)
		case "algorithms":
			r.Algorithms, err = algorithms(f, mv)
		case "clockSkew":
			r.ClockSkew, err = duration(f, mv)
		case "requireExpiration":
			r.RequireExpiration, err = boolean(f, mv)
			explicitNoExp = err == nil && !r.RequireExpiration
		case "maxLifetime":
			r.MaxLifetime, err = duration(f, mv)
		case "subjects":
			r.Subjects, err = stringMatchers(f, mv)
		case "outputPayloadToFilterState":
			r.OutputPayloadFilterState, err = filterStateName(f, mv)
		case "dpop":
			r.DPoP, err = parseDPoP(f, mv)
		case "mtls":
			r.MTLS, err = parseMTLS(f, mv)
		case "spaceDelimitedClaims":
			// Claim paths as a condition's "claim" writes them.
			r.SpaceDelimitedClaims, err = strList(f, mv)
			if err == nil && len(r.SpaceDelimitedClaims) == 0 {
				err = errf(f, "must not be empty")
			}
		default:
			return errf(f, "unknown field")
		}
		return err
	})
	if err != nil {
		return r, err
	}
	switch {
	case r.Issuer == "":
		return r, errf(field+".issuer", "required")
	case r.OIDCDiscovery && (r.JWKSURI != "" || r.JWKS != ""):
		return r, errf(field+".oidcDiscovery", "finds the JWKS URI itself: drop jwksUri and jwks")
	case r.OIDCDiscovery:
		if err := checkURI(field+".issuer", r.Issuer); err != nil {
			return r, errf(field+".issuer", "must be an http or https URL for oidcDiscovery")
		}
	case r.JWKSURI == "" && r.JWKS == "":
		return r, errf(field+".jwksUri", "one of jwksUri, jwks or oidcDiscovery is required")
	case r.JWKSURI != "" && r.JWKS != "":
		return r, errf(field+".jwks", "jwks and jwksUri are mutually exclusive")
	}
	switch {
	case r.MinRefreshInterval > r.MaxRefreshInterval:
		return r, errf(field+".jwksMinRefreshInterval", "larger than jwksMaxRefreshInterval")
	case r.RetryInterval > r.MaxRetryInterval:
		return r, errf(field+".jwksRetryInterval", "larger than jwksMaxRetryInterval")
	}
	if r.JWKSURI != "" && r.JWKSCluster == "" {
		r.JWKSCluster = IstioClusterName(r.JWKSURI)
	}
	if r.MaxLifetime > 0 {
		if explicitNoExp {
			return r, errf(field+".requireExpiration", "maxLifetime requires exp: requireExpiration cannot be false")
		}
		r.RequireExpiration = true
	}
	// As jwt_authn and Istio: with no source at all, Authorization: Bearer
	// and the access_token query parameter.
	if len(r.FromHeaders) == 0 && len(r.FromParams) == 0 && len(r.FromCookies) == 0 {
		r.FromHeaders = []HeaderSource{DefaultHeaderSource}
		r.FromParams = []string{DefaultParam}
	}
	if len(r.Algorithms) == 0 {
		r.Algorithms = []string{DefaultAlgorithm}
	}
	return r, nil
}

// IstioClusterName is the name Istio gives the cluster of a ServiceEntry host:
// outbound|<port>||<host>.
func IstioClusterName(uri string) string {
	u, err := httpuri.Parse(uri)
	if err != nil {
		return ""
	}
	port := u.Port
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return "outbound|" + port + "||" + u.Hostname
}

// members calls fn for each member of an object, refusing duplicate names:
// with two values for one option, which one wins would be a guess.
func members(obj gjson.Result, field string, fn func(name, field string, v gjson.Result) error) error {
	seen := map[string]bool{}
	var err error
	obj.ForEach(func(k, v gjson.Result) bool {
		name := k.String()
		f := name
		if field != "" {
			f = field + "." + name
		}
		if seen[name] {
			err = errf(f, "duplicate field")
			return false
		}
		seen[name] = true
		err = fn(name, f, v)
		return err == nil
	})
	return err
}

func str(field string, v gjson.Result) (string, error) {
	if v.Type != gjson.String {
		return "", errf(field, "must be a string")
	}
	return v.String(), nil
}

func boolean(field string, v gjson.Result) (bool, error) {
	if v.Type != gjson.True && v.Type != gjson.False {
		return false, errf(field, "must be true or false")
	}
	return v.Bool(), nil
}

func positiveInt(field string, v gjson.Result) (int, error) {
	if v.Type != gjson.Number {
		return 0, errf(field, "must be a number")
	}
	n, err := strconv.ParseInt(v.Raw, 10, 32)
	if err != nil || n <= 0 {
		return 0, errf(field, "must be a positive integer")
	}
	return int(n), nil
}

func nonNegativeInt(field string, v gjson.Result) (int, error) {
	if v.Type == gjson.Number && v.Raw == "0" {
		return 0, nil
	}
	n, err := positiveInt(field, v)
	if err != nil {
		return 0, errf(field, "must be a non-negative integer")
	}
	return n, nil
}

func duration(field string, v gjson.Result) (time.Duration, error) {
	s, err := str(field, v)
	if err != nil {
		return 0, errf(field, "must be a duration string such as \"5s\"")
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errf(field, "invalid duration "+strconv.Quote(s)+`: must be positive, such as "5s"`)
	}
	return d, nil
}

func strList(field string, v gjson.Result) ([]string, error) {
	return arrayOf(field, v, "strings", nonEmptyStr)
}

func nonEmptyStr(field string, v gjson.Result) (string, error) {
	s, err := str(field, v)
	if err == nil && s == "" {
		err = errf(field, "must not be empty")
	}
	return s, err
}

// arrayOf parses a JSON array of what, each element with elem under the
// field name field[i].
func arrayOf[T any](field string, v gjson.Result, what string, elem func(field string, v gjson.Result) (T, error)) ([]T, error) {
	if !v.IsArray() {
		return nil, errf(field, "must be an array of "+what)
	}
	var out []T
	for i, e := range v.Array() {
		x, err := elem(index(field, i), e)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func checkURI(field, s string) error {
	if _, err := httpuri.Parse(s); err != nil {
		return errf(field, "must be an absolute http or https URL")
	}
	if len(s) > 2048 {
		return errf(field, "longer than 2048 characters")
	}
	return nil
}

// headerName accepts an HTTP header name (RFC 9110 token) and lower-cases it,
// as Envoy presents header names.
func headerName(field string, v gjson.Result) (string, error) {
	s, err := str(field, v)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", errf(field, "must not be empty")
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return "", errf(field, "invalid header name "+strconv.Quote(s))
		}
	}
	if s[0] == ':' {
		return "", errf(field, "pseudo-headers cannot be used")
	}
	return strings.ToLower(s), nil
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func headerSources(field string, v gjson.Result) ([]HeaderSource, error) {
	return arrayOf(field, v, "{name, prefix}", headerSource)
}

func headerSource(f string, e gjson.Result) (HeaderSource, error) {
	var hs HeaderSource
	if !e.IsObject() {
		return hs, errf(f, "must be an object {name, prefix}")
	}
	var err error
	err = members(e, f, func(name, mf string, mv gjson.Result) error {
		switch name {
		case "name":
			hs.Name, err = headerName(mf, mv)
		case "prefix":
			hs.Prefix, err = str(mf, mv)
		default:
			return errf(mf, "unknown field")
		}
		return err
	})
	switch {
	case err != nil:
		return hs, err
	case hs.Name == "":
		return hs, errf(f+".name", "required")
	case hs.Name == "cookie":
		return hs, errf(f+".name", "use fromCookies for tokens in cookies")
	}
	return hs, nil
}

func claimHeaders(field string, v gjson.Result) ([]ClaimHeader, error) {
	return arrayOf(field, v, "{header, claim}", claimHeader)
}

func claimHeader(f string, e gjson.Result) (ClaimHeader, error) {
	var ch ClaimHeader
	if !e.IsObject() {
		return ch, errf(f, "must be an object {header, claim}")
	}
	var err error
	err = members(e, f, func(name, mf string, mv gjson.Result) error {
		switch name {
		case "header":
			ch.Header, err = headerName(mf, mv)
		case "claim":
			ch.Claim, err = str(mf, mv)
			if err == nil {
				var perr error
				if ch.Path, perr = ClaimPath(ch.Claim); perr != nil {
					err = errf(mf, perr.Error())
				}
			}
		default:
			return errf(mf, "unknown field")
		}
		return err
	})
	if err != nil {
		return ch, err
	}
	if ch.Header == "" || ch.Claim == "" {
		return ch, errf(f, "header and claim are required")
	}
	return ch, nil
}

func algorithms(field string, v gjson.Result) ([]string, error) {
	list, err := strList(field, v)
	if err != nil {
		return nil, err
	}
	for i, a := range list {
		if !verifier.Known(a) {
			return nil, errf(index(field, i), "unsupported algorithm "+strconv.Quote(a)+" (none and HMAC are never accepted)")
		}
		if !verifier.Compiled(a) {
			return nil, errf(index(field, i), "unsupported algorithm "+strconv.Quote(a)+
				": not compiled into this build of the filter, which verifies "+strings.Join(verifier.SupportedAlgorithms(), ", ")+
				" (the default build, edgejwt.wasm, has all nine)")
		}
	}
	return list, nil
}

func validRealm(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
