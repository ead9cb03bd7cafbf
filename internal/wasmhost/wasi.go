package wasmhost

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	wasi "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// PollMode is how the host answers WASI poll_oneoff, the call the Go
// runtime makes to sleep and, after a stop-the-world once a timer was ever
// armed, to poll with a zero timeout.
type PollMode int

const (
	// PollAllow answers at once, as Envoy 1.39+ does: every clock
	// subscription fires as though its time had passed. Nothing sleeps, so a
	// module that wants to sleep spins; MaxPollTimeout shows it.
	PollAllow PollMode = iota
	// PollTrapInCallback traps the module when it calls poll_oneoff while
	// a proxy_on_* callback runs, as Envoy 1.36-1.38 do
	// ("restricted_callback"). Outside callbacks (_initialize) it answers
	// as PollAllow.
	PollTrapInCallback
	// PollENOSYS answers every call with errno 52 (ENOSYS), as some Envoy
	// builds of the same versions do.
	PollENOSYS
)

func (m PollMode) String() string {
	switch m {
	case PollAllow:
		return "PollAllow"
	case PollTrapInCallback:
		return "PollTrapInCallback"
	case PollENOSYS:
		return "PollENOSYS"
	}
	return fmt.Sprintf("PollMode(%d)", int(m))
}

// PollTrapError is what traps the module under PollTrapInCallback. It is in
// the chain of the error the trapped call returns (errors.As).
type PollTrapError struct {
	Callback string // the proxy_on_* export that was running
	Timeout  uint64 // the largest clock timeout asked for, in nanoseconds
}

func (e *PollTrapError) Error() string {
	return fmt.Sprintf("wasmhost: poll_oneoff (timeout %dns) called inside %s: restricted_callback", e.Timeout, e.Callback)
}

// WASI errno values and event layout (wasi_snapshot_preview1).
const (
	errnoBadf   = 8
	errnoFault  = 21
	errnoInval  = 28
	errnoNosys  = 52
	eventClock  = 0
	subSize     = 48 // userdata u64, tag u8 at 8, union body from 16
	eventSize   = 32 // userdata u64, errno u16 at 8, type u8 at 10
	clockOffset = 24 // the clock timeout (u64) within a subscription
)

// instantiateWASI provides wasi_snapshot_preview1: wazero's functions, then
// the host's own poll_oneoff under the same name, which replaces wazero's
// (a later export of a name wins in a HostModuleBuilder; TestPollOverride
// checks it). Every WASI call the module makes is counted in HostCalls,
// through a function listener: the exporter's functions cannot be wrapped
// otherwise.
func (h *Host) instantiateWASI(ctx context.Context, r wazero.Runtime) error {
	b := r.NewHostModuleBuilder(wasi.ModuleName)
	wasi.NewFunctionExporter().ExportFunctions(b)
	i32 := api.ValueTypeI32
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(h.pollOneoff), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("in", "out", "nsubscriptions", "result.nevents").
		Export("poll_oneoff")
	_, err := b.Instantiate(experimental.WithFunctionListenerFactory(ctx, wasiCounter{h}))
	return err
}

func (h *Host) pollOneoff(_ context.Context, mod api.Module, stack []uint64) {
	in, out, n, neventsPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	h.pollCalls++
	if n == 0 {
		stack[0] = errnoInval
		return
	}
	subs, ok := mod.Memory().Read(in, n*subSize)
	if !ok {
		stack[0] = errnoFault
		return
	}
	var timeout uint64
	for i := range n {
		if s := subs[i*subSize:]; s[8] == eventClock {
			timeout = max(timeout, binary.LittleEndian.Uint64(s[clockOffset:]))
		}
	}
	h.maxPollTimeout = max(h.maxPollTimeout, timeout)

	switch cb := h.runningCallback(); {
	case h.opts.Poll == PollTrapInCallback && cb != "":
		panic(&PollTrapError{Callback: cb, Timeout: timeout})
	case h.opts.Poll == PollENOSYS:
		stack[0] = errnoNosys
		return
	}
	// Answer at once: clocks fire; descriptors do not exist here.
	events := make([]byte, n*eventSize)
	for i := range n {
		s, e := subs[i*subSize:], events[i*eventSize:]
		copy(e[:8], s[:8]) // userdata
		e[10] = s[8]       // type
		if s[8] != eventClock {
			binary.LittleEndian.PutUint16(e[8:], errnoBadf)
		}
	}
	if !mod.Memory().Write(out, events) || !writeU32(mod, neventsPtr, n) {
		stack[0] = errnoFault
		return
	}
	stack[0] = 0
}

// runningCallback is the outermost proxy_on_* export running ("" when none
// is: _initialize is no callback).
func (h *Host) runningCallback() string {
	for _, name := range h.running {
		if strings.HasPrefix(name, "proxy_on_") {
			return name
		}
	}
	return ""
}

// wasiCounter counts the module's calls of each WASI function.
type wasiCounter struct{ h *Host }

func (c wasiCounter) NewFunctionListener(def api.FunctionDefinition) experimental.FunctionListener {
	names := def.ExportNames()
	if len(names) == 0 {
		return nil
	}
	return wasiCall{c.h, names[0]}
}

type wasiCall struct {
	h    *Host
	name string
}

func (c wasiCall) Before(context.Context, api.Module, api.FunctionDefinition, []uint64, experimental.StackIterator) {
	c.h.hostCalls[c.name]++
}

func (wasiCall) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

func (wasiCall) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}
