package jwkscache

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// memStore is the shared-data semantics of a proxy-wasm host: a CAS token
// per key that changes on every write.
type memStore struct {
	vals map[string][]byte
	cas  map[string]uint32
	next uint32
}

func newMemStore() *memStore {
	return &memStore{vals: map[string][]byte{}, cas: map[string]uint32{}}
}

func (m *memStore) Get(key string) ([]byte, uint32, bool, error) {
	v, ok := m.vals[key]
	return bytes.Clone(v), m.cas[key], ok, nil
}

func (m *memStore) Set(key string, v []byte, cas uint32) error {
	if cas != 0 && cas != m.cas[key] {
		return ErrCASMismatch
	}
	m.next++
	m.vals[key], m.cas[key] = bytes.Clone(v), m.next
	return nil
}

func testPolicy() Policy {
	p := DefaultPolicy()
	p.RefreshInterval = 10 * time.Minute
	return p
}

func noJitter() float64 { return 0 }

func TestEntryGolden(t *testing.T) {
	e := Entry{FetchedAt: time.UnixMilli(1764403200123), RefreshAt: time.UnixMilli(1764403800123), Document: []byte(`{"keys":[]}`)}
	enc := e.Encode()
	golden := filepath.Join("testdata", "entry.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, want) {
		t.Fatalf("encoded entry changed:\n%q\nwant\n%q", enc, want)
	}
	got, err := DecodeEntry(enc)
	if err != nil || !got.FetchedAt.Equal(e.FetchedAt) || !got.RefreshAt.Equal(e.RefreshAt) || !bytes.Equal(got.Document, e.Document) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "edgejwt-jwks/1 ", "edgejwt-jwks/1 12 13", "edgejwt-jwks/1 12\n{}", "edgejwt-jwks/1 x 1\n{}",
		"edgejwt-jwks/1 -5 1\n{}", "edgejwt-jwks/2 1 1\n{}"} {
		if _, err := DecodeEntry([]byte(bad)); err == nil {
			t.Errorf("DecodeEntry(%q) accepted", bad)
		}
	}
}

