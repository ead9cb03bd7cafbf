package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The instruction phase (-instructions N) counts the machine instructions
// Envoy executes per request, under valgrind's callgrind, for each Envoy
// setup in the direct mode: N requests with the repeated token, then N with
// fresh tokens, one at a time. Unlike CPU time, the count does not depend
// on what else the machine runs, so two builds or two setups compare to
// the percent on a shared, noisy machine. It is not time: an instruction
// of RSA's bignum loops costs less than one of a cache miss, and valgrind
// sees only what runs (no stalls). Counting is off while Envoy starts (V8
// compiles the module then) and during the warm-up.
//
// The counts are split by where the instructions ran: "module" is code
// without a symbol mapped at high addresses, which in these runs is the
// Wasm module as V8 compiled it; "envoy" is the Envoy binary (Envoy, V8's
// runtime, BoringSSL); "other" the rest (V8's builtins and stubs, libc).

// instrWarmup is how many requests of each workload go unmeasured first:
// the key set fetched, caches and V8's lazy paths warmed.
const instrWarmup = 30

// instrResult is one setup's counts, per request.
type instrResult struct {
	spec     setupSpec
	repeated instrCount
	fresh    instrCount
	err      error
}

type instrCount struct {
	total, module, envoy, other float64
}

// instructions runs the phase over the Envoy setups of specs.
func (b *bench) instructions(specs []setupSpec, n int) []instrResult {
	var out []instrResult
	for _, sp := range specs {
		if sp.Kind == kindNode {
			continue
		}
		logf("instructions: setup %s: %s", sp.ID, sp.Name)
		r := instrResult{spec: sp}
		r.repeated, r.fresh, r.err = b.countSetup(sp, n)
		if r.err != nil {
			logf("instructions: setup %s: %v", sp.ID, r.err)
		}
		out = append(out, r)
	}
	return out
}

