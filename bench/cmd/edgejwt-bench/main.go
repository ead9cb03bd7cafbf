// Command edgejwt-bench is `make bench`: in one run it drives real traffic,
// with wrk, through
//
//	(a)  Envoy with no auth filter,
//	(b)  Envoy with its native jwt_authn filter (no token cache, as by default),
//	(b2) the same with jwt_authn's token cache on (jwt_cache_config),
//	(n)  Envoy with a no-op Go proxy-wasm filter (bench/noop, build/noop.wasm):
//	     what any upstream-Go Wasm filter costs, the floor,
//	(c)  Envoy with the edgejwt filter (build/edgejwt.wasm), plus any variants
//	     of its configuration given with -variant,
//	(c2) (c) with "hostCrypto": true,
//	(p)  (c) with DPoP required: DPoP-bound tokens, a fresh ES256 proof on
//	     every request (RFC 9449), and (p2) the same with "hostCrypto": true,
//	(r)  (c)'s configuration with the RSA-only build (build/edgejwt-rsa.wasm),
//	(z0) (c) with one request rule (every path requires a token),
//	(z)  (z0)'s rule with three claim conditions (docs/authorization.md):
//	     (z) against (z0) is the cost of conditions,
//	(d)  a Node service (Koa, jsonwebtoken, jwks-rsa; bench/node) that
//	     verifies tokens itself, as the seed's Koa backend does,
//
// all against one test issuer (RS256, JWKS served on 127.0.0.1) and checking
// the same things (issuer, audience, RS256, exp), for two workloads: the same
// valid token on every request, and a different valid token on every
// request. Every Envoy setup runs in two upstream modes: "go", its route to a
// minimal Go upstream, and "direct", its route answered by Envoy's
// direct_response, so that nothing but the auth filter differs between the
// Envoy setups. (d) is its own upstream and runs once.
//
// It prints a table of req/s, p50 and p99 latency, Envoy's CPU per request
// and what it adds over (a) and, for the edgejwt setups, over (n), peak RSS,
// ratios against (a), (b) and (b2); then a footprint phase: Envoy's CPU from
// exec to ready and its memory, for (a), (b), (n), (c) and (r) at several
// --concurrency values. Results go to bench/results/<date>-<sha>.{md,json}.
//
// Envoy runs with one worker thread (--concurrency 1) in the throughput
// phase and Node is one process, so those figures are per core. The server
// under test is pinned to CPU 0 (-server-cpu) and wrk, the upstream and this
// program to CPU 1 (-load-cpu), with taskset.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// Upstream modes of the Envoy setups.
const (
	modeGo     = "go"     // the route goes to the Go upstream (a cluster)
	modeDirect = "direct" // the route is a direct_response: no upstream
	// modeOwn is (d)'s: the Node service answers itself.
	modeOwn = "own"
)

// bench holds the options and the shared state of one run.
type bench struct {
	envoyPath, nodePath, npmPath, wrkPath string
	root, nodeDir, outDir, tmp, luaPath   string
	// The modules of (c), (r) and (n), absolute.
	wasmPath, wasmRSAPath, wasmNoopPath string
	duration, warmup                    time.Duration
	connections, threads, freshTokens   int
	pin                                 bool
	serverCPU, loadCPU                  int
	modes                               []string

	// The footprint phase.
	fpSetups      []string
	fpConcurrency []int
	fpRepeats     int
	fpLoad        time.Duration

	// instrN > 0 runs the instruction phase alone (instructions.go).
	instrN int

	issuer        *devservers.Issuer
	dpop          *dpopTokens // for (p) and (p2); nil without them
	repeatedToken string
	forgedToken   string
	repeatedFile  string
	freshFile     string
	upstreamPort  int
	upstreamPID   int
	baseIDs       int
}

// variantFlag collects -variant NAME=JSON.
type variantFlag []string

func (v *variantFlag) String() string     { return strings.Join(*v, " ") }
func (v *variantFlag) Set(s string) error { *v = append(*v, s); return nil }

// options are the command line's setup choices, applied once the issuer
// exists.
type options struct {
	wasm, wasmRSA, wasmNoop string
	nodeDir, outDir         string
	setups, extra           string
	variants                []string
}

