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

func TestEntryGolden(t *testing.T) {
	e := Entry{FetchedAt: time.UnixMilli(1764403200123), Document: []byte(`{"keys":[]}`)}
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
	if err != nil || !got.FetchedAt.Equal(e.FetchedAt) || !bytes.Equal(got.Document, e.Document) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range []string{"", "edgejwt-jwks/1 ", "edgejwt-jwks/1 12", "edgejwt-jwks/1 x\n{}", "edgejwt-jwks/1 -5\n{}", "edgejwt-jwks/2 1\n{}"} {
		if _, err := DecodeEntry([]byte(bad)); err == nil {
			t.Errorf("DecodeEntry(%q) accepted", bad)
		}
	}
}

func TestSourcesShareOneFetch(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	const refresh, timeout = 10 * time.Minute, 5 * time.Second
	a := NewSource(store, "iss", "vm-a", refresh, timeout)
	b := NewSource(store, "iss", "vm-b", refresh, timeout)
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
	if _, err := a.FetchSucceeded(t0.Add(time.Second), doc); err != nil {
		t.Fatal(err)
	}
	if a.Keys() == nil || a.Keys().Len() != 1 {
		t.Fatal("fetching VM has no keys")
	}
	if b.Keys() != nil {
		t.Fatal("keys before sync")
	}
	changed, _, err := b.Sync()
	if err != nil || !changed || b.Keys().Len() != 1 {
		t.Fatalf("sync: changed=%v err=%v", changed, err)
	}
	if changed, _, _ := b.Sync(); changed {
		t.Fatal("unchanged shared data parsed again")
	}
	if changed, _, _ := a.Sync(); changed {
		t.Fatal("the fetching VM re-parsed its own document")
	}
	// Fresh: nobody fetches until the refresh interval has passed.
	if a.StartFetch(t0.Add(time.Minute)) || b.StartFetch(t0.Add(time.Minute)) {
		t.Fatal("fetch while fresh")
	}
	later := t0.Add(refresh + 2*time.Second)
	if !b.StartFetch(later) {
		t.Fatal("refresh due, b should fetch")
	}
	if a.StartFetch(later) {
		t.Fatal("both VMs fetch the same refresh")
	}
	rotated := jwks(rsaJWK("k2", &rsa2048b.PublicKey, ""))
	if _, err := b.FetchSucceeded(later, rotated); err != nil {
		t.Fatal(err)
	}
	if changed, _, _ := a.Sync(); !changed {
		t.Fatal("a missed the rotation")
	}
	if _, err := a.Keys().Key("k1", "RS256"); err == nil {
		t.Fatal("removed key still usable after the new set arrived")
	}
	if _, err := a.Keys().Key("k2", "RS256"); err != nil {
		t.Fatal(err)
	}
}

func TestSourceFailureRetriesAndKeepsKeys(t *testing.T) {
	testKeys(t)
	store := newMemStore()
	a := NewSource(store, "iss", "vm-a", time.Minute, 5*time.Second)
	b := NewSource(store, "iss", "vm-b", time.Minute, 5*time.Second)
	t0 := time.UnixMilli(1_700_000_000_000)

	if !a.StartFetch(t0) {
		t.Fatal("no fetch")
	}
	a.FetchFailed(t0)
	if a.StartFetch(t0.Add(RetryAfterFailure/2)) || b.StartFetch(t0.Add(RetryAfterFailure/2)) {
		t.Fatal("retried before RetryAfterFailure")
	}
	if !b.StartFetch(t0.Add(RetryAfterFailure)) {
		t.Fatal("no retry after RetryAfterFailure")
	}
	if _, err := b.FetchSucceeded(t0.Add(RetryAfterFailure), jwks(rsaJWK("k1", &rsa2048.PublicKey, ""))); err != nil {
		t.Fatal(err)
	}
	// A refresh that returns garbage keeps the previous keys.
	t1 := t0.Add(2 * time.Minute)
	if !b.StartFetch(t1) {
		t.Fatal("refresh not due")
	}
	if _, err := b.FetchSucceeded(t1, []byte("<html>oops</html>")); err == nil {
		t.Fatal("garbage accepted")
	}
	b.FetchFailed(t1)
	if b.Keys() == nil || b.Keys().Len() != 1 {
		t.Fatal("keys dropped on a failed refresh")
	}
	if b.StartFetch(t1.Add(RetryAfterFailure / 2)) {
		t.Fatal("retry before RetryAfterFailure")
	}
}

func TestSourceLeaseOfDeadVMExpires(t *testing.T) {
	store := newMemStore()
	a := NewSource(store, "iss", "vm-a", time.Minute, 5*time.Second)
	b := NewSource(store, "iss", "vm-b", time.Minute, 5*time.Second)
	t0 := time.UnixMilli(1_700_000_000_000)
	if !a.StartFetch(t0) {
		t.Fatal("no fetch")
	}
	// a never answers.
	if b.StartFetch(t0.Add(5 * time.Second)) {
		t.Fatal("lease taken over too early")
	}
	if !b.StartFetch(t0.Add(5*time.Second + leaseMargin)) {
		t.Fatal("lease of a dead fetcher never expires")
	}
}
