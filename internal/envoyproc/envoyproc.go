// Package envoyproc starts and stops Envoy for the benchmark, the e2e suite
// and the demo, through func-e's Go API, and renders the Envoy
// configurations they need (config.go).
//
// Start launches Envoy without waiting; AwaitLive waits for the admin
// /ready to answer 200 (LIVE), AwaitReady also for the listener to be bound;
// Run does Start and AwaitReady. The Envoy process's own pid (not func-e's:
// func-e runs inside this process and execs Envoy as a child) is found from
// the run ID func-e appends to Envoy's command line, so that its CPU time and
// memory can be read from /proc.
package envoyproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	funce "github.com/tetratelabs/func-e"
	"github.com/tetratelabs/func-e/api"
	feadmin "github.com/tetratelabs/func-e/experimental/admin"

	"github.com/edgejwt/edgejwt/internal/envoyadmin"
)

// ErrExited is returned by the waits when Envoy exits before it is ready.
var ErrExited = envoyadmin.ErrExited

// Options say how to run one Envoy.
type Options struct {
	// EnvoyPath is the Envoy binary (required).
	EnvoyPath string
	// Config is the configuration YAML, written to Dir/envoy.yaml; or
	// ConfigPath names an existing file (relative paths are Envoy's, i.e.
	// resolved against this process's working directory). Exactly one.
	Config     string
	ConfigPath string
	// AdminURL is Envoy's admin base URL (http://127.0.0.1:port); by
	// default what the configuration's admin section says (AdminURLOf).
	AdminURL string
	// Listener is the host:port that AwaitReady waits to see bound (in
	// /listeners); empty: /ready alone.
	Listener string

	// Concurrency is Envoy's worker threads (--concurrency); 0 means 1.
	Concurrency int
	// BaseID, when not 0, is passed as --base-id (its own hot-restart
	// domain, for Envoys running side by side); the shared memory Envoy
	// leaves in /dev/shm for it is removed when it stops.
	BaseID int
	// DisableHotRestart passes --disable-hot-restart: no shared memory, no
	// domain socket, so BaseID is not needed to run several Envoys.
	DisableHotRestart bool
	// LogLevel, when set, is --log-level (Envoy's default: info);
	// ComponentLogLevel, when set, --component-log-level (e.g. "wasm:debug").
	LogLevel          string
	ComponentLogLevel string
	// ExtraArgs are more Envoy arguments.
	ExtraArgs []string

	// Log receives Envoy's stdout and stderr and func-e's messages. When nil
	// and LogPath is set, they go to that file (created; closed when Envoy
	// has exited); when both are empty, they are discarded.
	Log     io.Writer
	LogPath string

	// Prefix, when set, is a command Envoy is run through, that must exec
	// its arguments (so that the pid stays Envoy's), e.g.
	// []string{"taskset", "-c", "0"} to pin Envoy to CPU 0 from its start.
	Prefix []string

	// Dir holds the written configuration, func-e's state and the Prefix
	// wrapper. Empty: a temporary directory, removed when Envoy has stopped.
	Dir string

	// PollInterval is how often the waits poll the admin API (default 50ms).
	PollInterval time.Duration
	// StopTimeout bounds a graceful stop (/quitquitquit) before Envoy is
	// killed (default 10s).
	StopTimeout time.Duration
}

// Envoy is one Envoy process started by Start.
type Envoy struct {
	opts       Options
	admin      string
	listener   string
	configPath string
	dir        string
	removeDir  bool
	logFile    *os.File
	runID      string

	cancel context.CancelFunc
	done   chan struct{} // closed when funce.Run has returned
	err    error         // funce.Run's result, set before done closes

	pidFound chan struct{} // closed once pid or pidErr is set
	pid      int
	pidErr   error

	stopOnce sync.Once
	stopErr  error
}

var runIDs atomic.Int64

