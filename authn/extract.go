package authn

import (
	"sort"
	"strings"
	"unicode"

	"github.com/edgejwt/edgejwt/internal/ascii"
)

// sourceKind says where in a request a token is looked for.
type sourceKind uint8

const (
	fromHeader sourceKind = iota
	fromParam
	fromCookie
)

// source is one place a token may come from: a header with a prefix, a
// query parameter or a cookie. It is comparable, for rule.accepts.
type source struct {
	kind   sourceKind
	name   string // header name (lower case), parameter name (decoded) or cookie name
	prefix string // headers only
}

// extractor lists the places one requirement looks at, built once.
type extractor struct {
	headers []headerSources // a few: a scan beats hashing every header name
	params  []string
	cookies []string
}

// headerSources are the sources of one header.
type headerSources struct {
	name    string
	sources []source // longest prefix first
	remove  []string // {name}: the removal of a token found there, shared
}

func newExtractor() *extractor { return &extractor{} }

func (e *extractor) add(s source) {
	switch s.kind {
	case fromHeader:
		i := 0
		for i < len(e.headers) && e.headers[i].name != s.name {
			i++
		}
		if i == len(e.headers) {
			e.headers = append(e.headers, headerSources{name: s.name, remove: []string{s.name}})
		}
		list := e.headers[i].sources
		for _, x := range list {
			if x == s {
				return
			}
		}
		list = append(list, s)
		// A header value is matched against the longest prefix first, so
		// that "Bearer x" is not read as the token "Bearer x" by an issuer
		// configured with an empty prefix on the same header.
		sort.SliceStable(list, func(i, j int) bool { return len(list[i].prefix) > len(list[j].prefix) })
		e.headers[i].sources = list
	case fromParam:
		if !contains(e.params, s.name) {
			e.params = append(e.params, s.name)
		}
	case fromCookie:
		if !contains(e.cookies, s.name) {
			e.cookies = append(e.cookies, s.name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// maxPlaces bounds how many distinct sources of one request are
// remembered; a request with tokens in more than this many is refused as
// carrying multiple tokens, whatever allowDuplicateToken says.
const maxPlaces = 8

// request is what Authenticate reads of a request, in one pass over its
// headers; the strings point into the header values, nothing is copied.
type request struct {
	headers    [][2]string
	method     string
	path       string // as sent, with the query
	hasPath    bool
	origin     bool // an Origin header with a value
	preflightM bool // an Access-Control-Request-Method header with a value
	body       bool // a body follows the headers
	override   bool // the request asks the application to run another method
}

// readRequest reads a request's headers; endOfStream is proxy-wasm's flag
// (false: a body follows).
func readRequest(headers [][2]string, endOfStream bool) request {
	r := request{headers: headers, body: !endOfStream}
	for _, h := range headers {
		switch h[0] {
		case ":path":
			r.path, r.hasPath = h[1], true
		case ":method":
			r.method = h[1]
		case "origin":
			r.origin = h[1] != ""
		case "access-control-request-method":
			r.preflightM = h[1] != ""
		case "content-length":
			r.body = r.body || h[1] != "0"
		case "transfer-encoding":
			r.body = true
		case "x-http-method-override", "x-http-method", "x-method-override":
			r.override = true
		}
	}
	if r.hasPath && !r.override {
		r.override = hasParam(r.path, "_method")
	}
	return r
}

// hasParam reports whether path's query has a parameter of that name
// (compared after percent-decoding).
func hasParam(path, name string) bool {
	it, ok := queryOf(path)
	if !ok {
		return false
	}
	for pair, more := it.next(); more; pair, more = it.next() {
		n := pair
		if eq := strings.IndexByte(pair, '='); eq >= 0 {
			n = pair[:eq]
		}
		if percentDecode(n) == name {
			return true
		}
	}
	return false
}

// found is the result of extraction: the token, every source it was found
// in, and whether the request carries more than one token.
type found struct {
	token    string
	count    int // how many times a token was found
	n        int
	places   [maxPlaces]source
	multiple bool
	// removeHeader is the removal of places[0] when it is a header.
	removeHeader []string
}

func (f *found) add(tok string, src source, allowDup bool) {
	switch {
	case f.count == 0:
		f.token = tok
	case tok != f.token || !allowDup:
		f.multiple = true
	}
	f.count++
	for _, p := range f.places[:f.n] {
		if p == src {
			return
		}
	}
	if f.n == maxPlaces {
		f.multiple = true
		return
	}
	f.places[f.n] = src
	f.n++
}

// has reports whether a token was found in the source of this kind and name.
func (f *found) has(kind sourceKind, name string) bool {
	for _, p := range f.places[:f.n] {
		if p.kind == kind && p.name == name {
			return true
		}
	}
	return false
}

// extract finds the token of a request in the places e lists. A header that
// does not start with a configured prefix carries no token (as jwt_authn:
// "Basic ..." is not a bearer token). Two places, two copies of a header
// (Envoy joins some repeated headers with a comma) or two words after the
// prefix make multiple tokens: RFC 6750 section 2 says a client MUST NOT
// send more than one. With allowDup, the same token in several places
// counts once.
func (e *extractor) extract(r *request, allowDup bool) found {
	var f found
	for _, h := range r.headers {
		for i := range e.headers {
			hs := &e.headers[i]
			if hs.name != h[0] {
				continue
			}
			for _, s := range hs.sources {
				t, ok := afterPrefix(h[1], s.prefix)
				if !ok {
					continue
				}
				// Separators in the token ("Bearer a b") make multiple
				// tokens too: verify checks for them when the token is
				// not a cached (verified) one.
				if f.n == 0 {
					f.removeHeader = hs.remove
				}
				f.add(t, s, allowDup)
				break
			}
			break
		}
		if h[0] == "cookie" && len(e.cookies) > 0 {
			e.cookieTokens(&f, h[1], allowDup)
		}
	}
	if len(e.params) > 0 && r.hasPath {
		e.paramTokens(&f, r.path, allowDup)
	}
	return f
}

// cookieTokens adds the tokens of one Cookie header value (RFC 6265
// section 4.2.1: name=value pairs separated by "; "). Names are
// case-sensitive; a value in double quotes loses them.
func (e *extractor) cookieTokens(f *found, v string, allowDup bool) {
	for len(v) > 0 {
		var pair string
		if i := strings.IndexByte(v, ';'); i >= 0 {
			pair, v = v[:i], v[i+1:]
		} else {
			pair, v = v, ""
		}
		pair = trimOWS(pair)
		eq := strings.IndexByte(pair, '=')
		if eq < 0 {
			continue
		}
		name, val := cookieTrim(pair[:eq]), cookieTrim(pair[eq+1:])
		if !contains(e.cookies, name) {
			continue
		}
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		f.add(val, source{kind: fromCookie, name: name}, allowDup)
	}
}

// paramTokens adds the tokens of the query of path. Names and values are
// compared after percent-decoding (as jwt_authn), so that an encoded
// parameter name cannot smuggle a token past the filter.
func (e *extractor) paramTokens(f *found, path string, allowDup bool) {
	it, ok := queryOf(path)
	if !ok {
		return
	}
	for pair, more := it.next(); more; pair, more = it.next() {
		name, val := pair, ""
		if eq := strings.IndexByte(pair, '='); eq >= 0 {
			name, val = pair[:eq], pair[eq+1:]
		}
		if name != "" {
			if name = percentDecode(name); contains(e.params, name) {
				f.add(percentDecode(val), source{kind: fromParam, name: name}, allowDup)
			}
		}
	}
}

// queryPairs walks the '&'-separated pairs of a path's query, up to a '#'.
// It is a value, so that walking allocates nothing.
type queryPairs struct {
	path       string
	start, end int // the next pair starts at start; the query ends at end
}

// queryOf returns the pairs of path's query; ok is false without a '?'.
func queryOf(path string) (queryPairs, bool) {
	q := strings.IndexByte(path, '?')
	if q < 0 {
		return queryPairs{}, false
	}
	end := len(path)
	if h := strings.IndexByte(path[q+1:], '#'); h >= 0 {
		end = q + 1 + h
	}
	return queryPairs{path: path, start: q + 1, end: end}, true
}

// next returns the next pair (possibly empty, as between "&&").
func (it *queryPairs) next() (string, bool) {
	if it.start > it.end {
		return "", false
	}
	stop := strings.IndexByte(it.path[it.start:it.end], '&')
	if stop < 0 {
		stop = it.end
	} else {
		stop += it.start
	}
	pair := it.path[it.start:stop]
	it.start = stop + 1
	return pair, true
}

// percentDecode decodes %XX escapes; it returns s itself when there are
// none, and also when an escape is malformed (the raw text then never
// names a configured parameter, and as a token it is malformed).
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return s
		}
		b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
		i += 2
	}
	return string(b)
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// cookieTrim trims a cookie name or value of every character some cookie
// parser trims: ASCII controls and spaces, and Unicode white space (Node's
// String.prototype.trim, for one, trims form feeds and no-break spaces).
// Reading "\fsession=x" as no token while the upstream reads it as the
// session cookie would let an unverified token through.
func cookieTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) })
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// afterPrefix matches prefix case-insensitively; a prefix that ends in a
// space stands for one or more spaces: RFC 9110 section 11.4's auth-scheme
// followed by 1*SP, strictly. The rest, trimmed of trailing spaces, is the
// token.
//
// After the scheme, any other whitespace or control character ("Bearer\tx")
// makes a malformed credential of this scheme, not the absence of one: the
// whole rest is returned as the token, which the verifier refuses as
// malformed. Reading it as "no token" would pass the header on unverified
// under allow_missing, to an upstream that may split on any whitespace.
func afterPrefix(v, prefix string) (string, bool) {
	p := prefix
	spaced := false
	for len(p) > 0 && p[len(p)-1] == ' ' {
		p, spaced = p[:len(p)-1], true
	}
	if len(v) < len(p) || !ascii.EqualFold(v[:len(p)], p) {
		return "", false
	}
	rest := v[len(p):]
	if spaced {
		n := 0
		for n < len(rest) && rest[n] == ' ' {
			n++
		}
		if n == 0 {
			if len(rest) > 0 && (rest[0] < ' ' || rest[0] == 0x7f) {
				return rest, true
			}
			return "", false
		}
		rest = rest[n:]
	}
	for len(rest) > 0 && (rest[len(rest)-1] == ' ' || rest[len(rest)-1] == '\t') {
		rest = rest[:len(rest)-1]
	}
	return rest, true
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

// removal computes the header changes that take the token out of the
// request: headers removed, the path without the token's parameters
// (every other byte kept), the Cookie header without the token's cookies.
func (f *found) removal(r *request, remove *[]string, set *[][2]string) {
	var params, cookies bool
	for _, p := range f.places[:f.n] {
		switch p.kind {
		case fromHeader:
			if !contains(*remove, p.name) {
				*remove = append(*remove, p.name)
			}
		case fromParam:
			params = true
		case fromCookie:
			cookies = true
		}
	}
	if params {
		*set = append(*set, [2]string{":path", f.pathWithout(r.path)})
	}
	if cookies {
		*remove = append(*remove, "cookie")
		if c := f.cookiesWithout(r); c != "" {
			*set = append(*set, [2]string{"cookie", c})
		}
	}
}

// pathWithout returns path without the parameters the token came from
// (every occurrence), and without the '?' when no parameter is left.
func (f *found) pathWithout(path string) string {
	it, ok := queryOf(path)
	if !ok {
		return path
	}
	var b strings.Builder
	b.Grow(len(path))
	b.WriteString(path[:it.start-1])
	first := true
	for pair, more := it.next(); more; pair, more = it.next() {
		if f.removesParam(pair) {
			continue
		}
		if first {
			b.WriteByte('?')
			first = false
		} else {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	b.WriteString(path[it.end:])
	return b.String()
}

func (f *found) removesParam(pair string) bool {
	name := pair
	if eq := strings.IndexByte(pair, '='); eq >= 0 {
		name = pair[:eq]
	}
	return name != "" && f.has(fromParam, percentDecode(name))
}

// cookiesWithout returns the request's cookies, from every Cookie header,
// as one header value without the cookies the token came from.
func (f *found) cookiesWithout(r *request) string {
	var b strings.Builder
	for _, h := range r.headers {
		if h[0] != "cookie" {
			continue
		}
		v := h[1]
		for len(v) > 0 {
			var pair string
			if j := strings.IndexByte(v, ';'); j >= 0 {
				pair, v = v[:j], v[j+1:]
			} else {
				pair, v = v, ""
			}
			pair = trimOWS(pair)
			if pair == "" || f.removesCookie(pair) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(pair)
		}
	}
	return b.String()
}

func (f *found) removesCookie(pair string) bool {
	// A pair without '=' is malformed (RFC 6265 section 4.2.1); some
	// servers read it as a cookie of that name, so it goes too.
	name := pair
	if eq := strings.IndexByte(pair, '='); eq >= 0 {
		name = pair[:eq]
	}
	return f.has(fromCookie, cookieTrim(name))
}
