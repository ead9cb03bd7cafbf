package wasmtest

import (
	"maps"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/wasmhost"
)

// TestCachedRequestCrossings pins what one request with a cached token
// costs in crossings between the host and the module: the callbacks the
// host makes into the module and the host calls the filter makes. Each is
// a few microseconds inside V8, the biggest share of a cached request's
// cost; a change that adds one shows up here (and in docs/performance.md,
// where the list is written out).
func TestCachedRequestCrossings(t *testing.T) {
	h := newHost(t, patchedModule(t), wasmhost.Options{Config: inlineConfig()})
	var valid request
	for _, r := range mixedTraffic() {
		if r.kind == "valid" {
			valid = r
			break
		}
	}
	// The first request verifies the token and caches it; the clock's
	// first reads, the metrics' definitions and the like happen there.
	for range 2 {
		res, err := h.Request(valid.headers)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.FinishRequest(res.ID); err != nil {
			t.Fatal(err)
		}
	}
	hostBefore, cbBefore := h.HostCalls(), h.Callbacks()
	res, err := h.Request(valid.headers)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != wasmhost.Continue {
		t.Fatalf("cached token refused: %+v", res)
	}
	if err := h.FinishRequest(res.ID); err != nil {
		t.Fatal(err)
	}
	hostCalls, callbacks := delta(hostBefore, h.HostCalls()), delta(cbBefore, h.Callbacks())
	t.Logf("callbacks: %v", callbacks)
	t.Logf("host calls: %v", hostCalls)
	want := map[string]int{
		"proxy_on_context_create":  1,
		"proxy_on_request_headers": 1,
		"proxy_on_memory_allocate": 1, // the request headers
		"proxy_on_delete":          1,
	}
	if !maps.Equal(callbacks, want) {
		t.Errorf("callbacks %v, want %v", callbacks, want)
	}
	wantHost := map[string]int{
		"proxy_get_header_map_pairs": 1, // read the request headers once
		"clock_time_get":             1, // the time, once
		// The token's header out, x-jwt-sub in: a call each (cheaper in
		// Envoy than one proxy_set_header_map_pairs of the whole map).
		"proxy_remove_header_map_value":  1,
		"proxy_replace_header_map_value": 1,
	}
	if !maps.Equal(hostCalls, wantHost) {
		t.Errorf("host calls %v, want %v", hostCalls, wantHost)
	}
}

// delta is after minus before, without the zero entries.
func delta(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[strings.TrimPrefix(k, "wasi_snapshot_preview1.")] = d
		}
	}
	return out
}
