package authn

import (
	"hash/maphash"
	"math"
	"time"

	"github.com/edgejwt/edgejwt/verifier"
)

// tokenCache remembers tokens that verified, so that a token seen again
// skips the signature check (about 0.2 ms of RSA inside Wasm) and the claim
// rendering. It is per VM, bounded in entries and bytes, and keyed by a
// 64-bit digest of the token (maphash, seeded per VM, so collisions cannot
// be aimed at) of its last keyBytes bytes: the end of the signature, random
// for every verified token, so hashing the whole token (a microsecond in
// Wasm for a typical one) buys nothing. The entry keeps the token itself
// and a hit compares it in full; tokens that share an end only share a
// bucket, and only verified tokens are ever stored. An entry serves only while:
//   - the token has not expired (exp + clock skew), and
//   - its issuer's key set is the one it was verified with: a new JWKS
//     document (a key removed, say) empties the issuer's entries in effect,
//     and so does a stale key set (no key set, no hit).
//
// Only verified tokens are cached; a refusal is decided again each time.
// When full, an arbitrary entry makes room (Go's map order): cheap, and a
// flood of distinct tokens cannot pin the cache better than LRU would.
type tokenCache struct {
	seed       maphash.Seed
	entries    map[uint64]*cacheEntry
	maxEntries int
	maxBytes   int
	bytes      int
	now        func() time.Time
}

type cacheEntry struct {
	token       string
	rule        int
	keys        verifier.KeySource
	expires     time.Time
	set         [][2]string // output headers
	filterState [][2]string
	cnf         confirmation // the token's binding (binding.go)
	size        int
}

func newTokenCache(maxEntries, maxBytes int, now func() time.Time) *tokenCache {
	if maxEntries <= 0 {
		return nil
	}
	return &tokenCache{
		seed:       maphash.MakeSeed(),
		entries:    make(map[uint64]*cacheEntry, min(maxEntries, 1024)),
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		now:        now,
	}
}

// get returns the entry of token if it may serve now with the issuer key
// sets keys gives.
func (c *tokenCache) get(token string, keys KeysFunc) *cacheEntry {
	if c == nil {
		return nil
	}
	h := c.key(token)
	e := c.entries[h]
	if e == nil || e.token != token {
		return nil
	}
	if !c.now().Before(e.expires) || keys(e.rule) != e.keys {
		c.remove(h, e)
		return nil
	}
	return e
}

// put remembers a verified token. exp is its exp claim in seconds.
func (c *tokenCache) put(token string, rule int, keys verifier.KeySource, exp float64, skew time.Duration, set, filterState [][2]string) {
	if c == nil || exp <= 0 || math.IsInf(exp, 0) || math.IsNaN(exp) {
		return
	}
	expires := c.now().Add(365 * 24 * time.Hour) // a far exp is capped: the key set bounds it anyway
	if exp < float64(expires.Unix()) {
		sec, frac := math.Modf(exp)
		expires = time.Unix(int64(sec), int64(frac*1e9))
	}
	e := &cacheEntry{token: token, rule: rule, keys: keys, expires: expires.Add(skew), set: set, filterState: filterState}
	e.size = len(token) + 64
	for _, kv := range set {
		e.size += len(kv[0]) + len(kv[1]) + 32
	}
	for _, kv := range filterState {
		e.size += len(kv[0]) + len(kv[1]) + 32
	}
	if e.size > c.maxBytes/4 {
		return // one huge token may not take the cache over
	}
	h := c.key(token)
	if old := c.entries[h]; old != nil {
		c.remove(h, old)
	}
	for len(c.entries) >= c.maxEntries || c.bytes+e.size > c.maxBytes {
		for k, victim := range c.entries {
			c.remove(k, victim)
			break
		}
	}
	c.entries[h] = e
	c.bytes += e.size
}

// keyBytes is how much of a token's end the cache key hashes.
const keyBytes = 64

func (c *tokenCache) key(token string) uint64 {
	if len(token) > keyBytes {
		token = token[len(token)-keyBytes:]
	}
	return maphash.String(c.seed, token)
}

func (c *tokenCache) remove(h uint64, e *cacheEntry) {
	delete(c.entries, h)
	c.bytes -= e.size
}

// Len is the number of cached tokens (for tests and metrics).
func (c *tokenCache) Len() int {
	if c == nil {
		return 0
	}
	return len(c.entries)
}
