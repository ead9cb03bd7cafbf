package dpop

import "testing"

// TestTargetURI: the normalization of RFC 3986 sections 6.2.2 and 6.2.3
// that htu and the request's URI get before they are compared.
func TestTargetURI(t *testing.T) {
	for _, tt := range []struct {
		in, origin, path string
		ok               bool
	}{
		{"https://api.example/r", "https://api.example", "/r", true},
		{"HTTPS://API.EXAMPLE/r", "https://api.example", "/r", true},
		{"https://api.example:443/r", "https://api.example", "/r", true},
		{"https://api.example:0443/r", "https://api.example", "/r", true},
		{"http://api.example:80/r", "http://api.example", "/r", true},
		{"http://api.example:443/r", "http://api.example:443", "/r", true},
		{"https://api.example:8443/r", "https://api.example:8443", "/r", true},
		{"https://api.example", "https://api.example", "/", true},
		{"https://api.example?x", "https://api.example", "/", true},
		{"https://api.example/r?x=1#f", "https://api.example", "/r", true},
		{"https://api.example/R", "https://api.example", "/R", true},
		{"https://api.example/%7e%41%2f%2F%c3%a9", "https://api.example", "/~A%2F%2F%C3%A9", true},
		{"https://api.example/a/./b/../c", "https://api.example", "/a/c", true},
		{"https://api.example/a/b/..", "https://api.example", "/a/", true},
		{"https://api.example/../..", "https://api.example", "/", true},
		{"https://api.example/a//b", "https://api.example", "/a//b", true},
		{"https://[::1]:443/r", "https://[::1]", "/r", true},
		{"https://[FE80::1]/r", "https://[fe80::1]", "/r", true},
		{"https://user@api.example/r", "", "", false},
		{"https://user:pw@api.example", "", "", false},
		{"ftp://api.example/r", "", "", false},
		{"/r", "", "", false},
		{"https:///r", "", "", false},
		{"https://api.example/r r", "", "", false},
		{"https://api.example/%zz", "", "", false},
		{"https://api.example:x/r", "", "", false},
	} {
		origin, path, ok := targetURI(tt.in)
		if ok != tt.ok || origin != tt.origin || path != tt.path {
			t.Errorf("targetURI(%q) = %q %q %v, want %q %q %v", tt.in, origin, path, ok, tt.origin, tt.path, tt.ok)
		}
	}
}

func TestRequestURI(t *testing.T) {
	for _, tt := range []struct {
		scheme, authority, path, origin, p string
		ok                                 bool
	}{
		{"https", "api.example", "/r?q=1", "https://api.example", "/r", true},
		{"https", "API.example:443", "/r#x", "https://api.example", "/r", true},
		{"http", "127.0.0.1:8080", "/%61", "http://127.0.0.1:8080", "/a", true},
		{"https", "", "/r", "", "", false},
		{"https", "api.example", "", "", "", false},
		{"https", "api.example", "*", "", "", false},
		{"https", "u@api.example", "/r", "", "", false},
		{"https", "api.example/x", "/r", "", "", false},
	} {
		origin, p, ok := requestURI(tt.scheme, tt.authority, tt.path)
		if ok != tt.ok || origin != tt.origin || p != tt.p {
			t.Errorf("requestURI(%q, %q, %q) = %q %q %v, want %q %q %v", tt.scheme, tt.authority, tt.path, origin, p, ok, tt.origin, tt.p, tt.ok)
		}
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://API.example:443":  "https://api.example",
		"https://api.example/":     "https://api.example",
		"http://api.example:8080":  "http://api.example:8080",
		"https://api.example/path": "",
		"api.example":              "",
	} {
		got, ok := NormalizeOrigin(in)
		if ok != (want != "") || got != want && ok {
			t.Errorf("NormalizeOrigin(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}
