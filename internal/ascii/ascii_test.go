package ascii

import "testing"

func TestEqualFold(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"Bearer", "bEARER", true},
		{"bearer", "bearer", true},
		{"bearer", "bearer ", false},
		{"K", "\u212a"[:1], false}, // the Kelvin sign is not K
		{"é", "É", false},
		{"[", "{", false},
	} {
		if got := EqualFold(tt.a, tt.b); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
