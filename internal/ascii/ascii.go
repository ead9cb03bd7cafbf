// Package ascii holds the one ASCII helper that both the configuration and
// the request path need.
package ascii

// EqualFold reports whether a and b are equal when only ASCII letters are
// folded (as HTTP auth schemes and Envoy's ignore_case compare); unlike
// strings.EqualFold it never folds other characters.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
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
