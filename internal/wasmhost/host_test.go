package wasmhost

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// testModule is a tiny proxy-wasm module, assembled by hand so that these
// tests need no toolchain:
//
//   - _initialize and proxy_on_tick call poll_oneoff with one clock
//     subscription of 5ms (in memory at 0, events at 64, nevents at 128) and
//     store the errno at 140 and 136;
//   - proxy_on_request_headers reads the request headers
//     (proxy_get_header_map_pairs) and answers 403 with them as the
//     response headers, then pauses;
//   - proxy_on_memory_allocate always returns 1024.
func testModule() []byte {
	const (
		i32          = 0x7f
		callPoll     = 0
		callGetPairs = 1
		callSendResp = 2
	)
	types := [][2][]byte{
		{{i32, i32, i32, i32}, {i32}},                     // 0: poll_oneoff
		{{i32, i32, i32}, {i32}},                          // 1: get pairs, on_request_headers
		{{i32, i32, i32, i32, i32, i32, i32, i32}, {i32}}, // 2: send_local_response
		{nil, nil},          // 3: () -> ()
		{{i32, i32}, nil},   // 4: on_context_create
		{{i32, i32}, {i32}}, // 5: on_vm_start, on_configure
		{{i32}, nil},        // 6: on_tick
		{{i32}, {i32}},      // 7: on_memory_allocate
	}
	imports := []struct {
		module, name string
		typ          byte
	}{
		{"wasi_snapshot_preview1", "poll_oneoff", 0},
		{"env", "proxy_get_header_map_pairs", 1},
		{"env", "proxy_send_local_response", 2},
	}
	c := func(v int32) []byte { return append([]byte{0x41}, sleb(v)...) } // i32.const
	call := func(f byte) []byte { return []byte{0x10, f} }
	store := []byte{0x36, 2, 0} // i32.store align=4 offset=0
	load := []byte{0x28, 2, 0}  // i32.load align=4 offset=0
	poll := func(errnoAt int32) []byte {
		return cat(c(errnoAt), c(0), c(64), c(1), c(128), call(callPoll), store)
	}
	funcs := []struct {
		name string
		typ  byte
		body []byte
	}{
		{"_initialize", 3, poll(140)},
		{"proxy_abi_version_0_2_0", 3, nil},
		{"proxy_on_context_create", 4, nil},
		{"proxy_on_vm_start", 5, c(1)},
		{"proxy_on_configure", 5, c(1)},
		{"proxy_on_tick", 6, poll(136)},
		{"proxy_on_memory_allocate", 7, c(1024)},
		{"proxy_on_request_headers", 1, cat(
			c(mapRequestHeaders), c(200), c(204), call(callGetPairs), []byte{0x1a}, // drop
			c(403), c(0), c(0), c(0), c(0), c(200), load, c(204), load, c(-1), call(callSendResp), []byte{0x1a},
			c(1))},
	}
	// One clock subscription: userdata, tag 0 (clock) at 8, clock id 1
	// (monotonic) at 16, timeout 5ms at 24.
	sub := make([]byte, 48)
	binary.LittleEndian.PutUint64(sub, 0x1122334455667788)
	binary.LittleEndian.PutUint32(sub[16:], 1)
	binary.LittleEndian.PutUint64(sub[24:], 5_000_000)

	var typeSec, importSec, funcSec, exportSec, codeSec [][]byte
	for _, t := range types {
		typeSec = append(typeSec, cat([]byte{0x60}, vec(t[0]), vec(t[1])))
	}
	for _, im := range imports {
		importSec = append(importSec, cat(name(im.module), name(im.name), []byte{0x00, im.typ}))
	}
	for i, f := range funcs {
		funcSec = append(funcSec, []byte{f.typ})
		exportSec = append(exportSec, cat(name(f.name), []byte{0x00, byte(len(imports) + i)}))
		body := cat([]byte{0}, f.body, []byte{0x0b}) // no locals; end
		codeSec = append(codeSec, cat(uleb(uint32(len(body))), body))
	}
	exportSec = append(exportSec, cat(name("memory"), []byte{0x02, 0}))
	return cat([]byte("\x00asm\x01\x00\x00\x00"),
		section(1, typeSec), section(2, importSec), section(3, funcSec),
		section(5, [][]byte{{0x00, 1}}), // one memory, one page
		section(7, exportSec), section(10, codeSec),
		section(11, [][]byte{cat([]byte{0x00}, c(0), []byte{0x0b}, vec(sub))}))
}

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

