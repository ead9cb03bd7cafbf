package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// The JWKS lifecycle under faults: the filter keeps serving with the last
// good keys while fetches fail, refuses (503) once they are older than
// jwksMaxStale, recovers without a restart, follows a key rotation without
// rejecting a valid token, and fetches once per period for all workers.

// waitFetches waits until the issuer has seen more than n JWKS requests.
func waitFetches(t *testing.T, iss *devservers.Issuer, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for iss.Fetches() <= n {
		if time.Now().After(deadline) {
			t.Fatalf("the filter made no JWKS request within %v (still %d)", within, iss.Fetches())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJWKSFaultsAtStart: whatever the endpoint does wrong (too slow, 500,
// garbage, a document over the size bound), no key set is loaded, so valid
// tokens get 503, never 200 or 401; once the endpoint heals, the same Envoy
// serves them. (A well-formed key set without usable keys is no fault: it
// is the issuer's word, adopted: TestRevocationByEmptyKeySet.)
func TestJWKSFaultsAtStart(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name  string
		fault devservers.Fault
	}{
		{"slow, past the timeout", devservers.Fault{Delay: 1500 * time.Millisecond}},
		{"HTTP 500", devservers.Fault{Status: 500, Body: []byte("oops")}},
		{"garbage body", devservers.Fault{Body: []byte("<html>not a JWKS</html>")}},
		{"huge body", devservers.Fault{Body: []byte(`{"keys":[],"pad":"` + strings.Repeat("x", 300<<10) + `"}`)}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			fault := f.fault
			s := newStack(t, stackOptions{
				jwksDown: true,
				rule:     map[string]any{"timeout": "1s", "jwksRetryInterval": "300ms", "jwksMaxRetryInterval": "300ms"},
				top:      map[string]any{"pendingRequestTimeout": "500ms"},
			})
			s.issuer.SetFault(&fault)
			if err := s.issuer.Start(); err != nil {
				t.Fatal(err)
			}
			waitFetches(t, s.issuer, 1, 10*time.Second)
			tok := s.validToken(t)
			s.expectUnavailable(t, s.send(t, bearer(tok)))
			s.issuer.SetFault(nil)
			a := awaitStatus(t, s, bearer(tok), http.StatusOK, func(a answer) { s.expectUnavailable(t, a) },
				"no recovery within 10 s of the endpoint healing")
			s.expectAllowed(t, a)
		})
	}
}

// TestJWKSOutage: keys loaded, then the endpoint fails. Requests keep being
// served with the last good keys until they are older than jwksMaxStale;
// then 503 (fail closed); when the endpoint answers again, service resumes
// without a restart.
func TestJWKSOutage(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{rule: map[string]any{
		"jwksRefreshInterval": "1s", "jwksMinRefreshInterval": "1s",
		"jwksRetryInterval": "300ms", "jwksMaxRetryInterval": "300ms",
		"jwksMaxStale": "3s",
	}})
	tok := s.validToken(t)
	s.expectAllowed(t, s.send(t, bearer(tok)))
	s.issuer.SetFault(&devservers.Fault{Status: 503})
	failedFrom := time.Now()

	// Within jwksMaxStale of the last good fetch: still served.
	s.expectAllowed(t, s.send(t, bearer(tok)))
	time.Sleep(1500 * time.Millisecond)
	if time.Since(failedFrom) < 2*time.Second {
		s.expectAllowed(t, s.send(t, bearer(tok)))
	}
	// Past it: refused with 503, never let through.
	a := awaitStatus(t, s, bearer(tok), http.StatusServiceUnavailable, func(a answer) { s.expectAllowed(t, a) },
		"still serving 10 s into an outage longer than jwksMaxStale")
	s.expectUnavailable(t, a)
	if stale := time.Since(failedFrom); stale < 2*time.Second {
		t.Errorf("refused after %v: the last good keys were dropped before jwksMaxStale", stale)
	}
	s.issuer.SetFault(nil)
	a = awaitStatus(t, s, bearer(tok), http.StatusOK, func(a answer) { s.expectUnavailable(t, a) },
		"no recovery after the outage")
	s.expectAllowed(t, a)
}

// awaitStatus sends h every 100 ms until the answer has status want, and
// returns it; every other answer goes to meanwhile. It fails with msg after
// 10 s.
func awaitStatus(t *testing.T, s *stack, h http.Header, want int, meanwhile func(answer), msg string) answer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := s.send(t, h)
		if a.status == want {
			return a
		}
		meanwhile(a)
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKeyRotation: under continuous traffic, the issuer publishes a new key,
// signs with it, then drops the old one. No valid token is refused: a token
// with the new kid makes the filter refetch at once (held meanwhile). After
// the old key is dropped and the filter has refreshed, a token signed with
// it is refused.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{concurrency: 2, rule: map[string]any{
		"jwksRefreshInterval": "2s", "jwksMinRefreshInterval": "1s",
		"jwksUnknownKidRefetchInterval": "1s",
	}})
	var kid atomic.Value // "" signs with the original key
	kid.Store("")
	mint := func() (string, error) {
		c := s.validClaims()
		if k := kid.Load().(string); k != "" {
			return s.issuer.MintWithKey(k, c)
		}
		return s.issuer.Mint(c)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sent, refused atomic.Int64
	var firstRefusal atomic.Value
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tok, err := mint()
				if err != nil {
					t.Error(err)
					return
				}
				a, err := s.trySend(fmt.Sprintf("%s/w%d", t.Name(), w), bearer(tok))
				if err != nil {
					t.Error(err)
					return
				}
				sent.Add(1)
				if a.status != http.StatusOK {
					refused.Add(1)
					firstRefusal.CompareAndSwap(nil, fmt.Sprintf("%d %s", a.status, bytes.TrimSpace(a.body)))
				}
			}
		})
	}
	oldTok := s.validToken(t)
	time.Sleep(500 * time.Millisecond)
	newKID, err := s.issuer.AddKey()
	if err != nil {
		t.Fatal(err)
	}
	// Sign with the new key at once: the filter has not refreshed yet, so
	// the new kid is unknown to it until the refetch it triggers.
	kid.Store(newKID)
	time.Sleep(1500 * time.Millisecond)
	if err := s.issuer.DropSigningKey(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // past jwksRefreshInterval: the filter has the set without the old key
	close(stop)
	wg.Wait()
	if n := refused.Load(); n != 0 {
		t.Errorf("%d of %d valid requests refused during the rotation; first: %v", n, sent.Load(), firstRefusal.Load())
	}
	if sent.Load() < 20 {
		t.Errorf("only %d requests sent: not continuous traffic", sent.Load())
	}
	s.expectInvalid(t, s.send(t, bearer(oldTok)), "no matching signing key")
}

// TestOneFetchPerPeriod: with four workers (four Wasm VMs sharing one key
// set through shared data), the issuer sees one JWKS request per refresh
// period, not one per VM.
func TestOneFetchPerPeriod(t *testing.T) {
	t.Parallel()
	const period = 2 * time.Second
	s := newStack(t, stackOptions{concurrency: 4, rule: map[string]any{
		"jwksRefreshInterval": "2s", "jwksMinRefreshInterval": "1s",
	}})
	s.expectAllowed(t, s.send(t, bearer(s.validToken(t))))
	start, before := time.Now(), s.issuer.Fetches()
	// Traffic on every worker meanwhile.
	for time.Since(start) < 5*period {
		answers, _ := sendConcurrently(t, s, 8, bearer(s.validToken(t)))
		for _, a := range answers {
			s.expectAllowed(t, a)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := s.issuer.Fetches() - before
	periods := int64(time.Since(start) / period)
	t.Logf("%d JWKS fetches in %d refresh periods with 4 workers", got, periods)
	if got < periods-1 || got > periods+1 {
		t.Errorf("%d fetches in %d periods: want one per period", got, periods)
	}
}