// Start writes the configuration and starts Envoy through func-e, without
// waiting for it to be ready.
func Start(o Options) (*Envoy, error) {
	if o.EnvoyPath == "" {
		return nil, errors.New("envoyproc: no Envoy binary")
	}
	if (o.Config == "") == (o.ConfigPath == "") {
		return nil, errors.New("envoyproc: give exactly one of Config and ConfigPath")
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 10 * time.Second
	}
	e := &Envoy{
		opts:     o,
		admin:    strings.TrimRight(o.AdminURL, "/"),
		listener: o.Listener,
		done:     make(chan struct{}),
		pidFound: make(chan struct{}),
		runID:    fmt.Sprintf("envoyproc-%d-%d", os.Getpid(), runIDs.Add(1)),
	}
	if e.admin == "" {
		cfg := o.Config
		if cfg == "" {
			b, err := os.ReadFile(o.ConfigPath)
			if err != nil {
				return nil, fmt.Errorf("envoyproc: no AdminURL, and reading the configuration: %w", err)
			}
			cfg = string(b)
		}
		u, err := AdminURLOf(cfg)
		if err != nil {
			return nil, err
		}
		e.admin = u
	}

	e.dir = o.Dir
	if e.dir == "" {
		d, err := os.MkdirTemp("", "envoyproc-")
		if err != nil {
			return nil, err
		}
		e.dir, e.removeDir = d, true
	} else if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return nil, err
	}
	fail := func(err error) (*Envoy, error) {
		e.cleanup()
		return nil, err
	}

	e.configPath = o.ConfigPath
	if o.Config != "" {
		e.configPath = filepath.Join(e.dir, "envoy.yaml")
		if err := os.WriteFile(e.configPath, []byte(o.Config), 0o600); err != nil {
			return fail(err)
		}
	}
	bin := o.EnvoyPath
	if len(o.Prefix) > 0 {
		bin = filepath.Join(e.dir, "envoy-prefixed")
		if err := os.WriteFile(bin, []byte(wrapperScript(o.Prefix, o.EnvoyPath)), 0o700); err != nil {
			return fail(err)
		}
	}
	var out io.Writer = io.Discard
	switch {
	case o.Log != nil:
		out = o.Log
	case o.LogPath != "":
		f, err := os.Create(o.LogPath)
		if err != nil {
			return fail(err)
		}
		e.logFile, out = f, f
	}

	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	args := o.args(e.configPath)
	go func() {
		defer close(e.done)
		e.err = funce.Run(ctx, args,
			api.EnvoyPath(bin),
			api.HomeDir(filepath.Join(e.dir, "func-e")),
			api.RunID(e.runID),
			api.Out(out),
			api.EnvoyOut(out),
			api.EnvoyErr(out),
			// In place of func-e's default hook, which fetches
			// /config_dump once Envoy is ready: nobody reads it, and it
			// would land in Envoy's start-up CPU time.
			feadmin.WithStartupHook(func(context.Context, feadmin.AdminClient, string) error { return nil }),
		)
		if e.logFile != nil {
			e.logFile.Close()
		}
	}()
	go e.findPID()
	return e, nil
}

