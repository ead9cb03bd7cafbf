package jwkscache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/edgejwt/edgejwt/internal/errdetail"
)

// Store is the shared-data API of the proxy-wasm host, as package main
// provides it: Get returns the value and its CAS token (found false when the
// key was never set); Set with a non-zero cas fails with ErrCASMismatch when
// the value changed since that token was read.
type Store interface {
	Get(key string) (value []byte, cas uint32, found bool, err error)
	Set(key string, value []byte, cas uint32) error
}

// ErrCASMismatch is what Store.Set returns when it lost a race.
var ErrCASMismatch = errors.New("jwkscache: shared data changed since read")

// ErrNotShared means a fetched key set is in use in this VM but could not be
// written to shared data for the others.
var ErrNotShared = errors.New("jwkscache: key set not shared")

// leaseMargin is added to the fetch timeout: a lease older than that means
// the VM holding it died, and another VM may fetch.
const leaseMargin = 2 * time.Second

// Source is one issuer's key set, from one origin, as one VM sees it. Every
// VM of the process holds its own Source; they share the fetched document
// through the Store: whichever VM finds a fetch due takes a lease
// (compare-and-swap), fetches, and stores the document; the others pick it
// up in Sync. Each VM parses a document once, when its entry changes, never
// per request.
//
// The shared keys are named by the issuer and a digest of the origin (the
// JWKS URI or discovery URL and the cluster): a configuration push that
// points the issuer elsewhere starts a key set of its own at once, and two
// configurations of one VM that name one issuer with different origins
// never adopt each other's keys. Per key set: the entry (see Entry), the
// fetch lease ("<owner> <until ms> <consecutive failures>") and the time of
// the last refetch asked for by an unknown kid ("<ms>"). Key sets no
// configuration uses any more are dropped (index.go).
type Source struct {
	store    Store
	owner    string // this VM, in leases
	name     string // issuer#digest: the key set's name in shared data
	entryKey string
	leaseKey string
	kidKey   string
	policy   Policy
	jitter   func() float64
	usedAt   time.Time // when this Source last marked its key set as used

	keys      *KeySet
	fetchedAt time.Time
	refreshAt time.Time
	docHash   [32]byte
	entryCAS  uint32
	fetching  bool
	forcedAt  time.Time // an unknown kid asked for a fetch at that time
	// kidWaiting: tokens with an unknown kid wait for the next refetch
	// slot, which this VM takes when it opens.
	kidWaiting bool
}

// NewSource returns the Source of one issuer's key set from origin, a
// string that names where it is fetched from (URI and cluster). owner must
// differ between the VMs of one process; jitter returns numbers in [0, 1).
func NewSource(store Store, issuer, origin, owner string, p Policy, jitter func() float64) *Source {
	name := KeySetName(issuer, origin)
	return &Source{
		store:    store,
		owner:    owner,
		name:     name,
		entryKey: entryPrefix + name,
		leaseKey: leasePrefix + name,
		kidKey:   kidPrefix + name,
		policy:   p,
		jitter:   jitter,
	}
}

// Shared-data key prefixes, followed by a key set's name.
const (
	entryPrefix = "edgejwt/jwks/"
	leasePrefix = "edgejwt/jwks-lease/"
	kidPrefix   = "edgejwt/jwks-kid-refetch/"
)

// KeySetName names the key set of issuer from origin in shared data:
// "<issuer>#<16 hex digits of SHA-256(issuer, origin)>".
func KeySetName(issuer, origin string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + origin))
	return issuer + "#" + hex.EncodeToString(h[:8])
}

// NewStaticSource returns a Source that always holds keys (an inline JWKS).
func NewStaticSource(keys *KeySet) *Source {
	return &Source{keys: keys}
}

// Keys is the key set to verify with at now: nil while none has been loaded
// and once the last good set is older than the policy's MaxStale.
func (s *Source) Keys(now time.Time) *KeySet {
	if s.Stale(now) {
		return nil
	}
	return s.keys
}

// Loaded reports whether a key set was ever loaded (stale or not).
func (s *Source) Loaded() bool { return s.keys != nil }

// Stale reports whether the key set is past its MaxStale age.
func (s *Source) Stale(now time.Time) bool {
	return s.store != nil && s.keys != nil && s.policy.MaxStale > 0 && now.Sub(s.fetchedAt) > s.policy.MaxStale
}

// FetchedAt is when the current key set was fetched.
func (s *Source) FetchedAt() time.Time { return s.fetchedAt }

