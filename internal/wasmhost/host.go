// Package wasmhost is a small proxy-wasm host (ABI 0.2.1, the host functions
// the filter imports) on wazero, for tests that run the built filter module
// without Envoy: it drives the plugin's lifecycle, HTTP requests, ticks and
// HTTP callouts, records what the module did, and can answer WASI
// poll_oneoff as Envoy 1.36-1.38 do (see PollMode).
//
// A Host is not safe for concurrent use. A trap (or a proc_exit) in the
// module is returned as an error by the call that trapped, and the Host
// stays dead afterwards: every later call returns that error again.
package wasmhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// rootContextID is the plugin (root) context's id; HTTP contexts follow.
const rootContextID = 1

// Options configure a Host.
type Options struct {
	// Env are the module's environment variables (e.g. GOGC=1).
	Env map[string]string
	// Poll is how poll_oneoff is answered.
	Poll PollMode
	// Config is the plugin configuration (proxy_on_configure), VMConfig
	// the VM configuration (proxy_on_vm_start).
	Config, VMConfig []byte
	// Properties answer proxy_get_property, by path with its segments
	// joined by dots (e.g. "node.id"); a missing path is NotFound.
	Properties map[string][]byte
	// Cache, when set, shares compiled code between Hosts: compiling the
	// filter takes seconds.
	Cache wazero.CompilationCache
}

// Host runs one instance of a proxy-wasm module.
type Host struct {
	ctx  context.Context
	rt   wazero.Runtime
	mod  api.Module
	opts Options
	fns  map[string]api.Function // the module's exports, by name, as used

	effective uint32   // the context host calls act on
	running   []string // the exports being run, outermost first
	nextID    uint32   // the next HTTP context id
	streams   map[uint32]*stream
	trap      error

	shared           map[string]sharedEntry
	lastCAS          uint32
	metrics          []*metric // by id-1
	httpCalls        map[uint32]*HTTPCall
	lastCallout      uint32
	callResponse     *callResponse // while proxy_on_http_call_response runs
	tickPeriodMillis uint32
	rootFilterState  map[string][]byte
	doneCalls        int
	logs             []LogEntry
	output           bytes.Buffer // the module's stdout and stderr

	pollCalls      int
	maxPollTimeout uint64
	hostCalls      map[string]int
	callbacks      map[string]int
}

// LogEntry is one proxy_log message.
type LogEntry struct {
	Level   LogLevel
	Context uint32 // the effective context when it was logged
	Message string
}

func (e LogEntry) String() string { return "[" + e.Level.String() + "] " + e.Message }

type sharedEntry struct {
	value []byte
	cas   uint32
}

type metric struct {
	name  string
	typ   uint32
	value uint64
}

