package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// fastRetry keeps the retry backoff of a failing JWKS fetch at 1 s, so that
// tests of an endpoint that comes back need not wait for a long backoff.
var fastRetry = map[string]any{"jwksMaxRetryInterval": "1s"}

// sendConcurrently sends n requests with header at once and returns the
// answers and when each arrived.
func sendConcurrently(t *testing.T, s *stack, n int, header http.Header) ([]answer, []time.Time) {
	t.Helper()
	answers := make([]answer, n)
	arrived := make([]time.Time, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			answers[i], errs[i] = s.trySend(t.Name(), header)
			arrived[i] = time.Now()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return answers, arrived
}

// TestJWKSLate: Envoy starts while the issuer's JWKS endpoint refuses
// connections. Requests with valid tokens are held, not refused, and pass
// once the keys arrive. The JWKS comes up after 1.5 s and the filter retries
// a failed fetch every second, so the keys normally arrive within the
// default 5 s pendingRequestTimeout; the test sets 15 s so that a loaded
// machine cannot turn a late tick into a 503.
func TestJWKSLate(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{jwksDown: true, top: map[string]any{"pendingRequestTimeout": "15s"}, rule: fastRetry})
	const n = 4
	claims := s.validClaims()
	tok := s.issuer.MustMint(claims)

	const upAfter = 1500 * time.Millisecond
	upAt := make(chan time.Time, 1)
	timer := time.AfterFunc(upAfter, func() {
		at := time.Now()
		if err := s.issuer.Start(); err != nil {
			t.Error(err)
		}
		upAt <- at
	})
	defer timer.Stop()

	answers, arrived := sendConcurrently(t, s, n, bearer(tok))
	var jwksUp time.Time
	select {
	case jwksUp = <-upAt:
	case <-time.After(upAfter + 5*time.Second):
		t.Fatal("the JWKS endpoint did not start")
	}
	for i, a := range answers {
		up := s.expectAllowed(t, a)
		expectVerifiedHeaders(t, up, claims)
		if arrived[i].Before(jwksUp) {
			t.Errorf("request %s answered before the JWKS came up: it was not held", a.id)
		}
	}
	if s.issuer.Fetches() == 0 {
		t.Error("the issuer saw no JWKS fetch")
	}
	t.Run("after the keys arrived", func(t *testing.T) { checkValidToken(t, s) })
}

// TestJWKSUnavailable: with pendingRequestTimeout 1s and a JWKS endpoint that
// never answers, held requests get the README's 503 (never a 401, never a
// 200), the upstream sees none of them, and requests that need no keys are
// answered as usual.
func TestJWKSUnavailable(t *testing.T) {
	t.Parallel()
	const hold = time.Second
	s := newStack(t, stackOptions{jwksDown: true, top: map[string]any{"pendingRequestTimeout": "1s"}, rule: fastRetry})
	tok := s.validToken(t)

	check503 := func(t *testing.T) {
		start := time.Now()
		answers, arrived := sendConcurrently(t, s, 3, bearer(tok))
		for i, a := range answers {
			s.expectUnavailable(t, a)
			// The tick that expires held requests runs every 200 ms.
			if d := arrived[i].Sub(start); d < hold-100*time.Millisecond || d > hold+5*time.Second {
				t.Errorf("503 after %v, want about %v", d.Round(time.Millisecond), hold)
			}
		}
	}

	t.Run("connection refused", check503)

	t.Run("HTTP 503", func(t *testing.T) {
		s.issuer.SetUnavailable(true)
		if err := s.issuer.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for the filter to have tried the now-listening endpoint.
		before := s.issuer.Fetches()
		deadline := time.Now().Add(5 * time.Second)
		for s.issuer.Fetches() == before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if s.issuer.Fetches() == before {
			t.Fatal("the filter did not fetch the JWKS again within 5 s")
		}
		check503(t)
	})

	t.Run("no token", func(t *testing.T) { s.expectNoToken(t, s.send(t, nil)) })
	t.Run("token of an unknown issuer", func(t *testing.T) {
		c := s.validClaims()
		c["iss"] = "https://evil.example"
		s.expectInvalid(t, s.send(t, bearer(s.issuer.MustMint(c))), "issuer not accepted")
	})
}
