package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyproc"
)

const (
	// readyTimeout bounds Envoy's start, counted once it holds a start slot:
	// V8 compiles the multi-megabyte module in about 4 s on an idle machine.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds a graceful stop before the process is killed.
	stopTimeout = 10 * time.Second
)

// bootstrap renders the Envoy configuration of a test (its ports and
// WasmPath set): the main listener with the filter in front of the router
// (and the same filter chain on the HTTP/3 and mTLS listeners when asked
// for: the mTLS one requires client certificates), an upstream cluster and one cluster per JWKS endpoint. 127.0.0.1
// only; every port is chosen free per Envoy. The rendering is
// internal/envoyproc's, which the benchmark uses too.
func (cfg envoyConfig) bootstrap() ([]byte, error) {
	filter := &envoyproc.Wasm{
		Name: "edgejwt",
		VMID: "edgejwt",
		// As the shipped envoy.yaml: a failed VM answers 503 and is
		// reloaded, never bypassed.
		FailurePolicy: "FAIL_RELOAD",
		Configuration: cfg.PluginConfig,
		Path:          cfg.WasmPath,
		Env:           cfg.VMEnv,
	}
	route := envoyproc.Route{Cluster: "upstream"}
	for _, h := range cfg.RouteHeaders {
		route.RequestHeadersToAdd = append(route.RequestHeadersToAdd, envoyproc.Header{Name: h.Name, Value: h.Value})
	}
	listener := func(name string, port int) envoyproc.Listener {
		return envoyproc.Listener{
			Name:    name,
			Port:    port,
			Filters: []envoyproc.HTTPFilter{{Wasm: filter}},
			Routes:  []envoyproc.Route{route},
			HCM:     cfg.ShippedHCM,
		}
	}
	c := envoyproc.Config{
		AdminPort: cfg.AdminPort,
		Listeners: []envoyproc.Listener{listener("main", cfg.ListenPort)},
		Clusters:  []envoyproc.Cluster{{Name: "upstream", Port: cfg.UpstreamPort}},
	}
	if h3 := cfg.H3; h3 != nil {
		// HTTP/3: QUIC on UDP, the same filter chain, one VM (same vm_id).
		l := listener("h3", h3.Port)
		l.TLS, l.HTTP3 = &envoyproc.ListenerTLS{CertFile: h3.CertFile, KeyFile: h3.KeyFile}, true
		c.Listeners = append(c.Listeners, l)
	}
	if m := cfg.MTLS; m != nil {
		// TLS with client certificates required: the same filter chain, one VM.
		l := listener("mtls", m.Port)
		l.TLS = &envoyproc.ListenerTLS{CertFile: m.CertFile, KeyFile: m.KeyFile, ClientCAFile: m.CAFile}
		c.Listeners = append(c.Listeners, l)
	}
	for _, j := range cfg.JWKSClusters {
		c.Clusters = append(c.Clusters, envoyproc.Cluster{Name: j.Name, Port: j.Port})
	}
	out, err := c.Render()
	return []byte(out), err
}

// routeHeader is one request header the route adds.
type routeHeader struct{ Name, Value string }

// cluster is one JWKS cluster of an Envoy configuration.
type cluster struct {
	Name string
	Port int
}

// envoyConfig is what varies between the Envoys of the suite.
type envoyConfig struct {
	PluginConfig string // the filter's JSON configuration
	UpstreamPort int
	JWKSClusters []cluster
	Concurrency  int // worker threads; 0 means 1
	// VMEnv is the Wasm VM's environment (e.g. GOGC for the Go runtime).
	VMEnv map[string]string
	// ShippedHCM, when set, is the path and header hygiene of the
	// repository's envoy.yaml (shippedHCM), as fields of the connection
	// manager; nil is Envoy's defaults.
	ShippedHCM map[string]any
	// H3, when set, adds an HTTP/3 (QUIC) listener with the same filter
	// chain.
	H3 *h3Listener
	// MTLS, when set, adds a TLS listener that requires client
	// certificates, with the same filter chain.
	MTLS *mtlsListener
	// RouteHeaders are added by the router to every forwarded request;
	// values may use Envoy's substitution formatters (%FILTER_STATE(...)%).
	RouteHeaders []routeHeader

	// Wasm is the filter to load; empty means the one under test.
	Wasm string
	// ExpectWasmErrors marks a test that crashes the VM on purpose: Wasm
	// errors in the log are expected, not a failure.
	ExpectWasmErrors bool

	// BadConfig marks a deliberately broken filter configuration: Wasm
	// errors in the log are expected, not a failure.
	BadConfig bool
	// ExpectedTrouble matches the log lines a test provokes on purpose
	// that checkLog would otherwise fail it on (a critical line the test
	// checks for); nil expects none.
	ExpectedTrouble *regexp.Regexp

	// Bootstrap, when set, edits the rendered bootstrap (as parsed YAML)
	// before Envoy starts: another listener, the listener served from an
	// LDS file (see ldsListener). cfg has its ports and WasmPath set; dir
	// is this Envoy's temporary directory.
	Bootstrap func(t testing.TB, cfg envoyConfig, dir string, doc map[string]any)

	// Set by launchEnvoy.
	AdminPort  int
	ListenPort int
	WasmPath   string
}