// New compiles and instantiates the module, then starts the plugin as Envoy
// does: _initialize, proxy_on_context_create for the root context,
// proxy_on_vm_start and proxy_on_configure. A plugin that refuses to start
// is an error that quotes its error logs.
func New(ctx context.Context, wasm []byte, opts Options) (*Host, error) {
	h := &Host{
		ctx: ctx, opts: opts, fns: map[string]api.Function{},
		nextID: rootContextID + 1, streams: map[uint32]*stream{},
		shared: map[string]sharedEntry{}, httpCalls: map[uint32]*HTTPCall{},
		rootFilterState: map[string][]byte{},
		hostCalls:       map[string]int{}, callbacks: map[string]int{},
	}
	cfg := wazero.NewRuntimeConfig()
	if opts.Cache != nil {
		cfg = cfg.WithCompilationCache(opts.Cache)
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	if err := h.start(wasm); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (h *Host) start(wasm []byte) error {
	if err := h.instantiateWASI(h.ctx, h.rt); err != nil {
		return fmt.Errorf("wasmhost: WASI: %w", err)
	}
	if err := h.instantiateEnv(h.ctx, h.rt); err != nil {
		return fmt.Errorf("wasmhost: host functions: %w", err)
	}
	compiled, err := h.rt.CompileModule(h.ctx, wasm)
	if err != nil {
		return fmt.Errorf("wasmhost: compiling the module: %w", err)
	}
	// A reactor has no _start: no start function, _initialize is called
	// below like any other export, so that a trap in it is reported.
	mc := wazero.NewModuleConfig().WithName("plugin").WithStartFunctions().
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader).
		WithStdout(&h.output).WithStderr(&h.output)
	for _, k := range slices.Sorted(maps.Keys(h.opts.Env)) {
		mc = mc.WithEnv(k, h.opts.Env[k])
	}
	if h.mod, err = h.rt.InstantiateModule(h.ctx, compiled, mc); err != nil {
		return fmt.Errorf("wasmhost: instantiating the module: %w", err)
	}
	if !h.HasExport("proxy_abi_version_0_2_0") && !h.HasExport("proxy_abi_version_0_2_1") {
		return errors.New("wasmhost: the module exports no proxy_abi_version_0_2_0 or _0_2_1")
	}
	if !h.HasExport("proxy_on_memory_allocate") {
		return errors.New("wasmhost: the module exports no proxy_on_memory_allocate")
	}
	if h.HasExport("_initialize") {
		if _, err := h.callExport("_initialize"); err != nil {
			return err
		}
	}
	if _, err := h.callback(rootContextID, "proxy_on_context_create", rootContextID, 0); err != nil {
		return err
	}
	for _, c := range []struct {
		export string
		size   int
	}{{"proxy_on_vm_start", len(h.opts.VMConfig)}, {"proxy_on_configure", len(h.opts.Config)}} {
		res, err := h.callback(rootContextID, c.export, rootContextID, uint64(c.size))
		if err != nil {
			return err
		}
		if res[0] == 0 {
			return fmt.Errorf("wasmhost: %s failed; error logs: %q", c.export, h.errorLogs())
		}
	}
	return nil
}

func (h *Host) errorLogs() []string {
	var out []string
	for _, l := range h.logs {
		if l.Level >= LogError {
			out = append(out, l.Message)
		}
	}
	return out
}

// Close releases the module.
func (h *Host) Close() error { return h.rt.Close(h.ctx) }

// HasExport reports whether the module exports a function of that name.
func (h *Host) HasExport(name string) bool { return h.export(name) != nil }

func (h *Host) export(name string) api.Function {
	fn, ok := h.fns[name]
	if !ok {
		if h.mod != nil {
			fn = h.mod.ExportedFunction(name)
		}
		h.fns[name] = fn
	}
	return fn
}

// callExport calls an export of the module and counts it. An error is a
// trap: the Host remembers it and refuses every later call.
func (h *Host) callExport(name string, args ...uint64) ([]uint64, error) {
	if h.trap != nil {
		return nil, h.trap
	}
	fn := h.export(name)
	if fn == nil {
		return nil, fmt.Errorf("wasmhost: the module exports no %s", name)
	}
	h.callbacks[name]++
	h.running = append(h.running, name)
	res, err := fn.Call(h.ctx, args...)
	h.running = h.running[:len(h.running)-1]
	if err != nil {
		trap := &TrapError{Export: name, Err: err, Output: h.output.String()}
		var inner *TrapError
		if errors.As(err, &inner) {
			// It trapped in an export a host function called (the
			// allocator): one error that names both.
			trap.Export, trap.Err = name+" > "+inner.Export, inner.Err
		}
		h.trap = trap
		return nil, h.trap
	}
	return res, nil
}

// callback calls a proxy_on_* export with contextID as the effective
// context, as the host does for a callback on that context.
func (h *Host) callback(contextID uint32, name string, args ...uint64) ([]uint64, error) {
	prev := h.effective
	h.effective = contextID
	defer func() { h.effective = prev }()
	return h.callExport(name, args...)
}

// inCallback reports whether the export is running.
func (h *Host) inCallback(name string) bool { return slices.Contains(h.running, name) }

// TrapError is the error of a call into the module that trapped or exited.
type TrapError struct {
	// Export is the export the host called; "outer > inner" when the
	// module trapped in an export a host function called.
	Export string
	Err    error  // wazero's error (errors.As finds *PollTrapError in it)
	Output string // what the module wrote to stdout and stderr by then
}

// maxErrorOutput bounds the module output an error message quotes (its
// end, where a fatal error is).
const maxErrorOutput = 4 << 10

func (e *TrapError) Error() string {
	msg := "wasmhost: the module died in " + e.Export + ": " + e.Err.Error()
	if out := e.Output; out != "" {
		if len(out) > maxErrorOutput {
			out = "..." + out[len(out)-maxErrorOutput:]
		}
		msg += "\nmodule output:\n" + out
	}
	return msg
}

func (e *TrapError) Unwrap() error { return e.Err }

// Err is the trap that killed the module, or nil.
func (h *Host) Err() error { return h.trap }

// Tick calls proxy_on_tick on the root context, if the module exports it.
func (h *Host) Tick() error {
	if !h.HasExport("proxy_on_tick") {
		return nil
	}
	_, err := h.callback(rootContextID, "proxy_on_tick", rootContextID)
	return err
}

// TickPeriodMillis is the period the module asked for (0: none).
func (h *Host) TickPeriodMillis() uint32 { return h.tickPeriodMillis }

// Logs are the module's proxy_log messages so far.
func (h *Host) Logs() []LogEntry { return slices.Clone(h.logs) }

// Output is what the module wrote to stdout and stderr (the Go runtime's
// fatal errors go there).
func (h *Host) Output() string { return h.output.String() }

// PollCalls counts the module's poll_oneoff calls.
func (h *Host) PollCalls() int { return h.pollCalls }

// MaxPollTimeout is the largest clock timeout, in nanoseconds, a
// poll_oneoff asked for.
func (h *Host) MaxPollTimeout() uint64 { return h.maxPollTimeout }

// HostCalls counts the module's calls of each import (env and WASI), by name.
func (h *Host) HostCalls() map[string]int { return maps.Clone(h.hostCalls) }

// Callbacks counts the host's calls of each export, by name.
func (h *Host) Callbacks() map[string]int { return maps.Clone(h.callbacks) }

// Metric returns a metric's value by name (a histogram's last record).
func (h *Host) Metric(name string) (uint64, bool) {
	for _, m := range h.metrics {
		if m.name == name {
			return m.value, true
		}
	}
	return 0, false
}

// SharedData returns a shared-data entry and its CAS.
func (h *Host) SharedData(key string) ([]byte, uint32, bool) {
	e, ok := h.shared[key]
	return slices.Clone(e.value), e.cas, ok
}

// DoneCalls counts proxy_done calls.
func (h *Host) DoneCalls() int { return h.doneCalls }