func main() {
	upstream := flag.String("upstream", "", "internal: serve the benchmark upstream on this address")
	envoyPath := flag.String("envoy", os.Getenv("ENVOY_PATH"), "Envoy binary (default $ENVOY_PATH)")
	var o options
	flag.StringVar(&o.wasm, "wasm", "build/edgejwt.wasm", "the filter of (c), (c2) and the variants, relative to the repository root")
	flag.StringVar(&o.wasmRSA, "wasm-rsa", "build/edgejwt-rsa.wasm", "the RSA-only build of (r)")
	flag.StringVar(&o.wasmNoop, "wasm-noop", "build/noop.wasm", "the no-op filter of (n) (go run ./cmd/wasmbuild -pkg ./bench/noop -o build/noop.wasm)")
	duration := flag.Duration("duration", 6*time.Second, "length of each measured run (wrk -d; whole seconds)")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up run of each setup with the repeated token, not measured")
	connections := flag.Int("connections", 16, "concurrent connections (wrk -c)")
	threads := flag.Int("threads", 1, "wrk threads (wrk -t)")
	freshTokens := flag.Int("fresh-tokens", 60000, "distinct tokens minted for the fresh-token workload; a run that sends more starts again at the first")
	flag.StringVar(&o.setups, "setups", defaultSetups, "setups to run, from a (no auth), b (jwt_authn as configured by default: no token cache), b2 (jwt_authn with its token cache), n (no-op Go Wasm filter), c (edgejwt), c2 (edgejwt with hostCrypto), p (edgejwt, DPoP with ES256 proofs), p2 (p with hostCrypto), r (edgejwt, RSA-only build), z0 (edgejwt, one request rule), z (z0 with 3 claim conditions), d (node); variants always run")
	modes := flag.String("upstream-modes", "go,direct", "upstream modes of the Envoy setups: go (route to the Go upstream), direct (route answered by Envoy's direct_response); (d) runs once whatever they are")
	flag.StringVar(&o.extra, "filter-config-extra", os.Getenv("BENCH_FILTER_EXTRA"), `JSON object merged into jwtRules[0] of (c), (c2) and (r); members under "_top" go to the top level; null deletes a member (default $BENCH_FILTER_EXTRA)`)
	var variants variantFlag
	for _, v := range strings.Split(os.Getenv("BENCH_VARIANTS"), ";") {
		if v = strings.TrimSpace(v); v != "" {
			variants = append(variants, v)
		}
	}
	flag.Var(&variants, "variant", `extra edgejwt setup NAME=JSON (repeatable): (c)'s base configuration with JSON merged in as for -filter-config-extra, e.g. -variant 'c3={"_top":{"x":1}}'; also from $BENCH_VARIANTS, NAME=JSON;NAME=JSON...`)
	flag.StringVar(&o.outDir, "out", "bench/results", "directory of the results files, relative to the repository root")
	flag.StringVar(&o.nodeDir, "node-dir", "bench/node", "the Node service (package.json, package-lock.json, server.js)")
	noPin := flag.Bool("no-pin", false, "do not pin processes to CPUs with taskset")
	serverCPU := flag.Int("server-cpu", 0, "CPU of the server under test (Envoy, Node)")
	loadCPU := flag.Int("load-cpu", 1, "CPU of wrk, the upstream, the issuer and this program")
	fpSetups := flag.String("footprint-setups", "a,b,n,c,c-keep,r", "setups of the footprint phase (start-up CPU and memory), from a, b, b2, n, c, c2, r, z0, z, c-keep (c without memory_allocator_manager); empty: no footprint phase")
	fpConc := flag.String("footprint-concurrency", "1,4", "Envoy --concurrency values of the footprint phase")
	fpRepeats := flag.Int("footprint-repeats", 3, "starts of each footprint setup and concurrency (V8's compile time is noisy: the median and range are reported)")
	fpLoad := flag.Duration("footprint-load", 8*time.Second, "load run (repeated token, direct mode) after which the footprint phase reads RSS and peak RSS")
	instrN := flag.Int("instructions", 0, "instead of the throughput and footprint phases, count Envoy's instructions per request under valgrind's callgrind: this many requests of each workload, one at a time, for each Envoy setup of -setups in the direct mode (make bench-instructions)")
	flag.Parse()

	if *upstream != "" {
		if err := serveUpstream(*upstream); err != nil {
			fmt.Fprintf(os.Stderr, "upstream: %v\n", err)
			os.Exit(1)
		}
		return
	}
	o.variants = variants

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
		fpRepeats:   *fpRepeats,
		fpLoad:      *fpLoad,
		instrN:      *instrN,
	}
	err := b.parseModes(*modes)
	if err == nil {
		err = b.parseFootprint(*fpSetups, *fpConc)
	}
	if err == nil {
		err = b.run(o)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "edgejwt-bench: %v\n", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// parseModes reads -upstream-modes.
func (b *bench) parseModes(list string) error {
	b.modes = nil
	for _, m := range splitList(list) {
		if m != modeGo && m != modeDirect {
			return fmt.Errorf("-upstream-modes: unknown mode %q (go, direct)", m)
		}
		if !slices.Contains(b.modes, m) {
			b.modes = append(b.modes, m)
		}
	}
	if len(b.modes) == 0 {
		return errors.New("-upstream-modes: no mode")
	}
	return nil
}

// parseFootprint reads -footprint-setups and -footprint-concurrency.
func (b *bench) parseFootprint(setups, conc string) error {
	b.fpSetups, b.fpConcurrency = nil, nil
	for _, id := range splitList(setups) {
		sp, ok := builtinSpecs[id]
		if !ok || sp.Kind == kindNode {
			return fmt.Errorf("-footprint-setups: %q is not an Envoy setup (a, b, b2, n, c, c2, r, z0, z, c-keep)", id)
		}
		if !slices.Contains(b.fpSetups, id) {
			b.fpSetups = append(b.fpSetups, id)
		}
	}
	for _, s := range splitList(conc) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-footprint-concurrency: %q is not a positive number", s)
		}
		b.fpConcurrency = append(b.fpConcurrency, n)
	}
	if len(b.fpSetups) > 0 && (len(b.fpConcurrency) == 0 || b.fpRepeats < 1) {
		return errors.New("the footprint phase needs -footprint-concurrency and -footprint-repeats >= 1")
	}
	return nil
}