// Run starts Envoy and waits until it is ready (AwaitReady) for at most
// timeout; on failure Envoy is stopped.
func Run(o Options, timeout time.Duration) (*Envoy, error) {
	e, err := Start(o)
	if err != nil {
		return nil, err
	}
	if err := e.AwaitReady(timeout); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// args is Envoy's command line (func-e adds its own after these).
func (o Options) args(configPath string) []string {
	conc := o.Concurrency
	if conc <= 0 {
		conc = 1
	}
	args := []string{"-c", configPath, "--concurrency", strconv.Itoa(conc)}
	if o.LogLevel != "" {
		args = append(args, "--log-level", o.LogLevel)
	}
	if o.ComponentLogLevel != "" {
		args = append(args, "--component-log-level", o.ComponentLogLevel)
	}
	if o.BaseID != 0 {
		args = append(args, "--base-id", strconv.Itoa(o.BaseID))
	}
	if o.DisableHotRestart {
		args = append(args, "--disable-hot-restart")
	}
	return append(args, o.ExtraArgs...)
}

// wrapperScript is a shell script that execs prefix, then Envoy with the
// script's arguments.
func wrapperScript(prefix []string, envoy string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec")
	for _, a := range append(append([]string(nil), prefix...), envoy) {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(" \"$@\"\n")
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// AdminURL is Envoy's admin base URL, http://host:port.
func (e *Envoy) AdminURL() string { return e.admin }

// ConfigPath is the configuration file Envoy runs with.
func (e *Envoy) ConfigPath() string { return e.configPath }

// Done is closed when Envoy (and func-e) has exited.
func (e *Envoy) Done() <-chan struct{} { return e.done }

// Err is func-e's result once Done is closed: nil for a clean exit or a
// stop. func-e v1.6.0 reports a failed readiness wait in place of Envoy's
// exit status once the admin server was up.
func (e *Envoy) Err() error {
	select {
	case <-e.done:
		return e.err
	default:
		return nil
	}
}

// Exited waits up to timeout for Envoy to exit by itself and reports whether
// it did, with Err.
func (e *Envoy) Exited(timeout time.Duration) (bool, error) {
	select {
	case <-e.done:
		return true, e.err
	default:
	}
	if timeout <= 0 {
		return false, nil
	}
	select {
	case <-e.done:
		return true, e.err
	case <-time.After(timeout):
		return false, nil
	}
}

// PID is the Envoy process's id (not func-e's, which is this process). It
// waits, up to 10 s, for the process to appear.
func (e *Envoy) PID() (int, error) {
	select {
	case <-e.pidFound:
		return e.pid, e.pidErr
	case <-time.After(10 * time.Second):
		return 0, errors.New("envoyproc: Envoy's process not found after 10s")
	}
}

// findPID looks for Envoy's process: a child of this process whose command
// line carries func-e's --run-id with our run ID. It closes pidFound.
func (e *Envoy) findPID() {
	defer close(e.pidFound)
	marker := []byte("\x00--run-id\x00" + e.runID + "\x00")
	for {
		pid, err := FindChild(os.Getpid(), marker)
		if err == nil {
			e.pid = pid
			return
		}
		select {
		case <-e.done:
			// One last look: it may have appeared and exited in between.
			if e.pid, err = FindChild(os.Getpid(), marker); err != nil {
				e.pidErr = fmt.Errorf("envoyproc: Envoy exited before its process was seen (%v)", e.err)
			}
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Live reports whether admin /ready answers 200 (LIVE).
func (e *Envoy) Live(c *http.Client) bool {
	return envoyadmin.Ready(c, e.admin, "")
}

// AwaitLive polls /ready every PollInterval until it answers 200, Envoy
// exits (ErrExited, wrapping func-e's error) or timeout passes.
func (e *Envoy) AwaitLive(timeout time.Duration) error {
	return e.await("", timeout)
}

// AwaitReady is AwaitLive plus the Listener bound.
func (e *Envoy) AwaitReady(timeout time.Duration) error {
	return e.await(e.listener, timeout)
}

func (e *Envoy) await(listener string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-e.done:
			return fmt.Errorf("%w: %v", ErrExited, e.err)
		default:
		}
		if envoyadmin.Ready(c, e.admin, listener) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("envoy not ready after %v", timeout)
		}
		time.Sleep(e.opts.PollInterval)
	}
}

// Stop asks Envoy to quit through the admin API (a clean exit), kills it
// if it has not exited within StopTimeout (and then returns an error saying
// so), and removes what it leaves behind. It is safe to call more than once.
func (e *Envoy) Stop() error {
	e.stopOnce.Do(func() {
		select {
		case <-e.done:
		default:
			envoyadmin.Quit(e.admin)
			select {
			case <-e.done:
			case <-time.After(e.opts.StopTimeout):
				e.stopErr = fmt.Errorf("envoy did not quit within %v; killed", e.opts.StopTimeout)
			}
		}
		e.cancel()
		<-e.done
		e.cleanup()
	})
	return e.stopErr
}

// cleanup removes the temporary directory and the hot-restart shared memory.
func (e *Envoy) cleanup() {
	if e.opts.BaseID != 0 && !e.opts.DisableHotRestart {
		_ = os.Remove(SharedMemoryPath(e.opts.BaseID))
	}
	if e.removeDir {
		_ = os.RemoveAll(e.dir)
	}
}

// SharedMemoryPath is the hot-restart shared memory file Envoy leaves in
// /dev/shm for a base ID, even after a clean exit.
func SharedMemoryPath(baseID int) string {
	return fmt.Sprintf("/dev/shm/envoy_shared_memory_%d", baseID*10)
}