func TestSourcesShareOneFetch(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	a := NewSource(store, "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	b := NewSource(store, "iss", "https://iss.example/jwks", "vm-b", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)

	if !a.StartFetch(t0) {
		t.Fatal("first VM should fetch")
	}
	if a.StartFetch(t0) {
		t.Fatal("a fetch in flight must not start another")
	}
	if b.StartFetch(t0.Add(time.Second)) {
		t.Fatal("second VM fetched while the first holds the lease")
	}
	doc := jwks(rsaJWK("k1", &rsa2048.PublicKey, ""))
	if changed, _, err := a.FetchSucceeded(t0.Add(time.Second), doc, ""); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if a.Keys(t0) == nil || a.Keys(t0).Len() != 1 {
		t.Fatal("fetching VM has no keys")
	}
	if b.Keys(t0) != nil {
		t.Fatal("keys before sync")
	}
	updated, changed, _, err := b.Sync(time.Now())
	if err != nil || !updated || !changed || b.Keys(t0).Len() != 1 {
		t.Fatalf("sync: updated=%v changed=%v err=%v", updated, changed, err)
	}
	if updated, _, _, _ := b.Sync(time.Now()); updated {
		t.Fatal("unchanged shared data loaded again")
	}
	if updated, _, _, _ := a.Sync(time.Now()); updated {
		t.Fatal("the fetching VM reloaded its own entry")
	}
	// Fresh: nobody fetches until the refresh interval has passed.
	if a.StartFetch(t0.Add(time.Minute)) || b.StartFetch(t0.Add(time.Minute)) {
		t.Fatal("fetch while fresh")
	}
	later := t0.Add(p.RefreshInterval + 2*time.Second)
	if !b.StartFetch(later) {
		t.Fatal("refresh due, b should fetch")
	}
	if a.StartFetch(later) {
		t.Fatal("both VMs fetch the same refresh")
	}
	// The same document again: a new entry, but nothing to re-parse.
	if changed, _, err := b.FetchSucceeded(later, doc, ""); err != nil || changed {
		t.Fatalf("same document: changed=%v err=%v", changed, err)
	}
	if updated, changed, _, _ := a.Sync(time.Now()); !updated || changed {
		t.Fatalf("same document seen by a: updated=%v changed=%v", updated, changed)
	}
	later2 := later.Add(p.RefreshInterval)
	if !a.StartFetch(later2) {
		t.Fatal("refresh due")
	}
	rotated := jwks(rsaJWK("k2", &rsa2048b.PublicKey, ""))
	if _, _, err := a.FetchSucceeded(later2, rotated, ""); err != nil {
		t.Fatal(err)
	}
	if updated, changed, _, _ := b.Sync(time.Now()); !updated || !changed {
		t.Fatal("b missed the rotation")
	}
	if _, err := b.Keys(later2).Key("k1", "RS256"); err == nil {
		t.Fatal("removed key still usable after the new set arrived")
	}
	if _, err := b.Keys(later2).Key("k2", "RS256"); err != nil {
		t.Fatal(err)
	}
}

func TestSourceFailureBacksOffAndKeepsKeys(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	a := NewSource(store, "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	b := NewSource(store, "iss", "https://iss.example/jwks", "vm-b", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)

	now := t0
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		src := []*Source{a, b}[i%2] // failures count across VMs
		if !src.StartFetch(now) {
			t.Fatalf("failure %d: no fetch at %v", i, now.Sub(t0))
		}
		if d := src.FetchFailed(now); d != want {
			t.Fatalf("failure %d: backoff %v, want %v", i+1, d, want)
		}
		if a.StartFetch(now.Add(want-time.Millisecond)) || b.StartFetch(now.Add(want-time.Millisecond)) {
			t.Fatalf("retried before the backoff of %v", want)
		}
		now = now.Add(want)
	}
	if !b.StartFetch(now) {
		t.Fatal("no retry after the backoff")
	}
	if _, _, err := b.FetchSucceeded(now, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	// Success resets the backoff.
	t1 := now.Add(p.RefreshInterval)
	if !b.StartFetch(t1) {
		t.Fatal("refresh not due")
	}
	if _, _, err := b.FetchSucceeded(t1, []byte("<html>oops</html>"), ""); err == nil {
		t.Fatal("garbage accepted")
	}
	if d := b.FetchFailed(t1); d != time.Second {
		t.Fatalf("backoff after a success = %v, want 1s", d)
	}
	if b.Keys(t1) == nil || b.Keys(t1).Len() != 1 {
		t.Fatal("keys dropped on a failed refresh")
	}
}

func TestSourceMaxStale(t *testing.T) {
	testKeys(t)
	p := testPolicy()
	p.MaxStale = time.Hour
	a := NewSource(newMemStore(), "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	a.StartFetch(t0)
	if _, _, err := a.FetchSucceeded(t0, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	if a.Keys(t0.Add(time.Hour)) == nil || a.Stale(t0.Add(time.Hour)) {
		t.Fatal("keys refused at MaxStale")
	}
	late := t0.Add(time.Hour + time.Millisecond)
	if a.Keys(late) != nil || !a.Stale(late) || !a.Loaded() {
		t.Fatal("stale keys still used")
	}
	a.StartFetch(late)
	if _, _, err := a.FetchSucceeded(late, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	if a.Keys(late) == nil {
		t.Fatal("no recovery after a successful fetch")
	}
}

func TestSourceHonoursCacheControl(t *testing.T) {
	testKeys(t)
	p := testPolicy()
	a := NewSource(newMemStore(), "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	a.StartFetch(t0)
	if _, _, err := a.FetchSucceeded(t0, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), "public, max-age=120"); err != nil {
		t.Fatal(err)
	}
	if a.StartFetch(t0.Add(119 * time.Second)) {
		t.Fatal("fetched before max-age")
	}
	if !a.StartFetch(t0.Add(120 * time.Second)) {
		t.Fatal("max-age ignored")
	}
}

func TestUnknownKIDRefetchIsRateLimited(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	a := NewSource(store, "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	b := NewSource(store, "iss", "https://iss.example/jwks", "vm-b", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	a.StartFetch(t0)
	if _, _, err := a.FetchSucceeded(t0, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	b.Sync(t0)
	t1 := t0.Add(time.Minute)
	if !waits(b.RequestKIDRefetch(t1, 0)) {
		t.Fatal("first unknown kid did not ask for a refetch")
	}
	if !waits(a.RequestKIDRefetch(t1.Add(time.Millisecond), 0)) {
		t.Fatal("a token on another VM must wait for the refetch in flight")
	}
	// Only the lease holder fetches, though both were asked.
	if !b.StartFetch(t1) || a.StartFetch(t1) {
		t.Fatal("not exactly one refetch")
	}
	rotated := jwks(rsaJWK("k1", &rsa2048.PublicKey, ""), rsaJWK("k2", &rsa2048b.PublicKey, ""))
	if _, _, err := b.FetchSucceeded(t1.Add(100*time.Millisecond), rotated, ""); err != nil {
		t.Fatal(err)
	}
	a.Sync(t1)
	if _, err := a.Keys(t1).Key("k2", "RS256"); err != nil {
		t.Fatal("rotated key not there after the refetch")
	}
	// Another unknown kid within the interval: refused at once when it
	// cannot wait for the next slot, and no fetch starts.
	if waits(a.RequestKIDRefetch(t1.Add(time.Second), 0)) || waits(b.RequestKIDRefetch(t1.Add(2*time.Second), time.Second)) {
		t.Fatal("a token that cannot wait for the next slot was held")
	}
	if a.StartFetch(t1.Add(3 * time.Second)) {
		t.Fatal("fetch without reason")
	}
	if !waits(a.RequestKIDRefetch(t1.Add(p.UnknownKIDRefetchInterval), 0)) {
		t.Fatal("no refetch after the interval")
	}
}

// TestUnknownKIDWaitsForTheNextSlot is the attack the refetch budget must
// survive: tokens with random kids spend the interval's refetch just before
// the issuer publishes a new key. A token of the new key arriving then waits
// for the next slot, which opens one interval after the last, instead of
// being refused; the JWKS endpoint still sees one refetch per interval.
func TestUnknownKIDWaitsForTheNextSlot(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	p.UnknownKIDRefetchInterval = 5 * time.Second
	a := NewSource(store, "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	b := NewSource(store, "iss", "https://iss.example/jwks", "vm-b", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	a.StartFetch(t0)
	old := jwks(rsaJWK("k1", &rsa2048.PublicKey, ""))
	if _, _, err := a.FetchSucceeded(t0, old, ""); err != nil {
		t.Fatal(err)
	}
	b.Sync(t0)
	fetches := 0
	now := t0.Add(time.Minute)
	// An attacker's random kid takes the slot; the fetch finds nothing new.
	if !waits(a.RequestKIDRefetch(now, 0)) || !a.StartFetch(now) {
		t.Fatal("the attacker's kid did not start a refetch")
	}
	fetches++
	if _, _, err := a.FetchSucceeded(now.Add(50*time.Millisecond), old, ""); err != nil {
		t.Fatal(err)
	}
	b.Sync(now)
	// The issuer publishes k2; a token signed with it arrives on b at once.
	published := now.Add(100 * time.Millisecond)
	maxWait := 5 * time.Second
	if !waits(b.RequestKIDRefetch(published, maxWait)) {
		t.Fatal("the new key's token was refused instead of waiting for the next slot")
	}
	// More random kids meanwhile wait too, but start no fetch of their own
	// before the next slot.
	for i := 1; i < 60; i++ {
		at := published.Add(time.Duration(i) * 100 * time.Millisecond)
		waits(a.RequestKIDRefetch(at, maxWait))
		// Each VM's tick: pick up what others stored, then fetch if due.
		for _, src := range []*Source{a, b} {
			src.Sync(at)
			if src.StartFetch(at) {
				if at.Before(now.Add(p.UnknownKIDRefetchInterval)) {
					t.Fatalf("a refetch started at %v, before the slot opened", at.Sub(now))
				}
				fetches++
				rotated := jwks(rsaJWK("k1", &rsa2048.PublicKey, ""), rsaJWK("k2", &rsa2048b.PublicKey, ""))
				if _, _, err := src.FetchSucceeded(at, rotated, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := b.Keys(published.Add(5*time.Second)).Key("k2", "RS256"); err != nil {
		t.Fatal("the new key was not picked up within one interval")
	}
	if fetches != 2 {
		t.Errorf("%d fetches in 6 s of random kids, want 2 (one per interval)", fetches)
	}
}

// TestOriginsDoNotShareKeys: two origins of one issuer (a configuration
// push that moves jwksUri, or two listeners of one VM) keep separate key
// sets: neither adopts the other's.
func TestOriginsDoNotShareKeys(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	oldSrc := NewSource(store, "iss", "https://old.example/jwks cluster=old", "vm-a", p, noJitter)
	newSrc := NewSource(store, "iss", "https://new.example/jwks cluster=new", "vm-a", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	if !oldSrc.StartFetch(t0) {
		t.Fatal("no fetch")
	}
	if _, _, err := oldSrc.FetchSucceeded(t0, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	if updated, _, _, _ := newSrc.Sync(t0); updated || newSrc.Loaded() {
		t.Fatal("the new origin adopted the old origin's key set")
	}
	if !newSrc.StartFetch(t0) {
		t.Fatal("the new origin's first fetch was held back by the old origin's lease")
	}
	if KeySetName("iss", "a") == KeySetName("iss", "b") || KeySetName("iss", "a") != KeySetName("iss", "a") {
		t.Error("KeySetName is not a function of issuer and origin")
	}
}

// TestEmptyKeySetRevokes: a well-formed key set without usable keys is
// adopted (every token refused); garbage keeps the last good keys.
func TestEmptyKeySetRevokes(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	a := NewSource(store, "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	b := NewSource(store, "iss", "https://iss.example/jwks", "vm-b", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	a.StartFetch(t0)
	if _, _, err := a.FetchSucceeded(t0, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	for _, garbage := range []string{`not json`, `{"keys":{}}`, `[]`, `{}`} {
		if _, _, err := a.FetchSucceeded(t0, []byte(garbage), ""); err == nil {
			t.Fatalf("%s accepted", garbage)
		}
		if a.Keys(t0).Len() != 1 {
			t.Fatalf("%s dropped the last good keys", garbage)
		}
	}
	for _, empty := range []string{`{"keys":[]}`, `{"keys":[{"kty":"RSA","use":"enc"}]}`} {
		t1 := t0.Add(time.Hour)
		if _, _, err := a.FetchSucceeded(t1, []byte(empty), ""); err != nil {
			t.Fatalf("%s: %v", empty, err)
		}
		if ks := a.Keys(t1); ks == nil || ks.Len() != 0 {
			t.Fatalf("%s not adopted: %v", empty, ks)
		}
		if _, err := a.Keys(t1).Key("k1", "RS256"); err == nil {
			t.Fatalf("%s: the revoked key still verifies", empty)
		}
		b.Sync(t1)
		if ks := b.Keys(t1); ks == nil || ks.Len() != 0 {
			t.Fatalf("%s: another VM kept the revoked keys", empty)
		}
	}
}

// TestUnusedKeySetsAreDropped: a key set no Source marks as used for
// unusedAfter is emptied from shared data; one in use stays.
func TestUnusedKeySetsAreDropped(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	gone := NewSource(store, "iss", "https://old.example/jwks", "vm-a", p, noJitter)
	kept := NewSource(store, "iss", "https://new.example/jwks", "vm-a", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	doc := jwks(rsaJWK("k1", &rsa2048.PublicKey, ""))
	for _, src := range []*Source{gone, kept} {
		src.Sync(t0)
		src.StartFetch(t0)
		if _, _, err := src.FetchSucceeded(t0, doc, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Only kept is used from now on (gone's configuration was replaced).
	for m := 1; m <= 11; m++ {
		kept.Sync(t0.Add(time.Duration(m) * time.Minute))
	}
	if v, _, found, _ := store.Get(entryPrefix + gone.name); found && len(v) != 0 {
		t.Error("the unused key set was not dropped")
	}
	if v, _, _, _ := store.Get(entryPrefix + kept.name); len(v) == 0 {
		t.Error("the key set in use was dropped")
	}
	if idx := parseIndex(func() []byte { v, _, _, _ := store.Get(indexKey); return v }()); len(idx) != 1 {
		t.Errorf("index %v, want the key set in use only", idx)
	}
	// A configuration that names the dropped origin again starts afresh.
	back := NewSource(store, "iss", "https://old.example/jwks", "vm-b", p, noJitter)
	if updated, _, _, _ := back.Sync(t0.Add(12 * time.Minute)); updated || back.Loaded() {
		t.Error("a dropped key set was adopted")
	}
}

func TestSourceLeaseOfDeadVMExpires(t *testing.T) {
	store := newMemStore()
	p := testPolicy()
	a := NewSource(store, "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	b := NewSource(store, "iss", "https://iss.example/jwks", "vm-b", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	if !a.StartFetch(t0) {
		t.Fatal("no fetch")
	}
	// a never answers.
	if b.StartFetch(t0.Add(p.FetchTimeout)) {
		t.Fatal("lease taken over too early")
	}
	if !b.StartFetch(t0.Add(p.FetchTimeout + leaseMargin)) {
		t.Fatal("lease of a dead fetcher never expires")
	}
}

func TestPolicy(t *testing.T) {
	p := DefaultPolicy()
	at := time.UnixMilli(0)
	for cc, want := range map[string]time.Duration{
		"":                        p.RefreshInterval,
		"max-age=300":             5 * time.Minute,
		"public, max-age=\"300\"": 5 * time.Minute,
		"max-age=1":               p.MinRefreshInterval,
		"max-age=999999999":       p.MaxRefreshInterval,
		"no-store":                p.MinRefreshInterval,
		"no-cache, max-age=300":   p.MinRefreshInterval,
		"max-age=-5":              p.RefreshInterval,
		"max-age=5x":              p.RefreshInterval,
		"max-age=1, max-age=900":  p.RefreshInterval,
		"MAX-AGE=60":              time.Minute,
	} {
		if got := p.NextRefresh(at, cc).Sub(at); got != want {
			t.Errorf("NextRefresh(%q) = %v, want %v", cc, got, want)
		}
	}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 6: 32 * time.Second, 7: time.Minute, 100: time.Minute} {
		if got := p.RetryDelay(n, 0); got != want {
			t.Errorf("RetryDelay(%d) = %v, want %v", n, got, want)
		}
	}
	if got := p.RetryDelay(3, 0.999); got <= 2*time.Second || got > 4*time.Second {
		t.Errorf("jittered delay %v outside (2s, 4s]", got)
	}
}

// waits is RequestKIDRefetch's first result.
func waits(wait, _ bool) bool { return wait }

// TestUnknownKIDFinalAnswer: a token that joins a refetch asked for before
// it arrived is told that refetch's answer is not final (the key may have
// been published in between); one that takes a slot, or waits for the next,
// is told it is.
func TestUnknownKIDFinalAnswer(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	p := testPolicy()
	p.UnknownKIDRefetchInterval = 5 * time.Second
	a := NewSource(store, "iss", "https://iss.example/jwks", "vm-a", p, noJitter)
	b := NewSource(store, "iss", "https://iss.example/jwks", "vm-b", p, noJitter)
	t0 := time.UnixMilli(1_700_000_000_000)
	a.StartFetch(t0)
	if _, _, err := a.FetchSucceeded(t0, jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	b.Sync(t0)
	t1 := t0.Add(time.Minute)
	if wait, final := a.RequestKIDRefetch(t1, 0); !wait || !final {
		t.Fatalf("the token that takes the slot: wait %v final %v", wait, final)
	}
	if wait, final := b.RequestKIDRefetch(t1.Add(300*time.Millisecond), 0); !wait || final {
		t.Fatalf("a token joining the refetch asked for before it: wait %v final %v", wait, final)
	}
	if !a.StartFetch(t1) {
		t.Fatal("no refetch")
	}
	if _, _, err := a.FetchSucceeded(t1.Add(time.Second), jwks(rsaJWK("k1", &rsa2048.PublicKey, "")), ""); err != nil {
		t.Fatal(err)
	}
	b.Sync(t1.Add(time.Second))
	// It landed without the kid; b's token asks again, within its wait.
	if wait, final := b.RequestKIDRefetch(t1.Add(1100*time.Millisecond), 4*time.Second); !wait || !final {
		t.Fatalf("asking again for the next slot: wait %v final %v", wait, final)
	}
	if wait, _ := b.RequestKIDRefetch(t1.Add(1100*time.Millisecond), 3*time.Second); wait {
		t.Fatal("held although the next slot opens after its wait")
	}
}
