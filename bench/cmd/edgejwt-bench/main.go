// Command edgejwt-bench is `make bench`: in one run it drives real traffic,
// with wrk, through
//
//	(a) Envoy with no auth filter,
//	(b) Envoy with its native jwt_authn filter,
//	(c) Envoy with the edgejwt filter (build/edgejwt.wasm), plus any variants
//	    of its configuration given with -variant,
//	(d) a Node service (Koa, jsonwebtoken, jwks-rsa; bench/node) that
//	    verifies tokens itself, as the seed's Koa backend does,
//
// all against one test issuer (RS256, JWKS served on 127.0.0.1) and checking
// the same things (issuer, audience, RS256, exp), for two workloads: the same
// valid token on every request, and a different valid token on every
// request. It prints a table of req/s, p50 and p99 latency, CPU per 1000
// requests and peak RSS of the server, ratios against (a) and (b), and writes
// the results to bench/results/<date>-<sha>.{md,json}.
//
// Envoy runs with one worker thread (--concurrency 1) and Node is one
// process, so every figure is per core. The server under test is pinned to
// CPU 0 (-server-cpu) and wrk, the upstream and this program to CPU 1
// (-load-cpu), with taskset.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

const (
	audience = "bench-api"
	// repeatedSub is the subject of the repeated token; the checks look for
	// it in the answer, which shows the claims reached the upstream.
	repeatedSub = "bench-user"
	tokenTTL    = 2 * time.Hour
)

// Workloads.
const (
	wlRepeated = "repeated"
	wlFresh    = "fresh"
)

var workloads = []string{wlRepeated, wlFresh}

// Setup kinds.
const (
	kindNoAuth   = "noauth"
	kindJwtAuthn = "jwtauthn"
	kindEdgejwt  = "edgejwt"
	kindNode     = "node"
)

// setupSpec is one server configuration to measure.
type setupSpec struct {
	ID           string `json:"id"` // a, b, c, d or a variant's name
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	FilterConfig string `json:"filter_config,omitempty"` // edgejwt's JSON configuration
	// JwtCache turns jwt_authn's verified-token cache on (jwt_cache_config
	// with jwt_cache_size 100). Envoy leaves it off unless the field is set.
	JwtCache bool `json:"jwt_cache,omitempty"`
}

// bench holds the options and the shared state of one run.
type bench struct {
	envoyPath, wasmPath, nodePath, npmPath, wrkPath string
	root, nodeDir, outDir, tmp, luaPath             string
	duration, warmup                                time.Duration
	connections, threads, freshTokens               int
	pin                                             bool
	serverCPU, loadCPU                              int

	issuer        *devservers.Issuer
	repeatedToken string
	forgedToken   string
	repeatedFile  string
	freshFile     string
	upstreamPort  int
	upstreamPID   int
}

// variantFlag collects -variant NAME=JSON.
type variantFlag []string

func (v *variantFlag) String() string     { return strings.Join(*v, " ") }
func (v *variantFlag) Set(s string) error { *v = append(*v, s); return nil }