// envoyProc is one running Envoy of a test, started through
// internal/envoyproc (the launcher the benchmark and the demo use too).
type envoyProc struct {
	*envoyproc.Envoy
	t         testing.TB
	cfg       envoyConfig
	baseID    int
	log       *envoyproc.LogBuffer
	adminBase string
	listener  string // http://127.0.0.1:port
	// abandoned: the Envoy could not bind its ports and was started
	// again; its log is not judged.
	abandoned bool
}

var baseIDs atomic.Int64

// startSlot serializes Envoy starts. Compiling the module is CPU-bound and
// takes seconds; several at once on a small machine only make every start
// slower (and readiness timeouts flaky). Tests run in parallel otherwise.
var startSlot = make(chan struct{}, 1)

// acquireStartSlot blocks until this test may start an Envoy and returns
// the function that releases the slot (safe to call more than once).
func acquireStartSlot() func() {
	startSlot <- struct{}{}
	var once sync.Once
	return func() { once.Do(func() { <-startSlot }) }
}

// nextBaseID gives every Envoy of this process, and of concurrent test
// processes, its own hot-restart domain (shared memory and domain sockets).
func nextBaseID() int {
	return (os.Getpid()%100000)*64 + int(baseIDs.Add(1)%64)
}

// launchEnvoy writes the configuration and starts Envoy without waiting.
func launchEnvoy(t testing.TB, cfg envoyConfig) *envoyProc {
	t.Helper()
	var err error
	if cfg.AdminPort, err = devservers.FreePort(); err != nil {
		t.Fatal(err)
	}
	if cfg.ListenPort, err = devservers.FreePort(); err != nil {
		t.Fatal(err)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	cfg.WasmPath = wasmPath
	if cfg.Wasm != "" {
		cfg.WasmPath = cfg.Wasm
	}
	dir := t.TempDir()
	out, err := cfg.bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bootstrap != nil {
		out = editBootstrap(t, out, func(doc map[string]any) { cfg.Bootstrap(t, cfg, dir, doc) })
	}
	cfgPath := filepath.Join(dir, "envoy.yaml")
	if err := os.WriteFile(cfgPath, out, 0o600); err != nil {
		t.Fatal(err)
	}

	e := &envoyProc{
		t:         t,
		cfg:       cfg,
		baseID:    nextBaseID(),
		log:       &envoyproc.LogBuffer{},
		adminBase: fmt.Sprintf("http://127.0.0.1:%d", cfg.AdminPort),
		listener:  fmt.Sprintf("http://127.0.0.1:%d", cfg.ListenPort),
	}
	e.Envoy, err = envoyproc.Start(envoyproc.Options{
		EnvoyPath:         envoyPath,
		ConfigPath:        cfgPath,
		AdminURL:          e.adminBase,
		Listener:          fmt.Sprintf("127.0.0.1:%d", cfg.ListenPort),
		Concurrency:       cfg.Concurrency,
		BaseID:            e.baseID,
		ComponentLogLevel: "wasm:debug",
		Log:               e.log,
		Dir:               dir,
		StopTimeout:       stopTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.stop()
		e.checkLog()
	})
	return e
}

// startEnvoy starts Envoy with cfg and returns once its listener serves.
// At cleanup it stops Envoy, dumps the log if the test failed and fails the
// test when the log shows a Wasm error, a critical line or a panic.
func startEnvoy(t testing.TB, cfg envoyConfig) *envoyProc {
	t.Helper()
	release := acquireStartSlot()
	defer release()
	for attempt := 1; ; attempt++ {
		e := launchEnvoy(t, cfg)
		err := e.AwaitReady(readyTimeout)
		if err == nil {
			return e
		}
		// A port chosen free can still be taken by another process before
		// Envoy binds it (other test processes share the machine): start
		// again on new ports, and do not judge the abandoned Envoy's log.
		if attempt < 3 && errors.Is(err, envoyproc.ErrExited) && strings.Contains(e.log.String(), "Address already in use") {
			t.Logf("envoy could not bind a port (attempt %d): starting it again on other ports", attempt)
			e.abandoned = true
			e.stop()
			continue
		}
		t.Fatalf("envoy did not become ready: %v", err)
	}
}

// stop asks Envoy to quit through the admin API (a clean exit releases its
// shared memory), kills it if it lingers, and fails the test then.
func (e *envoyProc) stop() {
	if err := e.Stop(); err != nil {
		e.t.Error(err)
	}
}

// wasmTrouble matches the log lines that must never appear when the filter
// runs with a valid configuration.
var wasmTrouble = regexp.MustCompile(`\[(error|critical)\]\[wasm\]|\[critical\]|(?i:panic)|Function: proxy_on_\S* failed`)

// troubleLines returns the log lines wasmTrouble matches.
func troubleLines(log string) []string {
	var bad []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		if wasmTrouble.MatchString(sc.Text()) {
			bad = append(bad, sc.Text())
		}
	}
	return bad
}