func (b *bench) countSetup(sp setupSpec, n int) (repeated, fresh instrCount, err error) {
	fresh0 := 0
	toks, err := readLines(b.freshFile)
	if err != nil {
		return repeated, fresh, err
	}
	repeatedTok := b.repeatedToken
	if sp.DPoP {
		// (p) and (p2): DPoP-bound tokens, each request with a new proof,
		// made here (outside Envoy: not counted).
		toks, repeatedTok = b.dpop.fresh, b.dpop.repeated
	}
	if len(toks) < instrWarmup+n {
		return repeated, fresh, fmt.Errorf("-fresh-tokens %d: the instruction phase needs at least %d", len(toks), instrWarmup+n)
	}
	outDir, err := os.MkdirTemp(b.tmp, "callgrind-"+sp.ID+"-")
	if err != nil {
		return repeated, fresh, err
	}
	s, err := b.startEnvoy(envoyStart{spec: sp, mode: modeDirect, poll: 500 * time.Millisecond, prefix: []string{
		"valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + filepath.Join(outDir, "cg.%p"),
	}})
	if err != nil {
		return repeated, fresh, err
	}
	defer s.stop()
	c := &http.Client{Timeout: time.Minute}
	send := func(tok string, k int) error {
		for range k {
			if err := b.instrRequest(c, s.url, tok, sp.DPoP); err != nil {
				return err
			}
		}
		return nil
	}
	// Warm up: both workloads, so that the fresh path's first run is not
	// measured either.
	if err := send(repeatedTok, instrWarmup); err != nil {
		return repeated, fresh, err
	}
	for i := range instrWarmup {
		if err := send(toks[i], 1); err != nil {
			return repeated, fresh, err
		}
	}
	fresh0 = instrWarmup
	ctl := func(args ...string) error {
		out, err := exec.Command("callgrind_control", append(args, strconv.Itoa(s.pid))...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("callgrind_control %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ctl("--instr=on"); err != nil {
		return repeated, fresh, err
	}
	if err := ctl("--zero"); err != nil {
		return repeated, fresh, err
	}
	if err := send(repeatedTok, n); err != nil {
		return repeated, fresh, err
	}
	if err := ctl("--dump=repeated"); err != nil {
		return repeated, fresh, err
	}
	for i := range n {
		if err := send(toks[fresh0+i], 1); err != nil {
			return repeated, fresh, err
		}
	}
	if err := ctl("--dump=fresh"); err != nil {
		return repeated, fresh, err
	}
	if err := ctl("--instr=off"); err != nil {
		return repeated, fresh, err
	}
	dumps, err := filepath.Glob(filepath.Join(outDir, "cg.*.*"))
	if err != nil {
		return repeated, fresh, err
	}
	for _, d := range dumps {
		cnt, trigger, err := readCallgrind(d)
		if err != nil {
			return repeated, fresh, err
		}
		per := instrCount{total: cnt.total / float64(n), module: cnt.module / float64(n), envoy: cnt.envoy / float64(n), other: cnt.other / float64(n)}
		switch trigger {
		case "repeated":
			repeated = per
		case "fresh":
			fresh = per
		}
	}
	if repeated.total == 0 || fresh.total == 0 {
		return repeated, fresh, fmt.Errorf("callgrind wrote no dump for a workload (files %v)", dumps)
	}
	return repeated, fresh, nil
}

func (b *bench) instrRequest(c *http.Client, url, tok string, dpop bool) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if dpop {
		if err := b.authorizeDPoP(req, tok); err != nil {
			return err
		}
	} else {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// annotateLine is a function's line in callgrind_annotate's output:
// count, share, then file:function and [object].
var annotateLine = regexp.MustCompile(`^\s*([\d,]+) \([^)]*\)\s+(\S+)(?: \[(.*)\])?`)

// readCallgrind reads one dump: its trigger (the --dump name) and its
// instructions by where they ran.
func readCallgrind(path string) (instrCount, string, error) {
	var c instrCount
	f, err := os.ReadFile(path)
	if err != nil {
		return c, "", err
	}
	trigger := ""
	if m := regexp.MustCompile(`(?m)^desc: Trigger: dump (\S+)`).FindSubmatch(f); m != nil {
		trigger = string(m[1])
	}
	out, err := exec.Command("callgrind_annotate", "--threshold=100", path).Output()
	if err != nil {
		return c, "", fmt.Errorf("callgrind_annotate: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		m := annotateLine.FindStringSubmatch(line)
		if m == nil || strings.Contains(line, "PROGRAM TOTALS") {
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", ""), 64)
		if err != nil {
			continue
		}
		c.total += v
		switch fn, obj := m[2], m[3]; {
		case strings.HasSuffix(obj, "/envoy"):
			c.envoy += v
		case obj == "???" && jitAddress(fn):
			c.module += v
		default:
			c.other += v
		}
	}
	if c.total == 0 {
		return c, trigger, errors.New("callgrind_annotate found no instructions in " + path)
	}
	return c, trigger, nil
}

// jitAddress reports whether fn, "???:0x..." for code without a symbol,
// lies above 4 GiB, where V8 puts the code it compiles.
func jitAddress(fn string) bool {
	i := strings.Index(fn, ":0x")
	if i < 0 {
		return false
	}
	hex := fn[i+3:]
	if j := strings.IndexByte(hex, '\''); j >= 0 {
		hex = hex[:j]
	}
	a, err := strconv.ParseUint(hex, 16, 64)
	return err == nil && a >= 1<<32
}

// writeInstructions prints the phase's table and writes it as Markdown.
func writeInstructions(w io.Writer, res []instrResult, n int) {
	ref := func(id string) *instrResult {
		for i := range res {
			if res[i].spec.ID == id && res[i].err == nil {
				return &res[i]
			}
		}
		return nil
	}
	a, nn := ref("a"), ref("n")
	fmt.Fprintf(w, "## Instructions per request (callgrind)\n\n")
	fmt.Fprintf(w, "Envoy's instructions per request under valgrind's callgrind, direct mode, %d requests one at a time after %d unmeasured; "+
		"thousands. module: the Wasm module as V8 compiled it; envoy: the Envoy binary (V8's runtime and BoringSSL included); "+
		"other: V8's builtins and stubs, libc. Counts do not depend on the machine's load.\n\n", n, instrWarmup)
	fmt.Fprintf(w, "| setup | workload | total | module | envoy | other | over a | over n |\n|---|---|--:|--:|--:|--:|--:|--:|\n")
	k := func(v float64) string { return strconv.FormatFloat(v/1000, 'f', 1, 64) }
	over := func(v float64, r *instrResult, fresh bool) string {
		if r == nil {
			return "-"
		}
		base := r.repeated.total
		if fresh {
			base = r.fresh.total
		}
		return "+" + k(v-base)
	}
	for _, r := range res {
		if r.err != nil {
			fmt.Fprintf(w, "| %s %s | | failed: %v | | | | | |\n", r.spec.ID, r.spec.Name, r.err)
			continue
		}
		for _, wl := range []struct {
			name  string
			c     instrCount
			fresh bool
		}{{"repeated", r.repeated, false}, {"fresh", r.fresh, true}} {
			oa, on := over(wl.c.total, a, wl.fresh), over(wl.c.total, nn, wl.fresh)
			if r.spec.ID == "a" {
				oa, on = "-", "-"
			}
			if r.spec.ID == "n" {
				on = "-"
			}
			fmt.Fprintf(w, "| %s %s | %s | %s | %s | %s | %s | %s | %s |\n", r.spec.ID, r.spec.Name, wl.name,
				k(wl.c.total), k(wl.c.module), k(wl.c.envoy), k(wl.c.other), oa, on)
		}
	}
}

// runInstructions is the run when -instructions is set: the phase, its
// table on stdout and in <date>-<commit>-instructions.md under -out.
func (b *bench) runInstructions(specs []setupSpec, start time.Time) error {
	res := b.instructions(specs, b.instrN)
	var md strings.Builder
	mach := machineInfo(b)
	fmt.Fprintf(&md, "# edgejwt instruction counts, %s\n\nCommit %s, made by `make bench-instructions` (bench/cmd/edgejwt-bench -instructions %d).\n\n",
		start.UTC().Format(time.RFC3339), mach.GitCommit, b.instrN)
	writeInstructions(&md, res, b.instrN)
	fmt.Print(md.String())
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return err
	}
	name := start.Format("2006-01-02-150405") + "-" + mach.GitCommit
	if mach.GitDirty {
		name += "-dirty"
	}
	path := filepath.Join(b.outDir, name+"-instructions.md")
	if err := os.WriteFile(path, []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nresults: %s\n", rel(b.root, path))
	for _, r := range res {
		if r.err != nil {
			return fmt.Errorf("setup %s: %w", r.spec.ID, r.err)
		}
	}
	return nil
}