func uleb(v uint32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		if v >>= 7; v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func sleb(v int32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func vec(b []byte) []byte  { return cat(uleb(uint32(len(b))), b) }
func name(s string) []byte { return vec([]byte(s)) }
func section(id byte, items [][]byte) []byte {
	content := cat(uleb(uint32(len(items))), cat(items...))
	return cat([]byte{id}, uleb(uint32(len(content))), content)
}

func newTestHost(t *testing.T, poll PollMode) *Host {
	t.Helper()
	h, err := New(context.Background(), testModule(), Options{Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func (h *Host) memU32(t *testing.T, addr uint32) uint32 {
	t.Helper()
	v, ok := h.mod.Memory().ReadUint32Le(addr)
	if !ok {
		t.Fatalf("reading %d", addr)
	}
	return v
}

// TestPollOverride checks that the host's poll_oneoff replaces wazero's, in
// each mode, and that its calls are counted and measured.
func TestPollOverride(t *testing.T) {
	t.Run("PollAllow", func(t *testing.T) {
		h := newTestHost(t, PollAllow)
		if err := h.Tick(); err != nil {
			t.Fatal(err)
		}
		// wazero's own poll_oneoff would have slept 5ms; this one fires
		// the clock at once and reports it.
		if errno, n, typ := h.memU32(t, 136), h.memU32(t, 128), h.memU32(t, 64+8); errno != 0 || n != 1 || typ>>16&0xff != eventClock {
			t.Errorf("errno %d, %d events, event type %d; want 0, 1 clock event", errno, n, typ>>16&0xff)
		}
		if ud, _ := h.mod.Memory().ReadUint64Le(64); ud != 0x1122334455667788 {
			t.Errorf("event userdata %#x, want the subscription's", ud)
		}
		if h.PollCalls() != 2 || h.MaxPollTimeout() != 5_000_000 || h.HostCalls()["poll_oneoff"] != 2 {
			t.Errorf("%d calls (%d counted as host calls), largest timeout %dns; want 2 calls, 5ms",
				h.PollCalls(), h.HostCalls()["poll_oneoff"], h.MaxPollTimeout())
		}
	})

	t.Run("PollENOSYS", func(t *testing.T) {
		h := newTestHost(t, PollENOSYS)
		if err := h.Tick(); err != nil {
			t.Fatal(err)
		}
		if init, tick := h.memU32(t, 140), h.memU32(t, 136); init != errnoNosys || tick != errnoNosys {
			t.Errorf("errno %d in _initialize, %d in proxy_on_tick; want %d", init, tick, errnoNosys)
		}
	})

	t.Run("PollTrapInCallback", func(t *testing.T) {
		h := newTestHost(t, PollTrapInCallback)
		// Outside a callback (_initialize) the call is answered.
		if errno := h.memU32(t, 140); errno != 0 {
			t.Errorf("errno %d in _initialize, want 0", errno)
		}
		err := h.Tick()
		var trap *PollTrapError
		if !errors.As(err, &trap) || trap.Callback != "proxy_on_tick" || trap.Timeout != 5_000_000 {
			t.Fatalf("Tick: %v, want a poll trap in proxy_on_tick", err)
		}
		if h.Err() != err {
			t.Errorf("Err() = %v, want the trap", h.Err())
		}
		// The module is dead: every later call fails the same way.
		if _, err2 := h.Request([][2]string{{":path", "/"}}); err2 != err {
			t.Errorf("a request after the trap: %v, want the trap", err2)
		}
	})
}

// TestRequestHeaders runs a request through the test module: its headers
// travel to the module and back as a local response's.
func TestRequestHeaders(t *testing.T) {
	h := newTestHost(t, PollAllow)
	res, err := h.Request([][2]string{{":path", "/x"}, {"X-Mixed", "Case"}, {"empty", ""}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]string{{":path", "/x"}, {"x-mixed", "Case"}, {"empty", ""}}
	if res.Outcome != Local || res.Local.Status != 403 || !slices.Equal(res.Local.Headers, want) {
		t.Fatalf("got %v %+v, want Local 403 with %q", res.Outcome, res.Local, want)
	}
	if n := h.Callbacks()["proxy_on_memory_allocate"]; n != 1 {
		t.Errorf("%d allocations, want 1", n)
	}
	if err := h.FinishRequest(res.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.Stream(res.ID); ok {
		t.Error("the finished request is still there")
	}
}

func TestPairs(t *testing.T) {
	for _, pairs := range [][][2]string{nil, {{"a", "1"}}, {{":path", "/"}, {"x", ""}, {"", "y"}, {"a", "1"}}} {
		got, err := decodePairs(encodePairs(pairs))
		if err != nil || len(got) != len(pairs) || len(pairs) > 0 && !slices.Equal(got, pairs) {
			t.Errorf("round trip of %q: %q, %v", pairs, got, err)
		}
	}
	good := encodePairs([][2]string{{"ab", "c"}})
	for _, bad := range [][]byte{
		{1, 0},                        // short count
		good[:len(good)-1],            // truncated
		append(slices.Clone(good), 0), // trailing byte
		func() []byte { b := slices.Clone(good); b[12+2] = 'x'; return b }(), // no NUL after the name
		func() []byte { b := slices.Clone(good); b[0] = 200; return b }(),    // count too big
	} {
		if _, err := decodePairs(bad); err == nil {
			t.Errorf("decodePairs(%q) succeeded", bad)
		}
	}
}

func TestHeaderMapEdits(t *testing.T) {
	m := clonePairs([][2]string{{"A", "1"}, {"b", "2"}, {"a", "3"}})
	if v, ok := m.get("a"); !ok || v != "1" {
		t.Errorf("get: %q %v", v, ok)
	}
	m.replace("A", "x")
	m.add("C", "4")
	m.remove("b")
	m.replace("d", "5")
	want := headerMap{{"a", "x"}, {"c", "4"}, {"d", "5"}}
	if !slices.Equal(m, want) {
		t.Errorf("got %q, want %q", m, want)
	}
}

// TestSharedDataCAS follows Envoy: a non-zero CAS must match an existing
// key's; a new key takes any.
func TestSharedDataCAS(t *testing.T) {
	h := &Host{shared: map[string]sharedEntry{}}
	if st := h.storeShared("k", []byte("v1"), 42); st != statusOK {
		t.Fatalf("new key with a CAS: status %d", st)
	}
	_, cas, _ := h.SharedData("k")
	if st := h.storeShared("k", []byte("v2"), cas+1); st != statusCASMismatch {
		t.Errorf("stale CAS: status %d, want CasMismatch", st)
	}
	if st := h.storeShared("k", []byte("v2"), cas); st != statusOK {
		t.Errorf("current CAS: status %d", st)
	}
	if v, cas2, _ := h.SharedData("k"); string(v) != "v2" || cas2 == cas || cas2 == 0 {
		t.Errorf("after the update: %q, cas %d (was %d)", v, cas2, cas)
	}
	if st := h.storeShared("k", []byte("v3"), 0); st != statusOK {
		t.Errorf("CAS 0 (unconditional): status %d", st)
	}
}