// unexpectedLines is lines without those expected matches.
func unexpectedLines(lines []string, expected *regexp.Regexp) []string {
	if expected == nil {
		return lines
	}
	var out []string
	for _, l := range lines {
		if !expected.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// checkLog runs after Envoy stopped: it fails the test on Wasm trouble
// (unless the configuration is deliberately bad) and dumps the log of a
// failed test.
func (e *envoyProc) checkLog() {
	t := e.t
	if e.abandoned {
		return
	}
	log := e.log.String()
	if !e.cfg.BadConfig && !e.cfg.ExpectWasmErrors {
		if bad := unexpectedLines(troubleLines(log), e.cfg.ExpectedTrouble); len(bad) > 0 {
			t.Errorf("envoy log has %d Wasm error/critical/panic line(s):\n%s", len(bad), strings.Join(bad, "\n"))
		}
	}
	if t.Failed() {
		e.dumpLog(log)
	}
}

// dumpLog writes the whole log to a file that outlives the test and its
// last lines to the test output.
func (e *envoyProc) dumpLog(log string) {
	const tailLines = 120
	name := strings.NewReplacer("/", "_", " ", "_").Replace(e.t.Name())
	f, err := os.CreateTemp("", "edgejwt-e2e-"+name+"-*.log")
	if err == nil {
		_, _ = f.WriteString(log)
		_ = f.Close()
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		if !startupListing.MatchString(l) {
			lines = append(lines, l)
		}
	}
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	where := "(could not save it)"
	if err == nil {
		where = f.Name()
	}
	e.t.Logf("envoy (base-id %d) log, full text in %s, last %d lines:\n%s",
		e.baseID, where, len(lines), strings.Join(lines, "\n"))
}

// startupListing matches the indented lines of Envoy's start-up listing of
// extensions and header maps, left out of the dump on the test output.
var startupListing = regexp.MustCompile(`\]\[info\]\[main\] \[source/server/server\.cc:\d+\]   `)

// TestTroubleLines checks the log scan every Envoy run ends with.
func TestTroubleLines(t *testing.T) {
	log := strings.Join([]string{
		`[2026-01-01 00:00:00.000][1][info][main] [source/server/server.cc:467]   envoy.filters.http: envoy.filters.http.wasm`,
		`[2026-01-01 00:00:00.000][1][warning][wasm] [source/extensions/common/wasm/context.cc:1157] wasm log edgejwt: issuer x: fetching failed`,
		`[2026-01-01 00:00:00.000][1][debug][wasm] [source/extensions/common/wasm/wasm.cc:83] Base Wasm created 1 now active`,
		`[2026-01-01 00:00:00.000][1][error][wasm] [source/extensions/common/wasm/context.cc:1154] wasm log edgejwt: setting x: bad`,
		`[2026-01-01 00:00:00.000][1][critical][wasm] [source/extensions/common/wasm/context.cc:1160] wasm log edgejwt: config: x`,
		`[2026-01-01 00:00:00.000][1][critical][main] [source/server/server.cc:449] error initializing config`,
		`[2026-01-01 00:00:00.000][1][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable`,
		`panic: runtime error: index out of range [3] with length 3`,
	}, "\n")
	if got := len(troubleLines(log)); got != 5 {
		t.Errorf("troubleLines found %d lines, want 5: %q", got, troubleLines(log))
	}
}
