package authn

import (
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/pretty"
)

// claimHeaderValue renders a claim for a request header: strings as they
// are, numbers and booleans as JSON text, arrays of strings joined with ","
// (list claims such as roles), anything else as compact JSON. Absent and
// null claims, and values holding control characters (which would split or
// corrupt the header), give no header.
func claimHeaderValue(v gjson.Result) (string, bool) {
	var s string
	switch v.Type {
	case gjson.String:
		s = v.Str
	case gjson.Number, gjson.True, gjson.False:
		s = v.Raw
	case gjson.JSON:
		if v.IsArray() {
			if joined, ok := joinStrings(v); ok {
				s = joined
				break
			}
		}
		s = string(pretty.Ugly([]byte(v.Raw)))
	default:
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return "", false
		}
	}
	return s, true
}

func joinStrings(arr gjson.Result) (string, bool) {
	var b strings.Builder
	ok := true
	first := true
	arr.ForEach(func(_, e gjson.Result) bool {
		if e.Type != gjson.String || strings.IndexByte(e.Str, ',') >= 0 {
			ok = false
			return false
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(e.Str)
		return true
	})
	return b.String(), ok
}
