// Package httpuri parses the absolute http and https URLs of the filter's
// configuration and of OpenID discovery documents (jwksUri, jwks_uri), into
// what an HTTP callout needs: scheme, authority, host, port and request
// target. It accepts what net/url accepts for such URLs, minus anything with
// spaces or control characters, and leaves net/url (with net/netip and
// unique) out of the filter's Wasm module.
package httpuri

import (
	"errors"
	"strings"
)

// URI is a parsed absolute http(s) URL.
type URI struct {
	Scheme   string // "http" or "https", lower case
	Host     string // the authority without user information: host[:port]
	Hostname string // Host without the port and without IPv6 brackets
	Port     string // "" when the URL names none
	// RequestURI is the path and query, "/" when the path is empty; the
	// fragment is dropped.
	RequestURI string
}

var errNotHTTP = errors.New("not an absolute http or https URL")

// Parse parses an absolute http or https URL.
func Parse(s string) (URI, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return URI{}, errors.New("URL has a space or a control character")
		}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return URI{}, errNotHTTP
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return URI{}, errNotHTTP
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		if !validEscapes(rest[i+1:]) {
			return URI{}, errors.New("URL has an invalid percent-escape")
		}
		rest = rest[:i]
	}
	authority, target := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, target = rest[:i], rest[i:]
		if target[0] == '?' {
			target = "/" + target
		}
	}
	if !validTarget(target) {
		return URI{}, errors.New("URL has a character outside RFC 3986 in its path or query, or an invalid percent-escape")
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		if !validUserinfo(authority[:i]) {
			return URI{}, errors.New("URL has invalid user information")
		}
		authority = authority[i+1:]
	}
	u := URI{Scheme: scheme, Host: authority, RequestURI: target}
	host := authority
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return URI{}, errors.New("URL has an unclosed IPv6 literal")
		}
		u.Hostname = host[1:end]
		if !validIPv6(u.Hostname) {
			return URI{}, errors.New("URL has an invalid IPv6 literal")
		}
		switch after := host[end+1:]; {
		case after == "":
		case after[0] == ':':
			u.Port = after[1:]
		default:
			return URI{}, errors.New("URL has text after its IPv6 literal")
		}
	} else {
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host, u.Port = host[:i], host[i+1:]
		}
		if !validRegName(host) {
			return URI{}, errors.New("URL has an invalid host")
		}
		u.Hostname = host
	}
	if u.Hostname == "" {
		return URI{}, errors.New("URL has no host")
	}
	for i := 0; i < len(u.Port); i++ {
		if u.Port[i] < '0' || u.Port[i] > '9' {
			return URI{}, errors.New("URL has an invalid port")
		}
	}
	if u.Port == "" && strings.HasSuffix(u.Host, ":") {
		u.Host = strings.TrimSuffix(u.Host, ":")
	}
	return u, nil
}

// validEscapes reports whether every '%' starts a two-hex-digit escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		i += 2
	}
	return true
}

// validTarget accepts a path and query of RFC 3986 characters (pchar, '/'
// and '?') with valid percent-escapes.
func validTarget(s string) bool {
	if !validEscapes(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@/?%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validUserinfo accepts RFC 3986 userinfo: unreserved, sub-delims, ':'
// and percent-escapes.
func validUserinfo(s string) bool {
	if !validEscapes(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validRegName accepts a host name or IPv4 address: RFC 3986 reg-name
// characters (unreserved and sub-delims; no percent-escapes).
func validRegName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validIPv6 accepts the text form of an IPv6 address (RFC 4291 section
// 2.2): eight groups of one to four hex digits, one "::" standing for one or
// more zero groups, and an optional dotted IPv4 address as the last two
// groups. Zones are refused.
func validIPv6(s string) bool {
	groups, elided := 0, false
	if strings.HasPrefix(s, "::") {
		elided, s = true, s[2:]
		if s == "" {
			return true
		}
	}
	for {
		// An IPv4 address may end the literal.
		if strings.IndexByte(s, ':') < 0 && strings.IndexByte(s, '.') >= 0 {
			if !validIPv4(s) {
				return false
			}
			groups += 2
			break
		}
		n := 0
		for n < len(s) && n < 5 && isHex(s[n]) {
			n++
		}
		if n == 0 || n > 4 {
			return false
		}
		groups++
		s = s[n:]
		if s == "" {
			break
		}
		if s[0] != ':' {
			return false
		}
		if strings.HasPrefix(s, "::") {
			if elided {
				return false
			}
			elided, s = true, s[2:]
			if s == "" {
				break
			}
			continue
		}
		s = s[1:]
		if s == "" {
			return false
		}
	}
	if elided {
		return groups < 8
	}
	return groups == 8
}

// validIPv4 accepts a dotted-decimal IPv4 address without leading zeros.
func validIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || len(p) > 1 && p[0] == '0' {
			return false
		}
		v := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
			v = v*10 + int(p[i]-'0')
		}
		if v > 255 {
			return false
		}
	}
	return true
}
