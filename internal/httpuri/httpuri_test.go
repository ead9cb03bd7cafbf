package httpuri

import (
	"net/url"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in                       string
		scheme, host, name, port string
		target                   string
	}{
		{in: "https://issuer.example/jwks", scheme: "https", host: "issuer.example", name: "issuer.example", target: "/jwks"},
		{in: "http://127.0.0.1:8081/.well-known/jwks.json", scheme: "http", host: "127.0.0.1:8081", name: "127.0.0.1", port: "8081", target: "/.well-known/jwks.json"},
		{in: "https://issuer.example", scheme: "https", host: "issuer.example", name: "issuer.example", target: "/"},
		{in: "https://issuer.example?x=1", scheme: "https", host: "issuer.example", name: "issuer.example", target: "/?x=1"},
		{in: "https://issuer.example/k?a=1&b=%2F#frag", scheme: "https", host: "issuer.example", name: "issuer.example", target: "/k?a=1&b=%2F"},
		{in: "HTTPS://Issuer.Example/K", scheme: "https", host: "Issuer.Example", name: "Issuer.Example", target: "/K"},
		{in: "https://user:pw@issuer.example:8443/k", scheme: "https", host: "issuer.example:8443", name: "issuer.example", port: "8443", target: "/k"},
		{in: "http://[::1]:9000/k", scheme: "http", host: "[::1]:9000", name: "::1", port: "9000", target: "/k"},
		{in: "http://[2001:db8::1]/k", scheme: "http", host: "[2001:db8::1]", name: "2001:db8::1", target: "/k"},
		{in: "http://[::ffff:192.0.2.1]/k", scheme: "http", host: "[::ffff:192.0.2.1]", name: "::ffff:192.0.2.1", target: "/k"},
		{in: "http://[1:2:3:4:5:6:7:8]/", scheme: "http", host: "[1:2:3:4:5:6:7:8]", name: "1:2:3:4:5:6:7:8", target: "/"},
		{in: "http://[::]/", scheme: "http", host: "[::]", name: "::", target: "/"},
		{in: "http://issuer.example:/k", scheme: "http", host: "issuer.example", name: "issuer.example", target: "/k"},
		{in: "https://a.example/p%20q", scheme: "https", host: "a.example", name: "a.example", target: "/p%20q"},
	}
	for _, tt := range tests {
		u, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if u.Scheme != tt.scheme || u.Host != tt.host || u.Hostname != tt.name || u.Port != tt.port || u.RequestURI != tt.target {
			t.Errorf("Parse(%q) = %+v, want scheme %q host %q hostname %q port %q target %q",
				tt.in, u, tt.scheme, tt.host, tt.name, tt.port, tt.target)
		}
		// The fields an HTTP callout uses agree with net/url's.
		ref, err := url.Parse(tt.in)
		if err != nil {
			t.Fatalf("net/url refuses %q: %v", tt.in, err)
		}
		if ref.Scheme != u.Scheme || ref.Hostname() != u.Hostname || ref.Port() != u.Port || ref.RequestURI() != u.RequestURI {
			t.Errorf("Parse(%q) = %+v; net/url: scheme %q hostname %q port %q request URI %q",
				tt.in, u, ref.Scheme, ref.Hostname(), ref.Port(), ref.RequestURI())
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{
		"",
		"issuer.example/jwks",
		"//issuer.example/jwks",
		"ftp://issuer.example/jwks",
		"https:/issuer.example",
		"https://",
		"https:///jwks",
		"https://:443/jwks",
		"https://issuer.example:44x/jwks",
		"https://iss uer.example/jwks",
		"https://issuer.example/jw ks",
		"https://issuer.example/jwks\r\nX: y",
		"https://issuer.example/%zz",
		"https://issuer.example/%4",
		"https://[::1/jwks",
		"https://[zz::1]/jwks",
		"https://[.::]/jwks",
		"https://[1::2::3]/jwks",
		"https://[1:2:3:4:5:6:7:8:9]/jwks",
		"https://[12345::1]/jwks",
		"https://[::1%25eth0]/jwks",
		"https://[::256.1.1.1]/jwks",
		"https://[::1]x/jwks",
		"https://issuer<.example/jwks",
		"https://issuer.example\x00/jwks",
		"https://user@/jwks",
		"https://issuer.example/a\"b",
		"https://issuer.example/a{b}",
		"https://issuer.example/a\\b",
	} {
		if u, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, u)
		}
	}
}

// FuzzParse checks that whatever Parse accepts, net/url accepts too, with
// the same host and port, and the same path and query once decoded (net/url
// may re-escape characters RFC 3986 allows, such as '!').
func FuzzParse(f *testing.F) {
	for _, s := range []string{"https://a.example/b?c=d#e", "http://[::1]:80/", "http://u@h:1", "https://h/%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			return
		}
		ref, err := url.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v but net/url refuses it: %v", s, u, err)
		}
		path, query, _ := strings.Cut(u.RequestURI, "?")
		decoded, err := url.PathUnescape(path)
		if err != nil {
			t.Fatalf("Parse(%q): path %q does not unescape: %v", s, path, err)
		}
		if ref.Path == "" {
			ref.Path = "/"
		}
		if ref.Hostname() != u.Hostname || ref.Port() != u.Port || ref.Path != decoded || ref.RawQuery != query {
			t.Fatalf("Parse(%q) = %+v; net/url: hostname %q port %q path %q query %q",
				s, u, ref.Hostname(), ref.Port(), ref.Path, ref.RawQuery)
		}
	})
}
