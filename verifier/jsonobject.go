package verifier

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// checkObject reports whether b is exactly one JSON object: valid UTF-8,
// no byte-order mark, nothing but JSON whitespace around the object.
func checkObject(b []byte) error {
	if !utf8.Valid(b) {
		return errNotUTF8
	}
	// gjson.ValidBytes would reject a BOM too; say why.
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return errBOM
	}
	if tooDeep(b) {
		return errTooDeep
	}
	if !gjson.ValidBytes(b) {
		return errNotJSON
	}
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return nil
		}
		return errNotObject
	}
	return errNotObject
}

// maxDepth bounds the nesting of arrays and objects. gjson validates JSON
// recursively, and compiled to wasm each level costs frames on the
// engine's own call stack: a few thousand '[' fit in an 8 KiB token and
// overflow it, which kills the whole VM rather than failing one request.
// Real JWTs nest a handful of levels.
const maxDepth = 64

// tooDeep reports whether b nests arrays and objects more than maxDepth
// deep. Brackets inside strings do not count. On invalid JSON the count may
// be off, but only past the point where gjson stops parsing anyway, so
// gjson never recurses deeper than what was counted here.
func tooDeep(b []byte) bool {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++ // the escaped byte cannot end the string
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

// inlineNames is how many member names are compared pairwise before
// walkMembers switches to a map, so that a payload stuffed with thousands of
// tiny members cannot make the duplicate check quadratic.
const inlineNames = 16

// walkMembers calls fn with each top-level member of obj, a string that
// checkObject accepted, in order, with names unescaped. It fails with
// errDuplicateMember, before calling fn again, if a name repeats.
func walkMembers(obj string, fn func(name string, v gjson.Result)) error {
	var (
		small [inlineNames]string
		names = small[:0]
		seen  map[string]struct{}
		dup   bool
	)
	gjson.Parse(obj).ForEach(func(k, v gjson.Result) bool {
		name := k.Str
		if seen != nil {
			if _, dup = seen[name]; dup {
				return false
			}
			seen[name] = struct{}{}
		} else {
			for _, n := range names {
				if n == name {
					dup = true
					return false
				}
			}
			if len(names) < inlineNames {
				names = append(names, name)
			} else {
				// Sized for the most members obj could hold (`"a":0,` is six
				// bytes), so it never grows.
				seen = make(map[string]struct{}, len(obj)/6)
				for _, n := range names {
					seen[n] = struct{}{}
				}
				seen[name] = struct{}{}
			}
		}
		fn(name, v)
		return true
	})
	if dup {
		return errDuplicateMember
	}
	return nil
}