// Sync loads the shared entry when another VM wrote a new one. updated
// reports a new entry (pending requests should be decided again);
// docChanged a document different from the previous one, whose skipped
// keys are then reported.
func (s *Source) Sync(now time.Time) (updated, docChanged bool, skipped []Skipped, err error) {
	if s.store == nil {
		return false, false, nil, nil
	}
	s.markUsed(now)
	val, cas, found, err := s.store.Get(s.entryKey)
	if err != nil || !found || len(val) == 0 || cas == s.entryCAS {
		return false, false, nil, err
	}
	e, err := DecodeEntry(val)
	if err != nil {
		return false, false, nil, err
	}
	s.entryCAS = cas
	h := sha256.Sum256(e.Document)
	if h != s.docHash || s.keys == nil {
		keys, sk, err := ParseKeySet(e.Document)
		if err != nil {
			// Documents are parsed before they are stored; this one
			// comes from another build of the filter. Keep ours.
			return false, false, sk, err
		}
		s.keys, s.docHash, docChanged, skipped = keys, h, true, sk
	}
	s.fetchedAt, s.refreshAt = e.FetchedAt, e.RefreshAt
	if !s.forcedAt.IsZero() && !s.fetchedAt.Before(s.forcedAt) {
		s.forcedAt = time.Time{}
	}
	return true, docChanged, skipped, nil
}

// due reports whether a fetch should start at now.
func (s *Source) due(now time.Time) bool {
	return s.keys == nil || !now.Before(s.refreshAt) || !s.forcedAt.IsZero()
}

// StartFetch reports whether this VM should fetch now, and if so takes the
// fetch lease. It is false while this VM's own fetch is in flight, while
// the key set is fresh (and no unknown kid asked for a refetch), and while
// another VM holds an unexpired lease, which covers both a fetch in flight
// and the backoff after a failure.
func (s *Source) StartFetch(now time.Time) bool {
	if s.store == nil || s.fetching {
		return false
	}
	if s.kidWaiting {
		s.takeKIDSlot(now)
	}
	if !s.due(now) {
		return false
	}
	val, cas, found, err := s.store.Get(s.leaseKey)
	if err != nil {
		return false
	}
	failures := 0
	if found {
		l, ok := parseLease(val)
		if ok && now.Before(l.until) {
			return false
		}
		failures = l.failures
	}
	l := lease{owner: s.owner, until: now.Add(s.policy.FetchTimeout + leaseMargin), failures: failures}
	if s.store.Set(s.leaseKey, l.encode(), cas) != nil {
		return false // another VM took it first
	}
	s.fetching = true
	return true
}

// FetchSucceeded takes the document this VM fetched, with the response's
// Cache-Control header. A document that does not parse is an error and
// changes nothing: the caller records it with FetchFailed, and the previous
// keys stay in use. A well-formed key set with no usable key is the
// issuer's word and is adopted (revocation): every token is then refused.
// docChanged reports a document different from the previous one.
func (s *Source) FetchSucceeded(now time.Time, doc []byte, cacheControl string) (docChanged bool, skipped []Skipped, err error) {
	h := sha256.Sum256(doc)
	keys := s.keys
	if h != s.docHash || keys == nil {
		keys, skipped, err = ParseKeySet(doc)
		if err != nil {
			return false, skipped, err
		}
		docChanged = true
	}
	s.fetching = false
	s.keys, s.docHash, s.fetchedAt, s.forcedAt = keys, h, now, time.Time{}
	s.refreshAt = s.policy.NextRefresh(now, cacheControl)
	val := Entry{FetchedAt: now, RefreshAt: s.refreshAt, Document: doc}.Encode()
	s.setLease(lease{owner: s.owner, until: now})
	for range 8 {
		_, cas, _, gerr := s.store.Get(s.entryKey)
		if gerr != nil {
			return docChanged, skipped, errdetail.New(ErrNotShared, "reading shared data: "+gerr.Error())
		}
		serr := s.store.Set(s.entryKey, val, cas)
		if serr == nil {
			_, s.entryCAS, _, _ = s.store.Get(s.entryKey)
			return docChanged, skipped, nil
		}
		if !errors.Is(serr, ErrCASMismatch) {
			return docChanged, skipped, errdetail.New(ErrNotShared, "writing shared data: "+serr.Error())
		}
	}
	return docChanged, skipped, errdetail.New(ErrNotShared, "shared data kept changing")
}

