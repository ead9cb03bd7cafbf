package dpop

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/edgejwt/edgejwt/jwkscache"
)

// Replay cache layout. The cache is split into buckets of at most
// slotsPerBucket entries, each bucket one value in the store:
//
//	horizon uint32 | slotsPerBucket x (id uint64 | iat uint32)
//
// big-endian. id is the first 8 bytes of SHA-256(jkt 0x00 jti); iat is the
// proof's iat in whole seconds. A bucket is read, changed and written back
// with compare-and-swap, so that concurrent writers (the workers of one
// Envoy, through shared data) never lose an entry. horizon is the newest
// iat of an entry evicted before it expired: a proof with an iat at or
// before it might be a replay of that entry and is refused. A flood of
// proofs therefore narrows the time window instead of letting replays
// through.
const (
	slotsPerBucket = 32
	slotSize       = 12
	bucketHeader   = 4
	maxBucketBytes = bucketHeader + slotsPerBucket*slotSize
	// casAttempts bounds the retries of one insertion that keeps losing
	// the race for its bucket.
	casAttempts = 8
)

// DefaultReplayCacheSize is the number of proofs remembered by default.
const DefaultReplayCacheSize = 65536

// ReplayCache remembers the proofs a rule accepted until their iat leaves
// the time window, and refuses a second proof with the same jti from the
// same key.
type ReplayCache struct {
	store   jwkscache.Store
	prefix  string // of the bucket keys
	buckets uint32
	maxAge  int64 // seconds an entry stays: the oldest iat accepted
}

// NewReplayCache prepares a cache of about size entries (a multiple of 32)
// in store, in keys named after name, size and maxAge (a configuration
// that changes either starts a new cache). Buckets that do not exist yet
// are created now: a Store cannot create a value only if it is absent, so
// creating them later, while other writers insert, could lose an entry.
// In Envoy every VM runs this at plugin start, the first one (the
// configuration check on the main thread) before any worker exists.
func NewReplayCache(store jwkscache.Store, name string, size int, maxAge time.Duration) (*ReplayCache, error) {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	c := &ReplayCache{
		store:   store,
		prefix:  "edgejwt.dpop.jti|" + name + "|" + strconv.Itoa(size) + "|" + maxAge.String() + "|",
		buckets: uint32((size + slotsPerBucket - 1) / slotsPerBucket),
		maxAge:  int64((maxAge + time.Second - 1) / time.Second),
	}
	empty := make([]byte, bucketHeader)
	for i := uint32(0); i < c.buckets; i++ {
		key := c.key(i)
		_, _, found, err := store.Get(key)
		if err != nil {
			return nil, err
		}
		if !found {
			if err := store.Set(key, empty, 0); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

func (c *ReplayCache) key(bucket uint32) string {
	return c.prefix + strconv.FormatUint(uint64(bucket), 10)
}

// errReplayBusy: the bucket changed under every attempt.
var errReplayBusy = detail(ErrReplayCheck, "the bucket kept changing")

// Check records the proof (its key's thumbprint jkt, jti and iat in
// seconds) and fails with ErrReplayed when the cache already holds it, or
// may have held it (its iat is at or before the bucket's horizon).
func (c *ReplayCache) Check(jkt, jti string, iat int64, now time.Time) error {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	id := binary.BigEndian.Uint64(sum[:8])
	key := c.key(binary.BigEndian.Uint32(sum[8:12]) % c.buckets)
	oldest := now.Unix() - c.maxAge // entries with an older iat have expired
	var buf [maxBucketBytes + slotSize]byte
	for range casAttempts {
		val, cas, found, err := c.store.Get(key)
		if err != nil {
			return detail(ErrReplayCheck, err.Error())
		}
		if found && (len(val) < bucketHeader || (len(val)-bucketHeader)%slotSize != 0) {
			val = nil // not ours: start over (the write still needs cas)
		}
		horizon := int64(0)
		if len(val) >= bucketHeader {
			horizon = int64(binary.BigEndian.Uint32(val))
		}
		if iat <= horizon {
			return detail(ErrReplayed, "iat at or before the horizon of a full replay cache")
		}
		// Keep the live entries, look for this one.
		out := buf[:bucketHeader]
		minAt := -1
		for s := bucketHeader; s+slotSize <= len(val); s += slotSize {
			sid, sat := binary.BigEndian.Uint64(val[s:]), int64(binary.BigEndian.Uint32(val[s+8:]))
			if sat < oldest {
				continue
			}
			if sid == id {
				return ErrReplayed
			}
			if minAt < 0 || sat < int64(binary.BigEndian.Uint32(out[minAt+8:])) {
				minAt = len(out)
			}
			out = append(out, val[s:s+slotSize]...)
		}
		if len(out) >= maxBucketBytes {
			// Full of live entries: the oldest goes, and the horizon
			// moves up to it.
			evicted := int64(binary.BigEndian.Uint32(out[minAt+8:]))
			horizon = max(horizon, evicted)
			out = append(out[:minAt], out[minAt+slotSize:]...)
		}
		binary.BigEndian.PutUint32(out, uint32(horizon))
		out = binary.BigEndian.AppendUint64(out, id)
		out = binary.BigEndian.AppendUint32(out, uint32(iat))
		err = c.store.Set(key, out, cas)
		if err == nil {
			return nil
		}
		if !errors.Is(err, jwkscache.ErrCASMismatch) {
			return detail(ErrReplayCheck, err.Error())
		}
	}
	return errReplayBusy
}

// MemoryStore is a Store in memory, for a process of its own (tests and
// native use): compare-and-swap as Envoy's shared data does it.
type MemoryStore struct {
	mu   sync.Mutex
	data map[string]memoryValue
	next uint32
}

type memoryValue struct {
	v   []byte
	cas uint32
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{data: map[string]memoryValue{}} }

// Get returns a copy of the value of key and its CAS token.
func (m *MemoryStore) Get(key string) ([]byte, uint32, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	if !ok {
		return nil, 0, false, nil
	}
	return append([]byte(nil), v.v...), v.cas, true, nil
}

// Set stores a copy of value unless cas is not zero and differs from the
// key's (jwkscache.ErrCASMismatch).
func (m *MemoryStore) Set(key string, value []byte, cas uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.data[key]; ok && cas != 0 && cas != v.cas {
		return jwkscache.ErrCASMismatch
	}
	m.next++
	m.data[key] = memoryValue{v: append([]byte(nil), value...), cas: m.next}
	return nil
}