func (b *bench) run(o options) error {
	start := time.Now()
	var err error
	if b.root, err = repoRoot(); err != nil {
		return err
	}
	b.wasmPath = inRoot(b.root, o.wasm)
	b.wasmRSAPath = inRoot(b.root, o.wasmRSA)
	b.wasmNoopPath = inRoot(b.root, o.wasmNoop)
	b.nodeDir = inRoot(b.root, o.nodeDir)
	b.outDir = inRoot(b.root, o.outDir)
	if b.threads < 1 || b.connections < b.threads {
		return errors.New("need -threads >= 1 and -connections >= -threads")
	}
	if b.freshTokens < 1 {
		return errors.New("-fresh-tokens must be at least 1")
	}

	specs, err := b.specs(o.setups, o.extra, o.variants)
	if err != nil {
		return err
	}
	fpSpecs := b.footprintSpecs(o.extra)
	if b.instrN > 0 {
		fpSpecs = nil
	}
	if err := b.findTools(append(append([]setupSpec(nil), specs...), fpSpecs...)); err != nil {
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
	if hasDPoP(specs) {
		if err := b.mintDPoPTokens(); err != nil {
			return err
		}
	}
	// The filter configurations name the issuer, known only now.
	if err := b.applyExtras(specs, o.extra, o.variants); err != nil {
		return err
	}
	if err := b.applyExtras(fpSpecs, o.extra, nil); err != nil {
		return err
	}

	if b.instrN > 0 {
		return b.runInstructions(specs, start)
	}

	if b.pin {
		// Everything this program starts from now on inherits CPU loadCPU;
		// the servers under test are started through taskset -c serverCPU.
		if out, err := exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(b.loadCPU), strconv.Itoa(os.Getpid())).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset: %v: %s", err, out)
		}
	}
	if slices.Contains(b.modes, modeGo) && hasEnvoy(specs) {
		var stopUpstream func()
		if b.upstreamPort, b.upstreamPID, stopUpstream, err = b.startUpstream(); err != nil {
			return err
		}
		defer stopUpstream()
	}

	// The throughput phase: every Envoy setup in each mode, mode by mode so
	// that the setups compared with each other run close in time; (d) once,
	// after the first mode.
	var results []setupResult
	for i, mode := range b.modes {
		for _, sp := range specs {
			if sp.Kind == kindNode {
				continue
			}
			logf("setup %s (%s upstream): %s", sp.ID, mode, sp.Name)
			results = append(results, b.runSetup(sp, mode))
		}
		if i == 0 {
			for _, sp := range specs {
				if sp.Kind == kindNode {
					logf("setup %s: %s", sp.ID, sp.Name)
					results = append(results, b.runSetup(sp, modeOwn))
				}
			}
		}
	}

	var fp []footprintResult
	if len(fpSpecs) > 0 {
		fp = b.footprint(fpSpecs)
	}

	rep := buildReport(b, mach, specs, results, fp, start)
	rep.print(os.Stdout)
	mdPath, jsonPath, err := rep.write(b.outDir)
	if err != nil {
		return err
	}
	fmt.Printf("\nresults: %s\n         %s\n", rel(b.root, mdPath), rel(b.root, jsonPath))
	logf("done in %v", time.Since(start).Round(time.Second))
	return nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
