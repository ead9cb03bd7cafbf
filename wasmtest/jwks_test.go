package wasmtest

import (
	"slices"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/wasmhost"
)

// TestJWKSFetch configures the filter with a jwksUri: the first tick fetches
// the key set through the cluster, a request that arrives before it is held
// and let through once the test answers the fetch, and the traffic is then
// answered as with an inline key set.
func TestJWKSFetch(t *testing.T) {
	cfg := []byte(`{"jwtRules":[{"issuer":"` + issuer + `","jwksUri":"https://issuer.example/.well-known/jwks.json",` +
		`"jwksCluster":"issuer_jwks","outputClaimToHeaders":[{"header":"x-jwt-sub","claim":"sub"}]}]}`)
	h := newHost(t, patchedModule(t), wasmhost.Options{Env: moduleEnv, Poll: wasmhost.PollTrapInCallback, Config: cfg})
	if calls := h.PendingHTTPCalls(); len(calls) != 0 {
		t.Fatalf("HTTP calls before the first tick: %+v", calls)
	}
	if got := h.TickPeriodMillis(); got != 200 {
		t.Errorf("tick period %dms, want 200ms", got)
	}

	traffic := mixedTraffic()
	early := traffic[0]
	held, err := h.Request(early.headers)
	if err != nil {
		t.Fatal(err)
	}
	if held.Outcome != wasmhost.Paused {
		t.Fatalf("a request before the key set: %v, want Paused", held.Outcome)
	}

	if err := h.Tick(); err != nil {
		t.Fatal(err)
	}
	calls := h.PendingHTTPCalls()
	if len(calls) != 1 {
		t.Fatalf("%d HTTP calls after the first tick, want 1: %+v", len(calls), calls)
	}
	call := calls[0]
	wantHeaders := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "issuer.example"},
		{":path", "/.well-known/jwks.json"}, {"accept", "application/json"}}
	if call.Cluster != "issuer_jwks" || !slices.Equal(sortedPairs(call.Headers), sortedPairs(wantHeaders)) {
		t.Errorf("JWKS call to %q with %q, want issuer_jwks with %q", call.Cluster, call.Headers, wantHeaders)
	}

	err = h.RespondHTTPCall(call.ID, 200, [][2]string{{"content-type", "application/json"}, {"cache-control", "max-age=300"}}, []byte(jwks()))
	if err != nil {
		t.Fatal(err)
	}
	res, ok := h.Stream(held.ID)
	if !ok {
		t.Fatal("the held request is gone")
	}
	if err := early.check(res); err != nil || res.Resumed != 1 {
		t.Errorf("the held request, once the keys arrived: %v, resumed %d times, want once", err, res.Resumed)
	}
	if err := h.FinishRequest(held.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(h.Logs(), func(l wasmhost.LogEntry) bool { return strings.Contains(l.Message, "loaded 1 keys") }) {
		t.Errorf("no log of the loaded key set; logs: %v", h.Logs())
	}

	if n, err := drive(t, h, traffic[:500]); err != nil {
		t.Fatalf("the module died after %d requests: %v", n, err)
	}
	if calls := h.PendingHTTPCalls(); len(calls) != 0 {
		t.Errorf("HTTP calls after the key set was loaded: %+v", calls)
	}
}
