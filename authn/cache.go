package authn

import (
	"math"
	"strings"
	"time"

	"github.com/edgejwt/edgejwt/verifier"
)

// tokenCache remembers tokens that verified, so that a token seen again
// skips the signature check (about 0.2 ms of RSA inside Wasm) and the claim
// rendering. It is per VM, bounded in entries and bytes, and keyed by the
// token's last 8 bytes: the end of the signature, 48 random bits for every
// verified token, so hashing (a microsecond in Wasm for the whole token, a
// third of a cached request's filter work for its last 64 bytes) buys
// nothing; Go's map hashes the key with its own per-process seed. The entry
// keeps the token itself and a hit compares it in full; tokens that share
// an end only share a slot (the later replaces the earlier), and only
// verified tokens are ever stored, so an attacker cannot aim at another
// token's slot without the issuer signing for them. An entry serves only while:
//   - the token has not expired (exp + clock skew), and
//   - its issuer's key set is the one it was verified with: a new JWKS
//     document (a key removed, say) empties the issuer's entries in effect,
//     and so does a stale key set (no key set, no hit).
//
// Only verified tokens are cached; a refusal is decided again each time.
// When full, an arbitrary entry makes room (Go's map order): cheap, and a
// flood of distinct tokens cannot pin the cache better than LRU would.
type tokenCache struct {
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
	verdict     verdict      // the token's claims judged by the request rules' conditions
	cnf         confirmation // the token's binding (binding.go)
	size        int
}

func newTokenCache(maxEntries, maxBytes int, now func() time.Time) *tokenCache {
	if maxEntries <= 0 {
		return nil
	}
	return &tokenCache{
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
	if e == nil || !sameToken(e.token, token) {
		return nil
	}
	if !c.now().Before(e.expires) || keys(e.rule) != e.keys {
		c.remove(h, e)
		return nil
	}
	return e
}

// put remembers a verified token. exp is its exp claim in seconds; cnf is
// its binding, checked again on every hit.
func (c *tokenCache) put(token string, rule int, keys verifier.KeySource, exp float64, skew time.Duration, set, filterState [][2]string, v verdict, cnf confirmation) {
	if c == nil || exp <= 0 || math.IsInf(exp, 0) || math.IsNaN(exp) {
		return
	}
	expires := c.now().Add(365 * 24 * time.Hour) // a far exp is capped: the key set bounds it anyway
	if exp < float64(expires.Unix()) {
		sec, frac := math.Modf(exp)
		expires = time.Unix(int64(sec), int64(frac*1e9))
	}
	e := &cacheEntry{rule: rule, keys: keys, expires: expires.Add(skew), verdict: v}
	e.size = len(token) + 64 + v.size() + len(cnf.jkt) + len(cnf.x5t)
	for _, kv := range set {
		e.size += len(kv[0]) + len(kv[1]) + 32
	}
	for _, kv := range filterState {
		e.size += len(kv[0]) + len(kv[1]) + 32
	}
	if e.size > c.maxBytes/4 {
		return // one huge token may not take the cache over
	}
	// The token and the values point into the request's header buffer
	// (and the decoded payload): copied, into one string, so that an entry
	// keeps what its size counts and nothing more.
	e.token, e.set, e.filterState = copyStrings(token, set, filterState)
	// The binding's values point into the decoded payload: copied too
	// (only a bound token has any).
	e.cnf = confirmation{jkt: strings.Clone(cnf.jkt), x5t: strings.Clone(cnf.x5t), bad: cnf.bad}
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

// key is the cache key of token: its last 8 bytes.
func (c *tokenCache) key(token string) uint64 {
	var k uint64
	for i := max(len(token)-8, 0); i < len(token); i++ {
		k = k<<8 | uint64(token[i])
	}
	return k
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

// copyStrings copies token and the values of set and filterState into one
// new string (header and filter state names are the configuration's).
func copyStrings(token string, set, filterState [][2]string) (string, [][2]string, [][2]string) {
	var b strings.Builder
	n := len(token)
	for _, kv := range set {
		n += len(kv[1])
	}
	for _, kv := range filterState {
		n += len(kv[1])
	}
	b.Grow(n)
	b.WriteString(token)
	for _, kv := range set {
		b.WriteString(kv[1])
	}
	for _, kv := range filterState {
		b.WriteString(kv[1])
	}
	all, at := b.String(), len(token)
	rebased := func(pairs [][2]string) [][2]string {
		if len(pairs) == 0 {
			return nil
		}
		out := make([][2]string, len(pairs))
		for i, kv := range pairs {
			out[i] = [2]string{kv[0], all[at : at+len(kv[1])]}
			at += len(kv[1])
		}
		return out
	}
	set = rebased(set)
	return all[:len(token)], set, rebased(filterState)
}
