package jwkscache

import (
	"bytes"
	"strconv"
	"time"
)

// Key sets in shared data outlive the configurations that made them: a push
// that changes an issuer's origin leaves the old key set behind, and
// proxy-wasm has no call to delete shared data. So every Source marks its
// key set as used in one shared index, every usePeriod; a key set nobody
// marked for unusedAfter is dropped: its entry, lease and refetch keys are
// set empty (Sync reads an empty entry as none), and its index line goes.
const (
	indexKey    = "edgejwt/jwks-index"
	usePeriod   = time.Minute
	unusedAfter = 10 * time.Minute
)

// markUsed marks this Source's key set as used at now, at most every
// usePeriod, and drops the key sets nobody has used for unusedAfter. A lost
// compare-and-swap is retried at the next period.
func (s *Source) markUsed(now time.Time) {
	if s.store == nil || now.Sub(s.usedAt) < usePeriod {
		return
	}
	val, cas, _, err := s.store.Get(indexKey)
	if err != nil {
		return
	}
	uses := parseIndex(val)
	uses[s.name] = now
	var dropped []string
	for name, at := range uses {
		if now.Sub(at) > unusedAfter {
			dropped = append(dropped, name)
			delete(uses, name)
		}
	}
	if s.store.Set(indexKey, encodeIndex(uses), cas) != nil {
		return
	}
	s.usedAt = now
	for _, name := range dropped {
		for _, prefix := range []string{entryPrefix, leasePrefix, kidPrefix} {
			if _, cas, found, err := s.store.Get(prefix + name); err == nil && found {
				_ = s.store.Set(prefix+name, nil, cas)
			}
		}
	}
}

// The index is one line per key set: "<unix ms> <name>\n".
func parseIndex(b []byte) map[string]time.Time {
	uses := map[string]time.Time{}
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		ms, name, ok := bytes.Cut(line, []byte{' '})
		if !ok || len(name) == 0 {
			continue
		}
		if v, err := strconv.ParseInt(string(ms), 10, 64); err == nil {
			uses[string(name)] = time.UnixMilli(v)
		}
	}
	return uses
}

func encodeIndex(uses map[string]time.Time) []byte {
	var b []byte
	for name, at := range uses {
		b = strconv.AppendInt(b, at.UnixMilli(), 10)
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, '\n')
	}
	return b
}
