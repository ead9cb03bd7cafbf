package jwkscache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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

// RetryAfterFailure is how long after a failed fetch the next one starts.
const RetryAfterFailure = 1 * time.Second

// leaseMargin is added to the fetch timeout: a lease older than that means
// the VM holding it died, and another VM may fetch.
const leaseMargin = 2 * time.Second

// Source is one issuer's key set as one VM sees it. Every VM of the process
// holds its own Source; they share the fetched document through the Store:
// whichever VM finds a fetch due takes a lease (compare-and-swap), fetches,
// and stores the document; the others pick it up in Sync. Each VM parses a
// document once, when its CAS changes, never per request.
type Source struct {
	store           Store
	owner           string // this VM, in leases
	entryKey        string
	leaseKey        string
	refreshInterval time.Duration
	fetchTimeout    time.Duration

	keys      *KeySet
	fetchedAt time.Time
	entryCAS  uint32
	fetching  bool
}

// NewSource returns the Source of one issuer. owner must differ between the
// VMs of one process.
func NewSource(store Store, issuer, owner string, refreshInterval, fetchTimeout time.Duration) *Source {
	return &Source{
		store:           store,
		owner:           owner,
		entryKey:        "edgejwt/jwks/" + issuer,
		leaseKey:        "edgejwt/jwks-lease/" + issuer,
		refreshInterval: refreshInterval,
		fetchTimeout:    fetchTimeout,
	}
}

// NewStaticSource returns a Source that always holds keys (an inline JWKS).
func NewStaticSource(keys *KeySet) *Source {
	return &Source{keys: keys}
}

// Keys is the current key set, or nil when none has been loaded yet.
func (s *Source) Keys() *KeySet { return s.keys }

// FetchedAt is when the current key set was fetched.
func (s *Source) FetchedAt() time.Time { return s.fetchedAt }

// Sync loads the shared document when it changed since the last call.
// changed reports a new key set; skipped lists keys left out of it.
func (s *Source) Sync() (changed bool, skipped []Skipped, err error) {
	if s.store == nil {
		return false, nil, nil
	}
	val, cas, found, err := s.store.Get(s.entryKey)
	if err != nil || !found || cas == s.entryCAS {
		return false, nil, err
	}
	e, err := DecodeEntry(val)
	if err != nil {
		return false, nil, err
	}
	keys, skipped, err := Parse(e.Document)
	if err != nil {
		// Stored documents were parsed before they were stored; this
		// one is from a different filter build. Keep what we have.
		return false, skipped, err
	}
	s.keys, s.fetchedAt, s.entryCAS = keys, e.FetchedAt, cas
	return true, skipped, nil
}

// StartFetch reports whether this VM should fetch now, and if so takes the
// fetch lease. It is false while this VM's own fetch is in flight, while the
// shared document is fresh, and while another VM holds an unexpired lease.
func (s *Source) StartFetch(now time.Time) bool {
	if s.store == nil || s.fetching {
		return false
	}
	if s.keys != nil && now.Before(s.fetchedAt.Add(s.refreshInterval)) {
		return false
	}
	val, cas, found, err := s.store.Get(s.leaseKey)
	if err != nil {
		return false
	}
	if found {
		if until, ok := leaseExpiry(val); ok && now.Before(until) {
			return false
		}
	}
	lease := s.owner + " " + strconv.FormatInt(now.Add(s.fetchTimeout+leaseMargin).UnixMilli(), 10)
	if s.store.Set(s.leaseKey, []byte(lease), cas) != nil {
		return false // another VM took it first
	}
	s.fetching = true
	return true
}

// ErrNotShared means a fetched key set is in use in this VM but could not be
// written to shared data for the others.
var ErrNotShared = errors.New("jwkscache: key set not shared")

// FetchSucceeded takes the document this VM fetched: it is parsed, and if it
// holds usable keys, stored for every VM and used from now on. A document
// that does not parse is returned as an error and changes nothing: the
// caller records it with FetchFailed, and the previous keys stay in use.
func (s *Source) FetchSucceeded(now time.Time, doc []byte) (skipped []Skipped, err error) {
	keys, skipped, err := Parse(doc)
	if err != nil {
		return skipped, err
	}
	s.fetching = false
	s.keys, s.fetchedAt = keys, now
	val := Entry{FetchedAt: now, Document: doc}.Encode()
	for range 8 {
		_, cas, _, gerr := s.store.Get(s.entryKey)
		if gerr != nil {
			return skipped, fmt.Errorf("%w: reading shared data: %v", ErrNotShared, gerr)
		}
		serr := s.store.Set(s.entryKey, val, cas)
		if serr == nil {
			_, s.entryCAS, _, _ = s.store.Get(s.entryKey)
			s.releaseLease(now)
			return skipped, nil
		}
		if !errors.Is(serr, ErrCASMismatch) {
			return skipped, fmt.Errorf("%w: writing shared data: %v", ErrNotShared, serr)
		}
	}
	return skipped, fmt.Errorf("%w: shared data kept changing", ErrNotShared)
}

// FetchFailed records a failed fetch: the lease is held until the retry time,
// so that no VM of the process fetches again before it.
func (s *Source) FetchFailed(now time.Time) {
	s.fetching = false
	s.setLease(now.Add(RetryAfterFailure))
}

func (s *Source) releaseLease(now time.Time) { s.setLease(now) }

func (s *Source) setLease(until time.Time) {
	_, cas, _, err := s.store.Get(s.leaseKey)
	if err != nil {
		return
	}
	lease := s.owner + " " + strconv.FormatInt(until.UnixMilli(), 10)
	_ = s.store.Set(s.leaseKey, []byte(lease), cas)
}

func leaseExpiry(val []byte) (time.Time, bool) {
	_, ms, ok := strings.Cut(string(val), " ")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n), true
}
