package dpop

import (
	"encoding/binary"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/jwkscache"
)

func newTestReplay(t *testing.T, store jwkscache.Store, size int) *ReplayCache {
	t.Helper()
	rc, err := NewReplayCache(store, "https://issuer.example", size, DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// TestReplayCacheCreatesItsBuckets: every bucket exists once the cache is
// made (requests never have to create one), and a second cache over the
// same store (another VM) keeps what the first one holds.
func TestReplayCacheCreatesItsBuckets(t *testing.T) {
	store := NewMemoryStore()
	rc := newTestReplay(t, store, 100)
	if rc.buckets != 4 {
		t.Fatalf("%d buckets for 100 entries, want 4", rc.buckets)
	}
	for i := uint32(0); i < rc.buckets; i++ {
		if v, _, found, _ := store.Get(rc.key(i)); !found || len(v) != bucketHeader {
			t.Errorf("bucket %d: found %v, %d bytes", i, found, len(v))
		}
	}
	now := testNow
	if err := rc.Check("jkt", "a", now.Unix(), now); err != nil {
		t.Fatal(err)
	}
	other := newTestReplay(t, store, 100)
	if err := other.Check("jkt", "a", now.Unix(), now); !errors.Is(err, ErrReplayed) {
		t.Fatalf("the other VM's check: %v, want ErrReplayed", err)
	}
}

// TestReplayCacheConcurrent: the same proof checked at once by many
// writers (the workers of one Envoy) passes exactly once.
func TestReplayCacheConcurrent(t *testing.T) {
	store := NewMemoryStore()
	caches := make([]*ReplayCache, 8)
	for i := range caches {
		caches[i] = newTestReplay(t, store, 64)
	}
	for round := range 50 {
		var passed atomic.Int32
		var wg sync.WaitGroup
		jti := "jti-" + strconv.Itoa(round)
		for _, rc := range caches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := rc.Check("jkt", jti, testNow.Unix(), testNow)
				switch {
				case err == nil:
					passed.Add(1)
				case !errors.Is(err, ErrReplayed) && !errors.Is(err, errReplayBusy):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if passed.Load() != 1 {
			t.Fatalf("round %d: %d of %d concurrent checks passed, want 1", round, passed.Load(), len(caches))
		}
	}
}

// TestReplayCacheFull: a bucket full of live entries evicts the oldest and
// moves its horizon up to it, so that the evicted proof, replayed, is still
// refused; entries past the time window are dropped without a trace.
func TestReplayCacheFull(t *testing.T) {
	store := NewMemoryStore()
	rc := newTestReplay(t, store, slotsPerBucket) // one bucket
	base := testNow.Unix()
	for i := range slotsPerBucket {
		if err := rc.Check("jkt", "j"+strconv.Itoa(i), base+int64(i), testNow.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	now := testNow.Add(40 * time.Second)
	if err := rc.Check("jkt", "new", base+40, now); err != nil {
		t.Fatalf("an entry into a full bucket: %v", err)
	}
	v, _, _, _ := store.Get(rc.key(0))
	if h := binary.BigEndian.Uint32(v); int64(h) != base {
		t.Errorf("horizon %d, want %d (the evicted entry's iat)", h, base)
	}
	if n := (len(v) - bucketHeader) / slotSize; n != slotsPerBucket {
		t.Errorf("%d entries, want %d", n, slotsPerBucket)
	}
	if err := rc.Check("jkt", "j0", base, now); !errors.Is(err, ErrReplayed) {
		t.Errorf("the evicted proof replayed: %v, want ErrReplayed", err)
	}
	if err := rc.Check("jkt", "other", base, now); !errors.Is(err, ErrReplayed) {
		t.Errorf("a proof as old as the horizon: %v, want ErrReplayed", err)
	}
	if err := rc.Check("jkt", "j5", base+5, now); !errors.Is(err, ErrReplayed) {
		t.Errorf("a live entry replayed: %v, want ErrReplayed", err)
	}
	if err := rc.Check("jkt", "fresh", base+41, now); err != nil {
		t.Errorf("a fresh proof: %v", err)
	}
	// Past the window every old entry is dropped and there is room again.
	later := testNow.Add(DefaultMaxAge + 40*time.Second)
	if err := rc.Check("jkt", "later", later.Unix(), later); err != nil {
		t.Fatal(err)
	}
	v, _, _, _ = store.Get(rc.key(0))
	if n := (len(v) - bucketHeader) / slotSize; n != 3 {
		t.Errorf("%d entries after the window passed, want 3 (new, fresh, later)", n)
	}
}

// flakyStore fails or always loses the race, to test the failures.
type flakyStore struct {
	*MemoryStore
	getErr, setErr error
}

func (s *flakyStore) Get(key string) ([]byte, uint32, bool, error) {
	if s.getErr != nil {
		return nil, 0, false, s.getErr
	}
	return s.MemoryStore.Get(key)
}

func (s *flakyStore) Set(key string, v []byte, cas uint32) error {
	if s.setErr != nil && cas != 0 {
		return s.setErr
	}
	return s.MemoryStore.Set(key, v, cas)
}

func TestReplayCacheStoreFailures(t *testing.T) {
	store := &flakyStore{MemoryStore: NewMemoryStore()}
	rc := newTestReplay(t, store, 32)
	store.setErr = jwkscache.ErrCASMismatch
	if err := rc.Check("jkt", "a", testNow.Unix(), testNow); !errors.Is(err, ErrReplayCheck) {
		t.Errorf("always losing the race: %v, want ErrReplayCheck", err)
	}
	store.setErr = errors.New("host refused")
	if err := rc.Check("jkt", "a", testNow.Unix(), testNow); !errors.Is(err, ErrReplayCheck) {
		t.Errorf("a failing write: %v, want ErrReplayCheck", err)
	}
	store.setErr, store.getErr = nil, errors.New("host refused")
	if err := rc.Check("jkt", "a", testNow.Unix(), testNow); !errors.Is(err, ErrReplayCheck) {
		t.Errorf("a failing read: %v, want ErrReplayCheck", err)
	}
	if _, err := NewReplayCache(store, "x", 32, time.Minute); err == nil {
		t.Error("NewReplayCache with a failing store: no error")
	}
	// A value that is not a bucket is replaced, not trusted.
	store.getErr = nil
	_ = store.MemoryStore.Set(rc.key(0), []byte("garbage"), 0)
	if err := rc.Check("jkt", "b", testNow.Unix(), testNow); err != nil {
		t.Errorf("over a corrupt bucket: %v", err)
	}
}

// TestNoncesShareTheSecret: two VMs over one store use one secret; a VM
// whose secret was replaced (two VMs wrote one at once) adopts the stored
// one on the first nonce it cannot check.
func TestNoncesShareTheSecret(t *testing.T) {
	store := NewMemoryStore()
	a, err := NewNonces(store, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNonces(store, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Valid(a.Issue(testNow), testNow) {
		t.Fatal("a nonce of one VM is not valid at the other")
	}
	replacement := make([]byte, 32)
	replacement[0] = 1
	if err := store.Set(nonceSecretKey, replacement, 0); err != nil {
		t.Fatal(err)
	}
	c, err := NewNonces(store, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Valid(c.Issue(testNow), testNow) {
		t.Fatal("a VM did not adopt the stored secret")
	}
	if a.Valid(a.Issue(testNow)[:31]+"A", testNow) {
		t.Fatal("a tampered nonce is valid")
	}
}
