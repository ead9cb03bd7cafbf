package authn

import (
	"strings"
	"unicode/utf8"
)

// normalPath reports whether a request path (without its query) is in a
// normal form, one that every server we know of leaves unchanged when it
// normalizes or decodes it (RFC 3986 sections 6.2.2.2 and 5.2.4, and the
// common extensions below), so that the path the rules saw is the path the
// upstream serves:
//
//   - it starts with '/', and holds no backslash, no ';' (path parameters,
//     which Tomcat, Jetty and Spring drop: "/;x=1/admin" is "/admin" there),
//     no control character and no raw byte beyond ASCII;
//   - every '%' starts a valid escape, and no escape encodes an unreserved
//     character (letters, digits, '-', '.', '_', '~': RFC 3986 section 2.3
//     says producers must not), a ';', a control character (%00), or a '%'
//     that starts another escape (%252e: double encoding);
//   - escaped bytes beyond ASCII are valid UTF-8 (no overlong "%c0%ae"),
//     and none of them is a character some server maps to '.', '/' or '\'
//     (fullwidth and leader dots, fullwidth and division slashes);
//   - treating "%2F" and "%5C" as '/' too, no segment is empty (no "//"),
//     "." or "..".
func normalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i, segStart := 1, 1; ; {
		sepLen := 0
	scan:
		for ; i < len(p); i++ {
			switch c := p[i]; {
			case c == '\\', c == ';', c < 0x20, c >= 0x7f:
				return false
			case c == '/':
				sepLen = 1
				break scan
			case c == '%':
				d, ok := escaped(p, i)
				switch {
				case !ok, isUnreserved(d), d == ';', d < 0x20, d == 0x7f:
					return false
				case d == '%':
					// "%25" then two hex digits decodes to another escape.
					if i+4 < len(p) && unhex(p[i+3]) >= 0 && unhex(p[i+4]) >= 0 {
						return false
					}
				case d == '/' || d == '\\':
					sepLen = 3
					break scan
				case d >= 0x80:
					n, ok := escapedRune(p, i)
					if !ok {
						return false
					}
					i += n - 1
					continue
				}
				i += 2
			}
		}
		seg := p[segStart:i]
		switch {
		case seg == "." || seg == "..":
			return false
		case sepLen == 0:
			return true // the last segment may be empty: a trailing slash
		case seg == "":
			return false // "//"
		}
		i += sepLen
		segStart = i
	}
}

// escaped decodes the escape "%XX" at p[i]; ok is false when there is none.
func escaped(p string, i int) (byte, bool) {
	if i+2 >= len(p) || p[i] != '%' || unhex(p[i+1]) < 0 || unhex(p[i+2]) < 0 {
		return 0, false
	}
	return byte(unhex(p[i+1])<<4 | unhex(p[i+2])), true
}

// escapedRune decodes the UTF-8 character whose bytes are escaped from p[i]
// on ("%e2%80%a4") and returns the length of its escapes in p. ok is false
// for invalid UTF-8 and for characters that look like path syntax.
func escapedRune(p string, i int) (n int, ok bool) {
	var buf [utf8.UTFMax]byte
	k := 0
	for k < len(buf) {
		d, ok := escaped(p, i+3*k)
		if !ok || d < 0x80 {
			break
		}
		buf[k] = d
		k++
		if utf8.FullRune(buf[:k]) {
			break
		}
	}
	r, size := utf8.DecodeRune(buf[:k])
	if r == utf8.RuneError || size != k {
		return 0, false
	}
	if strings.ContainsRune(pathLookAlikes, r) {
		return 0, false
	}
	return 3 * k, true
}

// pathLookAlikes are characters that Unicode compatibility normalization
// (NFKC) or "best fit" code-page mappings turn into '.', "..", "...", '/'
// or '\': a server that applies one would read "/public/%e2%80%a5/admin"
// as "/public/../admin".
const pathLookAlikes = "\u2024\u2025\u2026\ufe52\uff0e\u3002\uff61" + // one and two dot leaders, ellipsis, small and fullwidth full stops, ideographic full stops
	"\u2215\u2044\u29f8\uff0f" + // division and fraction slashes, big solidus, fullwidth solidus
	"\u29f9\ufe68\uff3c" // big reverse solidus, small and fullwidth reverse solidus

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
