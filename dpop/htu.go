package dpop

import (
	"strings"

	"github.com/edgejwt/edgejwt/internal/httpuri"
)

// NormalizeOrigin returns scheme://authority of an absolute http or https
// URI as targetURI compares it: scheme and host in lower case, the default
// port (80 for http, 443 for https) left out, without user information.
// ok is false for anything else, a path other than "/" included.
func NormalizeOrigin(origin string) (string, bool) {
	o, path, ok := targetURI(origin)
	return o, ok && path == "/"
}

// targetURI splits an absolute http(s) URI into its origin and its path,
// normalized as RFC 9449 section 4.3 asks before comparing htu (RFC 3986
// sections 6.2.2 and 6.2.3): scheme and host in lower case, the scheme's
// default port removed, percent-escapes in upper case and those of
// unreserved characters decoded, "." and ".." segments removed, an empty
// path made "/". The query and the fragment are dropped. ok is false for
// an URI that is not an absolute http or https one, or that has user
// information.
func targetURI(s string) (origin, path string, ok bool) {
	u, err := httpuri.Parse(s)
	if err != nil || hasUserinfo(s) {
		return "", "", false
	}
	port := strings.TrimLeft(u.Port, "0")
	if u.Port != "" && port == "" {
		port = "0"
	}
	if u.Scheme == "http" && port == "80" || u.Scheme == "https" && port == "443" {
		port = ""
	}
	host := lower(u.Hostname)
	if strings.IndexByte(host, ':') >= 0 {
		host = "[" + host + "]"
	}
	origin = u.Scheme + "://" + host
	if port != "" {
		origin += ":" + port
	}
	path = u.RequestURI
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return origin, normalizePath(path), true
}

// requestURI is targetURI for the request's :scheme, :authority and :path.
func requestURI(scheme, authority, path string) (origin, p string, ok bool) {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if authority == "" || path == "" || path[0] != '/' || strings.ContainsAny(authority, "/?#@") {
		return "", "", false
	}
	return targetURI(scheme + "://" + authority + path)
}

// hasUserinfo reports whether the authority of an absolute URI has user
// information (httpuri drops it; a target URI never has it).
func hasUserinfo(s string) bool {
	i := strings.Index(s, "://")
	if i < 0 {
		return false
	}
	a := s[i+3:]
	if j := strings.IndexAny(a, "/?#"); j >= 0 {
		a = a[:j]
	}
	return strings.IndexByte(a, '@') >= 0
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// normalizePath upper-cases percent-escapes, decodes those of unreserved
// characters and removes dot segments (RFC 3986 sections 6.2.2.1, 6.2.2.2
// and 5.2.4). p starts with '/' and has valid escapes (httpuri checked).
func normalizePath(p string) string {
	if strings.IndexByte(p, '%') >= 0 {
		var b strings.Builder
		b.Grow(len(p))
		for i := 0; i < len(p); i++ {
			if p[i] != '%' || i+2 >= len(p) {
				b.WriteByte(p[i])
				continue
			}
			c := unhex(p[i+1])<<4 | unhex(p[i+2])
			if isUnreserved(c) {
				b.WriteByte(c)
			} else {
				b.WriteByte('%')
				b.WriteByte(upperHex(p[i+1]))
				b.WriteByte(upperHex(p[i+2]))
			}
			i += 2
		}
		p = b.String()
	}
	if !hasDotSegment(p) {
		return p
	}
	return removeDotSegments(p)
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// removeDotSegments resolves "." and ".." segments of an absolute path as
// RFC 3986 section 5.2.4 does: a ".." at the root stays at the root, and a
// path ending in a dot segment keeps its final '/'.
func removeDotSegments(p string) string {
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}
