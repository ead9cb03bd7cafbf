package authn

import (
	"strings"
	"testing"
)

// TestSameToken: equal and unequal strings of every length around the
// eight-byte words, differing at every position.
func TestSameToken(t *testing.T) {
	for n := range 40 {
		a := strings.Repeat("abcdefghij", 4)[:n]
		if !sameToken(a, strings.Clone(a)) {
			t.Errorf("%q not equal to itself", a)
		}
		if n > 0 && sameToken(a, a[:n-1]) {
			t.Errorf("%q equal to a prefix", a)
		}
		for i := range n {
			b := []byte(a)
			b[i] ^= 0x80
			if sameToken(a, string(b)) {
				t.Errorf("%q equal to %q", a, b)
			}
		}
	}
}