// FetchFailed records a failed fetch: the lease is held for the backoff
// delay, so that no VM of the process fetches again before it. It returns
// that delay.
func (s *Source) FetchFailed(now time.Time) time.Duration {
	s.fetching = false
	failures := 1
	if val, _, found, err := s.store.Get(s.leaseKey); err == nil && found {
		if l, ok := parseLease(val); ok {
			failures = l.failures + 1
		}
	}
	d := s.policy.RetryDelay(failures, s.jitter())
	s.setLease(lease{owner: s.owner, until: now.Add(d), failures: failures})
	return d
}

// RequestKIDRefetch is called for a token whose kid the key set lacks. It
// reports whether the token should wait for a refetch rather than be
// refused now. Refetches asked for by unknown kids are at most one per
// UnknownKIDRefetchInterval per process (the JWKS endpoint sees a bounded
// rate whatever the traffic); a token waits
//   - when this call takes the interval's refetch,
//   - when a refetch taken by any VM has not yet landed here, or
//   - when the last one landed without its kid but the next may start
//     within maxWait: this VM then takes it as soon as it may.
//
// So tokens with random kids cannot spend the budget ahead of a real
// rotation: a new key is picked up at most one interval after it is
// published, and tokens signed with it wait for that instead of failing.
//
// final is false when the token waits for a refetch asked for before now,
// which may have read the key set before the token's key was published:
// if it lands without the kid, the token may ask again (with what is left
// of its wait) instead of being refused on that refetch's word.
func (s *Source) RequestKIDRefetch(now time.Time, maxWait time.Duration) (wait, final bool) {
	if s.store == nil || s.policy.UnknownKIDRefetchInterval <= 0 {
		return false, false
	}
	val, cas, found, err := s.store.Get(s.kidKey)
	if err != nil {
		return false, false
	}
	at := time.UnixMilli(now.UnixMilli())
	if found {
		if ms, err := strconv.ParseInt(string(val), 10, 64); err == nil {
			taken := time.UnixMilli(ms)
			if next := taken.Add(s.policy.UnknownKIDRefetchInterval); now.Before(next) {
				if s.fetchedAt.Before(taken) {
					s.forcedAt = taken
					return true, !taken.Before(at)
				}
				if next.Sub(now) <= maxWait {
					s.kidWaiting = true
					return true, true
				}
				return false, false
			}
		}
	}
	// When the Set fails another VM took the slot just now, and its fetch
	// will land here.
	_ = s.store.Set(s.kidKey, strconv.AppendInt(nil, at.UnixMilli(), 10), cas)
	s.forcedAt = at
	return true, true
}

// takeKIDSlot takes the next unknown-kid refetch slot for the tokens that
// wait for it, once it opens.
func (s *Source) takeKIDSlot(now time.Time) {
	val, cas, found, err := s.store.Get(s.kidKey)
	if err != nil {
		return
	}
	if found {
		if ms, err := strconv.ParseInt(string(val), 10, 64); err == nil {
			at := time.UnixMilli(ms)
			if now.Before(at.Add(s.policy.UnknownKIDRefetchInterval)) {
				if s.fetchedAt.Before(at) {
					// Another VM took it; its fetch settles ours.
					s.forcedAt, s.kidWaiting = at, false
				}
				return
			}
		}
	}
	at := time.UnixMilli(now.UnixMilli())
	if s.store.Set(s.kidKey, strconv.AppendInt(nil, at.UnixMilli(), 10), cas) == nil {
		s.forcedAt, s.kidWaiting = at, false
	}
}

type lease struct {
	owner    string
	until    time.Time
	failures int
}

func (l lease) encode() []byte {
	return []byte(l.owner + " " + strconv.FormatInt(l.until.UnixMilli(), 10) + " " + strconv.Itoa(l.failures))
}

func parseLease(val []byte) (lease, bool) {
	f := strings.Fields(string(val))
	if len(f) != 3 {
		return lease{}, false
	}
	ms, err1 := strconv.ParseInt(f[1], 10, 64)
	n, err2 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || n < 0 {
		return lease{}, false
	}
	return lease{owner: f[0], until: time.UnixMilli(ms), failures: n}, true
}

func (s *Source) setLease(l lease) {
	_, cas, _, err := s.store.Get(s.leaseKey)
	if err != nil {
		return
	}
	_ = s.store.Set(s.leaseKey, l.encode(), cas)
}
