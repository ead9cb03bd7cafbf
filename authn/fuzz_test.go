package authn

import (
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/verifier"
)

// FuzzRequest feeds arbitrary paths, cookies and Authorization values
// through rule choice, extraction and removal. It checks that nothing
// panics, that a rewritten path or cookie header never keeps a token
// parameter or cookie, and that a path judged normal has no dot segment.
func FuzzRequest(f *testing.F) {
	for _, s := range [][3]string{
		{"/public/x?a=1&access_token=t&b", "a=1; session=t", "Bearer t"},
		{"/healthz/../admin/1", "", ""},
		{"/optional/%2e%2e/x?jwt=%41&jwt=b", "session=\"t\";session=u", "bearer  t,Bearer u"},
		{"//x?#access_token=t", ";;=;session", "Bearer"},
		{"/a%2F..%2Fb?access%5Ftoken=t&&", "b_session=t", "Basic t"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	a := authWith(f, rulesDoc)
	none := func(int) verifier.KeySource { return nil }
	f.Fuzz(func(t *testing.T, path, cookie, authz string) {
		h := get(path, [2]string{"cookie", cookie}, [2]string{"authorization", authz})
		d := a.Authenticate(h, none)
		for _, kv := range d.Set {
			switch kv[0] {
			case ":path":
				q := strings.IndexByte(kv[1], '?')
				if q < 0 {
					continue
				}
				for _, pair := range strings.Split(kv[1][q+1:], "&") {
					name, _, _ := strings.Cut(pair, "=")
					if n := percentDecode(name); n == "access_token" || n == "jwt" {
						t.Fatalf("path %q rewritten to %q keeps %s", path, kv[1], n)
					}
				}
			case "cookie":
				for _, pair := range strings.Split(kv[1], ";") {
					name, _, _ := strings.Cut(pair, "=")
					if strings.TrimSpace(name) == "session" {
						t.Fatalf("cookie %q rewritten to %q keeps session", cookie, kv[1])
					}
				}
			}
		}
		if p, _, _ := strings.Cut(path, "?"); normalPath(p) {
			for _, seg := range strings.Split(p, "/") {
				if seg, _, _ = strings.Cut(seg, ";"); seg == "." || seg == ".." {
					t.Fatalf("normalPath(%q) with segment %q", p, seg)
				}
			}
		}
	})
}
