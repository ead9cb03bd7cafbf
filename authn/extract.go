package authn

// extract finds the one token of a request. A header that does not start
// with a configured prefix carries no token (as jwt_authn: "Basic ..." is
// not a bearer token). A request with tokens in two places, two copies of a
// header (Envoy joins some repeated headers with a comma) or two words after
// the prefix is refused: RFC 6750 section 2 says a client MUST NOT send more
// than one.
func (a *Authenticator) extract(headers [][2]string) (string, source, error) {
	var tok string
	var from source
	found := 0
	for _, h := range headers {
		srcs, ok := a.sources[h[0]]
		if !ok {
			continue
		}
		for _, s := range srcs {
			t, ok := afterPrefix(h[1], s.prefix)
			if !ok {
				continue
			}
			found++
			tok, from = t, s
			break
		}
	}
	switch {
	case found == 0:
		return "", source{}, ErrNoToken
	case found > 1 || hasSeparator(tok):
		return "", source{}, ErrMultipleTokens
	}
	return tok, from, nil
}

// afterPrefix matches prefix case-insensitively; a prefix that ends in a
// space stands for one or more spaces (RFC 9110's auth-scheme followed by
// 1*SP). The rest, trimmed of trailing spaces, is the token.
func afterPrefix(v, prefix string) (string, bool) {
	p := prefix
	spaced := false
	for len(p) > 0 && p[len(p)-1] == ' ' {
		p, spaced = p[:len(p)-1], true
	}
	if len(v) < len(p) || !equalFoldASCII(v[:len(p)], p) {
		return "", false
	}
	rest := v[len(p):]
	if spaced {
		n := 0
		for n < len(rest) && (rest[n] == ' ' || rest[n] == '\t') {
			n++
		}
		if n == 0 {
			return "", false
		}
		rest = rest[n:]
	}
	for len(rest) > 0 && (rest[len(rest)-1] == ' ' || rest[len(rest)-1] == '\t') {
		rest = rest[:len(rest)-1]
	}
	return rest, true
}

func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func hasSeparator(tok string) bool {
	for i := 0; i < len(tok); i++ {
		switch tok[i] {
		case ' ', '\t', ',':
			return true
		}
	}
	return false
}