func main() {
	upstream := flag.String("upstream", "", "internal: serve the benchmark upstream on this address")
	envoyPath := flag.String("envoy", os.Getenv("ENVOY_PATH"), "Envoy binary (default $ENVOY_PATH)")
	wasm := flag.String("wasm", "build/edgejwt.wasm", "the filter, relative to the repository root")
	duration := flag.Duration("duration", 6*time.Second, "length of each measured run (wrk -d; whole seconds)")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up run of each setup with the repeated token, not measured")
	connections := flag.Int("connections", 16, "concurrent connections (wrk -c)")
	threads := flag.Int("threads", 1, "wrk threads (wrk -t)")
	freshTokens := flag.Int("fresh-tokens", 60000, "distinct tokens minted for the fresh-token workload; a run that sends more starts again at the first")
	setups := flag.String("setups", "a,b,b2,c,d", "setups to run, from a (no auth), b (jwt_authn as configured by default: no token cache), b2 (jwt_authn with its token cache), c (edgejwt), d (node); variants always run")
	extra := flag.String("filter-config-extra", os.Getenv("BENCH_FILTER_EXTRA"), `JSON object merged into setup (c)'s jwtRules[0]; members under "_top" go to the top level; null deletes a member (default $BENCH_FILTER_EXTRA)`)
	var variants variantFlag
	for _, v := range strings.Split(os.Getenv("BENCH_VARIANTS"), ";") {
		if v = strings.TrimSpace(v); v != "" {
			variants = append(variants, v)
		}
	}
	flag.Var(&variants, "variant", `extra edgejwt setup NAME=JSON (repeatable): (c)'s configuration with JSON merged in as for -filter-config-extra, e.g. -variant 'c2={"_top":{"x":1}}'; also from $BENCH_VARIANTS, NAME=JSON;NAME=JSON...`)
	outDir := flag.String("out", "bench/results", "directory of the results files, relative to the repository root")
	nodeDir := flag.String("node-dir", "bench/node", "the Node service (package.json, package-lock.json, server.js)")
	noPin := flag.Bool("no-pin", false, "do not pin processes to CPUs with taskset")
	serverCPU := flag.Int("server-cpu", 0, "CPU of the server under test (Envoy, Node)")
	loadCPU := flag.Int("load-cpu", 1, "CPU of wrk, the upstream, the issuer and this program")
	flag.Parse()

	if *upstream != "" {
		if err := serveUpstream(*upstream); err != nil {
			fmt.Fprintf(os.Stderr, "upstream: %v\n", err)
			os.Exit(1)
		}
		return
	}

	b := &bench{
		envoyPath:   *envoyPath,
		duration:    *duration,
		warmup:      *warmup,
		connections: *connections,
		threads:     *threads,
		freshTokens: *freshTokens,
		pin:         !*noPin,
		serverCPU:   *serverCPU,
		loadCPU:     *loadCPU,
	}
	if err := b.run(*wasm, *nodeDir, *outDir, *setups, *extra, variants); err != nil {
		fmt.Fprintf(os.Stderr, "edgejwt-bench: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func (b *bench) run(wasm, nodeDir, outDir, setupList, extra string, variants []string) error {
	start := time.Now()
	var err error
	if b.root, err = repoRoot(); err != nil {
		return err
	}
	b.wasmPath = inRoot(b.root, wasm)
	b.nodeDir = inRoot(b.root, nodeDir)
	b.outDir = inRoot(b.root, outDir)
	if b.threads < 1 || b.connections < b.threads {
		return errors.New("need -threads >= 1 and -connections >= -threads")
	}
	if b.freshTokens < 1 {
		return errors.New("-fresh-tokens must be at least 1")
	}

	specs, err := b.specs(setupList, extra, variants)
	if err != nil {
		return err
	}
	if err := b.findTools(specs); err != nil {
		return err
	}
	mach := machineInfo(b)

	b.tmp, err = os.MkdirTemp("", "edgejwt-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)
	b.luaPath = filepath.Join(b.tmp, "bench.lua")
	if err := os.WriteFile(b.luaPath, benchLua, 0o600); err != nil {
		return err
	}

	if hasKind(specs, kindNode) {
		if err := b.npmCI(); err != nil {
			return err
		}
	}

	if b.issuer, err = devservers.StartIssuer(0); err != nil {
		return err
	}
	defer b.issuer.Close()
	if err := b.mintTokens(); err != nil {
		return err
	}
	// The filter configurations name the issuer, known only now.
	if err := b.applyExtras(specs, extra, variants); err != nil {
		return err
	}

	if b.pin {
		// Everything this program starts from now on inherits CPU loadCPU;
		// the servers under test are started through taskset -c serverCPU.
		if out, err := exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(b.loadCPU), strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset: %v: %s", err, out)
		}
	}
	if hasKind(specs, kindNoAuth) || hasKind(specs, kindJwtAuthn) || hasKind(specs, kindEdgejwt) {
		var stopUpstream func()
		if b.upstreamPort, b.upstreamPID, stopUpstream, err = b.startUpstream(); err != nil {
			return err
		}
		defer stopUpstream()
	}

	var results []setupResult
	for _, sp := range specs {
		logf("setup %s: %s", sp.ID, sp.Name)
		results = append(results, b.runSetup(sp))
	}

	rep := buildReport(b, mach, specs, results, start)
	rep.print(os.Stdout)
	mdPath, jsonPath, err := rep.write(b.outDir)
	if err != nil {
		return err
	}
	fmt.Printf("\nresults: %s\n         %s\n", rel(b.root, mdPath), rel(b.root, jsonPath))
	logf("done in %v", time.Since(start).Round(time.Second))
	return nil
}

// specs is the list of setups to run: the chosen ones of a-d, then the
// variants.
func (b *bench) specs(list, extra string, variants []string) ([]setupSpec, error) {
	all := map[string]setupSpec{
		"a":  {ID: "a", Name: "Envoy, no auth filter", Kind: kindNoAuth},
		"b":  {ID: "b", Name: "Envoy + jwt_authn (default: no token cache)", Kind: kindJwtAuthn},
		"b2": {ID: "b2", Name: "Envoy + jwt_authn, jwt_cache_config 100", Kind: kindJwtAuthn, JwtCache: true},
		"c":  {ID: "c", Name: "Envoy + edgejwt", Kind: kindEdgejwt},
		"d":  {ID: "d", Name: "Node: Koa + jsonwebtoken + jwks-rsa", Kind: kindNode},
	}
	var specs []setupSpec
	seen := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		sp, ok := all[id]
		if !ok {
			return nil, fmt.Errorf("-setups: unknown setup %q (a, b, b2, c, d)", id)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if id == "c" && extra != "" {
			sp.Name += " " + extra
		}
		specs = append(specs, sp)
	}
	for _, v := range variants {
		name, js, ok := strings.Cut(v, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || seen[name] {
			return nil, fmt.Errorf("-variant %q: want a new NAME=JSON", v)
		}
		seen[name] = true
		specs = append(specs, setupSpec{ID: name, Name: "Envoy + edgejwt " + js, Kind: kindEdgejwt})
	}
	if len(specs) == 0 {
		return nil, errors.New("no setup to run")
	}
	return specs, nil
}

// applyExtras merges -filter-config-extra into (c) and each variant's JSON
// into its copy of (c)'s configuration.
func (b *bench) applyExtras(specs []setupSpec, extra string, variants []string) error {
	build := func(js string) (string, error) {
		rule := map[string]any{}
		if strings.TrimSpace(js) != "" {
			if err := json.Unmarshal([]byte(js), &rule); err != nil {
				return "", fmt.Errorf("%q is not a JSON object: %v", js, err)
			}
		}
		var top map[string]any
		if t, ok := rule["_top"]; ok {
			m, ok := t.(map[string]any)
			if !ok {
				return "", fmt.Errorf("%q: _top must be an object", js)
			}
			top = m
			delete(rule, "_top")
		}
		return filterConfig(b.issuer, audience, rule, top)
	}
	byID := map[string]string{"c": extra}
	for _, v := range variants {
		name, js, _ := strings.Cut(v, "=")
		byID[strings.TrimSpace(name)] = js
	}
	for i := range specs {
		if specs[i].Kind != kindEdgejwt {
			continue
		}
		cfg, err := build(byID[specs[i].ID])
		if err != nil {
			return fmt.Errorf("setup %s: %v", specs[i].ID, err)
		}
		specs[i].FilterConfig = cfg
	}
	return nil
}

func hasKind(specs []setupSpec, kind string) bool {
	for _, s := range specs {
		if s.Kind == kind {
			return true
		}
	}
	return false
}

// findTools locates Envoy, wrk, node, npm and taskset.
func (b *bench) findTools(specs []setupSpec) error {
	var err error
	if b.wrkPath, err = exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found (Debian: apt-get install -y wrk; `make bench` does it when run as root)")
	}
	if hasKind(specs, kindNoAuth) || hasKind(specs, kindJwtAuthn) || hasKind(specs, kindEdgejwt) {
		if b.envoyPath == "" {
			out, err := exec.Command(filepath.Join(b.root, "scripts", "ensure-envoy.sh")).Output()
			if err != nil {
				return fmt.Errorf("no -envoy / $ENVOY_PATH and scripts/ensure-envoy.sh failed: %v", err)
			}
			b.envoyPath = strings.TrimSpace(string(out))
		}
		if _, err := os.Stat(b.envoyPath); err != nil {
			return fmt.Errorf("envoy: %w", err)
		}
	}
	if hasKind(specs, kindEdgejwt) {
		if _, err := os.Stat(b.wasmPath); err != nil {
			return fmt.Errorf("%w (build the filter first: make build)", err)
		}
	}
	if hasKind(specs, kindNode) {
		if b.nodePath, err = exec.LookPath("node"); err != nil {
			return errors.New("node not found (Debian: apt-get install -y nodejs npm)")
		}
		if b.npmPath, err = exec.LookPath("npm"); err != nil {
			return errors.New("npm not found (Debian: apt-get install -y npm)")
		}
	}
	if b.pin {
		if _, err := exec.LookPath("taskset"); err != nil {
			logf("taskset not found: processes are not pinned to CPUs")
			b.pin = false
		} else if runtime.NumCPU() < 2 || b.serverCPU == b.loadCPU {
			logf("fewer than 2 CPUs or -server-cpu = -load-cpu: processes are not pinned")
			b.pin = false
		}
	}
	return nil
}

// npmCI installs the Node service's modules from package-lock.json unless
// node_modules already holds exactly that lock file's tree.
func (b *bench) npmCI() error {
	lock, err := os.ReadFile(filepath.Join(b.nodeDir, "package-lock.json"))
	if err != nil {
		return err
	}
	installed, err := os.ReadFile(filepath.Join(b.nodeDir, "node_modules", ".package-lock.json"))
	if err == nil && sameInstall(lock, installed) {
		return nil
	}
	logf("npm ci in %s", rel(b.root, b.nodeDir))
	cmd := exec.Command(b.npmPath, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = b.nodeDir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci: %v", err)
	}
	return nil
}

// sameInstall reports whether node_modules/.package-lock.json (written by
// npm) lists the same packages at the same versions as package-lock.json.
func sameInstall(lock, installed []byte) bool {
	type pkgs struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	var l, i pkgs
	if json.Unmarshal(lock, &l) != nil || json.Unmarshal(installed, &i) != nil {
		return false
	}
	n := 0
	for name, p := range l.Packages {
		if name == "" {
			continue // the root package
		}
		n++
		if q, ok := i.Packages[name]; !ok || q.Version != p.Version {
			return false
		}
	}
	return n == len(i.Packages)
}

// mintTokens makes the repeated token, the forged token of the checks and
// the fresh tokens, on every CPU (before anything is measured).
func (b *bench) mintTokens() error {
	claims := func(sub string) devservers.Claims {
		c := b.issuer.StandardClaims(sub, audience, tokenTTL)
		c["roles"] = []string{"admin", "reader"}
		c["jti"] = sub + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		return c
	}
	var err error
	if b.repeatedToken, err = b.issuer.Mint(claims(repeatedSub)); err != nil {
		return err
	}
	if b.forgedToken, err = b.issuer.Mint(claims(repeatedSub), devservers.WithOutsiderKey()); err != nil {
		return err
	}
	b.repeatedFile = filepath.Join(b.tmp, "repeated.tokens")
	if err := os.WriteFile(b.repeatedFile, []byte(b.repeatedToken+"\n"), 0o600); err != nil {
		return err
	}

	t0 := time.Now()
	logf("minting %d fresh RS256 tokens", b.freshTokens)
	toks := make([]string, b.freshTokens)
	workers := runtime.NumCPU()
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := w; i < len(toks); i += workers {
				t, err := b.issuer.Mint(claims(fmt.Sprintf("user-%07d", i)))
				if err != nil {
					errs <- err
					return
				}
				toks[i] = t
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	logf("minted in %v", time.Since(t0).Round(100*time.Millisecond))
	b.freshFile = filepath.Join(b.tmp, "fresh.tokens")
	return os.WriteFile(b.freshFile, []byte(strings.Join(toks, "\n")+"\n"), 0o600)
}

// setupResult is what one setup gave.
type setupResult struct {
	Spec  setupSpec
	Error string // the setup could not be started or failed its checks
	Runs  map[string]*runResult
	Notes []string
}

// runSetup starts one setup, checks it, warms it up, measures both
// workloads and stops it.
func (b *bench) runSetup(sp setupSpec) setupResult {
	res := setupResult{Spec: sp, Runs: map[string]*runResult{}}
	var s *server
	var err error
	t0 := time.Now()
	switch sp.Kind {
	case kindNode:
		s, err = b.startNode()
	default:
		p := envoyParams{
			Kind:         sp.Kind,
			UpstreamPort: b.upstreamPort,
			IssuerPort:   b.issuer.Port(),
			Issuer:       b.issuer.Name,
			Audience:     audience,
			JWKSURI:      b.issuer.JWKSURI(),
			FilterConfig: sp.FilterConfig,
			WasmPath:     b.wasmPath,
			JwtCache:     sp.JwtCache,
		}
		s, err = b.startEnvoy(p)
	}
	if err != nil {
		res.Error = "start: " + err.Error()
		logf("setup %s: %s", sp.ID, res.Error)
		return res
	}
	defer s.stop()
	logf("setup %s: up in %v (pid %d)", sp.ID, time.Since(t0).Round(100*time.Millisecond), s.pid)

	if err := b.check(s, sp); err != nil {
		res.Error = "check: " + err.Error()
		logf("setup %s: %s\n%s", sp.ID, res.Error, tail(s.logPath, 20))
		return res
	}
	if b.warmup > 0 {
		w, _, err := b.runWrk(s.url, b.repeatedFile, b.warmup)
		if err != nil {
			res.Error = "warm-up: " + err.Error()
			return res
		}
		if bad := w.StatusErrors + w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.Timeouts; bad > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("warm-up had %d errors in %d requests", bad, w.Requests))
		}
	}
	for _, wl := range workloads {
		r, err := b.measure(s, sp, wl)
		if err != nil {
			res.Error = wl + ": " + err.Error()
			logf("setup %s: %s", sp.ID, res.Error)
			return res
		}
		res.Runs[wl] = r
		logf("setup %s %-8s %9.0f req/s  p50 %.2f ms  p99 %.2f ms  %.1f CPU-ms/1k  %s",
			sp.ID, wl, r.ReqPerSec, r.P50Ms, r.P99Ms, r.CPUMsPer1k, strings.Join(r.Flags, " "))
		time.Sleep(500 * time.Millisecond)
	}
	return res
}

// check makes sure the setup answers 200 to the valid token (with the
// claims reaching the application) and 401 to a forged token and to none.
func (b *bench) check(s *server, sp setupSpec) error {
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(token string) (int, string, error) {
		req, err := http.NewRequest(http.MethodGet, s.url, nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var body strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		body.Write(buf[:n])
		return resp.StatusCode, body.String(), nil
	}
	// The first requests may wait for the key set (jwt_authn fetches it on
	// the first request; edgejwt holds requests until its first fetch).
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body, err := do(b.repeatedToken)
		if err == nil && code == http.StatusOK {
			if sp.Kind != kindNoAuth && !strings.Contains(body, repeatedSub) {
				return fmt.Errorf("valid token: 200 but the answer does not show sub %q: %.300s", repeatedSub, body)
			}
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("valid token: got %d %v: %.300s", code, err, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if sp.Kind == kindNoAuth {
		return nil
	}
	for _, t := range []struct{ what, token string }{{"forged token", b.forgedToken}, {"no token", ""}} {
		code, body, err := do(t.token)
		if err != nil {
			return fmt.Errorf("%s: %v", t.what, err)
		}
		if code != http.StatusUnauthorized {
			return fmt.Errorf("%s: got %d, want 401: %.300s", t.what, code, body)
		}
	}
	return nil
}

// runResult is one measured run: one setup, one workload.
type runResult struct {
	Setup    string `json:"setup"`
	Workload string `json:"workload"`

	Requests     int64   `json:"requests"`
	DurationSec  float64 `json:"duration_s"`
	ReqPerSec    float64 `json:"req_per_s"`
	MeanMs       float64 `json:"latency_mean_ms"`
	P50Ms        float64 `json:"latency_p50_ms"`
	P90Ms        float64 `json:"latency_p90_ms"`
	P99Ms        float64 `json:"latency_p99_ms"`
	P999Ms       float64 `json:"latency_p999_ms"`
	MaxMs        float64 `json:"latency_max_ms"`
	Non2xx       int64   `json:"non_2xx"` // wrk: status >= 400
	SocketErrors int64   `json:"socket_errors"`

	ServerCPUSec  float64 `json:"server_cpu_s"`
	CPUMsPer1k    float64 `json:"server_cpu_ms_per_1k_req"`
	ServerCorePct float64 `json:"server_core_pct"`
	PeakRSSMB     float64 `json:"server_peak_rss_mb"`
	PeakRSSScope  string  `json:"server_peak_rss_scope"` // "run" (VmHWM reset before the run) or "process"

	UpstreamCPUMsPer1k float64 `json:"upstream_cpu_ms_per_1k_req,omitempty"`
	LoadgenCPUSec      float64 `json:"wrk_cpu_s"`
	ServerCPUBusy      float64 `json:"server_cpu_busy"` // the server CPU's busy fraction, all processes
	LoadCPUBusy        float64 `json:"load_cpu_busy"`   // the load generator CPU's busy fraction
	OtherCores         float64 `json:"other_processes_cores"`

	DistinctTokens  int   `json:"distinct_tokens"`
	MaxUsesPerToken int64 `json:"max_uses_per_token"`

	Stats  map[string]int64 `json:"envoy_counters_delta,omitempty"`
	Gauges map[string]int64 `json:"envoy_gauges_after,omitempty"`
	Flags  []string         `json:"flags,omitempty"`
}

// statsFilter picks the auth filters' counters from Envoy's /stats.
const statsFilter = `jwt_authn|wasmcustom\.edgejwt`

// measure runs one workload against a started, warmed-up setup.
func (b *bench) measure(s *server, sp setupSpec, wl string) (*runResult, error) {
	file, distinct := b.repeatedFile, 1
	if wl == wlFresh {
		file, distinct = b.freshFile, b.freshTokens
	}
	r := &runResult{Setup: sp.ID, Workload: wl, DistinctTokens: distinct, PeakRSSScope: "run"}

	var statsBefore map[string]int64
	if s.admin != "" {
		statsBefore, _ = envoyStats(s.admin, "Counters", url.QueryEscape(statsFilter))
	}
	if err := resetPeakRSS(s.pid); err != nil {
		r.PeakRSSScope = "process"
	}
	cpu0, err := procCPU(s.pid)
	if err != nil {
		return nil, err
	}
	up0, _ := b.upstreamCPU(sp)
	self0, _ := procCPU(os.Getpid())
	sys0, _ := readCPUTimes()

	w, wrkCPU, err := b.runWrk(s.url, file, b.duration)
	if err != nil {
		return nil, err
	}

	sys1, _ := readCPUTimes()
	self1, _ := procCPU(os.Getpid())
	up1, _ := b.upstreamCPU(sp)
	cpu1, err := procCPU(s.pid)
	if err != nil {
		return nil, err
	}
	hwm, _ := procStatusKB(s.pid, "VmHWM")
	if s.admin != "" {
		if after, err := envoyStats(s.admin, "Counters", url.QueryEscape(statsFilter)); err == nil {
			r.Stats = map[string]int64{}
			for k, v := range after {
				if d := v - statsBefore[k]; d != 0 {
					r.Stats[k] = d
				}
			}
		}
		r.Gauges, _ = envoyStats(s.admin, "Gauges", url.QueryEscape(statsFilter))
	}

	r.Requests = w.Requests
	r.DurationSec = float64(w.DurationUS) / 1e6
	if r.DurationSec > 0 {
		r.ReqPerSec = float64(w.Requests) / r.DurationSec
	}
	r.MeanMs = w.LatMeanUS / 1000
	r.P50Ms = float64(w.LatP50US) / 1000
	r.P90Ms = float64(w.LatP90US) / 1000
	r.P99Ms = float64(w.LatP99US) / 1000
	r.P999Ms = float64(w.LatP999US) / 1000
	r.MaxMs = float64(w.LatMaxUS) / 1000
	r.Non2xx = w.StatusErrors
	r.SocketErrors = w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.Timeouts
	r.ServerCPUSec = cpu1 - cpu0
	if w.Requests > 0 {
		r.CPUMsPer1k = r.ServerCPUSec * 1000 / float64(w.Requests) * 1000
		if sp.Kind != kindNode && b.upstreamPID != 0 {
			r.UpstreamCPUMsPer1k = (up1 - up0) * 1e6 / float64(w.Requests)
		}
	}
	if r.DurationSec > 0 {
		r.ServerCorePct = 100 * r.ServerCPUSec / r.DurationSec
	}
	r.PeakRSSMB = float64(hwm) / 1024
	r.LoadgenCPUSec = wrkCPU
	r.ServerCPUBusy = busyFraction(sys0, sys1, b.serverCPU)
	r.LoadCPUBusy = busyFraction(sys0, sys1, b.loadCPU)
	ours := r.ServerCPUSec + (up1 - up0) + wrkCPU + (self1 - self0)
	if r.DurationSec > 0 {
		r.OtherCores = (busySeconds(sys0, sys1) - ours) / r.DurationSec
		if r.OtherCores < 0 {
			r.OtherCores = 0
		}
	}
	if distinct > 0 {
		r.MaxUsesPerToken = (w.Requests + int64(distinct) - 1) / int64(distinct)
	}

	if r.Non2xx > 0 {
		r.Flags = append(r.Flags, fmt.Sprintf("NON-2XX:%d", r.Non2xx))
	}
	if r.SocketErrors > 0 {
		r.Flags = append(r.Flags, fmt.Sprintf("SOCKET-ERRORS:%d", r.SocketErrors))
	}
	if b.pin && r.LoadCPUBusy > 0.95 {
		r.Flags = append(r.Flags, "LOAD-CPU-SATURATED")
	}
	if r.OtherCores > 0.25 {
		r.Flags = append(r.Flags, fmt.Sprintf("NOISY:%.2f-cores-of-others", r.OtherCores))
	}
	if wl == wlFresh && sp.Kind != kindNoAuth && r.MaxUsesPerToken > 1 {
		r.Flags = append(r.Flags, fmt.Sprintf("TOKENS-REUSED:x%d", r.MaxUsesPerToken))
	}
	return r, nil
}

// upstreamCPU is the upstream's CPU time for the Envoy setups.
func (b *bench) upstreamCPU(sp setupSpec) (float64, error) {
	if sp.Kind == kindNode || b.upstreamPID == 0 {
		return 0, nil
	}
	return procCPU(b.upstreamPID)
}

// repoRoot is the directory of the go.mod of module github.com/edgejwt/edgejwt,
// searched upwards from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/edgejwt/edgejwt\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the edgejwt repository")
		}
		dir = parent
	}
}

// inRoot resolves a relative path against the repository root.
func inRoot(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
