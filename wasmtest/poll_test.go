package wasmtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/wasmhost"
)

// minGCCycles is the fewest collections a full run must show (25 were
// seen), so that a change that quietly stops the collections cannot
// make the poll tests pass for nothing.
const minGCCycles = 10

// gcCycles counts the collections the module reported (gctrace=1).
func gcCycles(h *wasmhost.Host) int {
	n := 0
	for _, line := range strings.Split(h.Output(), "\n") {
		if strings.HasPrefix(line, "gc ") {
			n++
		}
	}
	return n
}

// TestOldEnvoyPollRestriction runs the filter as Envoy 1.36-1.38 would:
// poll_oneoff inside a callback traps the module (restricted_callback) or
// fails with ENOSYS. With the runtime patch the module never calls it, so it
// answers all the traffic, rightly.
func TestOldEnvoyPollRestriction(t *testing.T) {
	wasm := patchedModule(t)
	traffic := mixedTraffic()
	for _, mode := range []wasmhost.PollMode{wasmhost.PollTrapInCallback, wasmhost.PollENOSYS} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHost(t, wasm, wasmhost.Options{Env: moduleEnv, Poll: mode, Config: inlineConfig()})
			n, err := drive(t, h, traffic)
			if err != nil {
				t.Fatalf("the module died after %d requests: %v", n, err)
			}
			if h.PollCalls() != 0 {
				t.Errorf("poll_oneoff called %d times, want 0", h.PollCalls())
			}
			if got, want := h.Callbacks()["proxy_on_tick"], len(traffic)/tickEvery; got != want {
				t.Errorf("%d ticks, want %d", got, want)
			}
			if n := gcCycles(h); n < minGCCycles {
				t.Errorf("%d GC cycles, want at least %d", n, minGCCycles)
			}
			t.Logf("%d requests, %d GC cycles, host calls %v", n, gcCycles(h), h.HostCalls())
		})
	}
}

// TestUnpatchedRuntimeDiesOnOldEnvoy is the control: the same module built
// without the runtime patch dies within the same traffic, which shows that
// collections and timers really happen in it and that
// TestOldEnvoyPollRestriction can fail. On Envoy 1.39+ (PollAllow) it
// lives, polling with zero timeouts only.
func TestUnpatchedRuntimeDiesOnOldEnvoy(t *testing.T) {
	wasm := unpatchedModule(t)
	traffic := mixedTraffic()

	t.Run("restricted_callback", func(t *testing.T) {
		h := newHost(t, wasm, wasmhost.Options{Env: moduleEnv, Poll: wasmhost.PollTrapInCallback, Config: inlineConfig()})
		n, err := drive(t, h, traffic)
		var trap *wasmhost.PollTrapError
		if !errors.As(err, &trap) {
			t.Fatalf("%d requests answered, error %v; want a poll_oneoff trap within the traffic", n, err)
		}
		if trap.Timeout != 0 {
			t.Errorf("the trapping poll_oneoff asked to wait %dns, want the zero-timeout netpoll", trap.Timeout)
		}
		if h.Err() == nil {
			t.Error("the host does not remember the trap")
		}
		if _, err := h.Request(traffic[0].headers); err == nil {
			t.Error("a request after the trap succeeded, want the trap again")
		}
		t.Logf("trapped in %s after %d requests and %d GC cycles", trap.Callback, n, gcCycles(h))
	})

	t.Run("ENOSYS", func(t *testing.T) {
		h := newHost(t, wasm, wasmhost.Options{Env: moduleEnv, Poll: wasmhost.PollENOSYS, Config: inlineConfig()})
		n, err := drive(t, h, traffic)
		// The runtime throws; printing the fatal error it sleeps (usleep,
		// another poll_oneoff), fails again and aborts: a trap, not an exit.
		var trap *wasmhost.TrapError
		if !errors.As(err, &trap) || !strings.Contains(trap.Output, "fatal error: poll_oneoff failed") {
			t.Fatalf("%d requests answered, error %v; want the Go runtime's fatal \"poll_oneoff failed\" within the traffic", n, err)
		}
		t.Logf("died in %s after %d requests and %d GC cycles", trap.Export, n, gcCycles(h))
	})

	t.Run("Envoy 1.39+", func(t *testing.T) {
		h := newHost(t, wasm, wasmhost.Options{Env: moduleEnv, Poll: wasmhost.PollAllow, Config: inlineConfig()})
		if n, err := drive(t, h, traffic); err != nil {
			t.Fatalf("the module died after %d requests: %v", n, err)
		}
		if h.PollCalls() == 0 || h.MaxPollTimeout() != 0 {
			t.Errorf("%d poll_oneoff calls, largest timeout %dns; want some, all with timeout 0",
				h.PollCalls(), h.MaxPollTimeout())
		}
		t.Logf("%d poll_oneoff calls in %d GC cycles", h.PollCalls(), gcCycles(h))
	})
}

// TestNeverSleeps runs the patched module where poll_oneoff is allowed: the
// filter never sleeps in a callback, and with the patch it does not even
// poll.
func TestNeverSleeps(t *testing.T) {
	h := newHost(t, patchedModule(t), wasmhost.Options{Env: moduleEnv, Poll: wasmhost.PollAllow, Config: inlineConfig()})
	if n, err := drive(t, h, mixedTraffic()); err != nil {
		t.Fatalf("the module died after %d requests: %v", n, err)
	}
	if h.PollCalls() != 0 || h.MaxPollTimeout() != 0 {
		t.Errorf("%d poll_oneoff calls, largest timeout %dns; want none", h.PollCalls(), h.MaxPollTimeout())
	}
}
