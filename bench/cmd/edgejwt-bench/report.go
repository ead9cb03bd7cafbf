package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// machine describes where and with what the run was made.
type machine struct {
	NProc        int      `json:"nproc"`
	CPUModel     string   `json:"cpu_model"`
	Kernel       string   `json:"kernel"`
	MemTotal     string   `json:"mem_total"`
	LoadAvg      string   `json:"loadavg_at_start"`
	EnvoyVersion string   `json:"envoy_version,omitempty"`
	NodeVersion  string   `json:"node_version,omitempty"`
	NodePackages []string `json:"node_packages,omitempty"`
	GoVersion    string   `json:"go_version"`
	WrkVersion   string   `json:"wrk_version"`
	GitCommit    string   `json:"git_commit"`
	GitDirty     bool     `json:"git_dirty"`
	Wasm         string   `json:"wasm,omitempty"` // sha256 prefix and size of build/edgejwt.wasm
	Pinning      string   `json:"pinning"`
}

func machineInfo(b *bench) machine {
	m := machine{GoVersion: runtime.Version()}
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(ci), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "processor":
				m.NProc++
			case "model name":
				if m.CPUModel == "" {
					m.CPUModel = strings.TrimSpace(v)
				}
			}
		}
	}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(k))
	}
	if kb, err := procStatusKBFile("/proc/meminfo", "MemTotal"); err == nil {
		m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/1024/1024)
	}
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(l))[:3], " ")
	}
	if b.envoyPath != "" {
		out, _ := exec.Command(b.envoyPath, "--version").Output()
		// "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
		s := strings.TrimSpace(string(out))
		if _, v, ok := strings.Cut(s, "version: "); ok {
			parts := strings.Split(v, "/")
			if len(parts) > 1 {
				s = parts[1] + " (" + v + ")"
			}
		}
		m.EnvoyVersion = s
	}
	if b.nodePath != "" {
		out, _ := exec.Command(b.nodePath, "--version").Output()
		m.NodeVersion = strings.TrimSpace(string(out))
		m.NodePackages = nodePackages(b.nodeDir)
	}
	if out, err := exec.Command(b.wrkPath, "-v").CombinedOutput(); err == nil || len(out) > 0 {
		first, _, _ := strings.Cut(string(out), "\n")
		first, _, _ = strings.Cut(first, " Copyright")
		m.WrkVersion = strings.TrimSpace(first)
	}
	if out, err := exec.Command("git", "-C", b.root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.GitCommit = strings.TrimSpace(string(out))
	} else {
		m.GitCommit = "nogit"
	}
	// --no-optional-locks: do not refresh the index of a tree others work in.
	if out, err := exec.Command("git", "-C", b.root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		m.GitDirty = len(strings.TrimSpace(string(out))) > 0
	}
	if w, err := os.ReadFile(b.wasmPath); err == nil {
		sum := sha256.Sum256(w)
		m.Wasm = fmt.Sprintf("sha256:%s, %.1f MB", hex.EncodeToString(sum[:6]), float64(len(w))/1e6)
	}
	if b.pin {
		m.Pinning = fmt.Sprintf("server under test on CPU %d; wrk, upstream, issuer and harness on CPU %d (taskset)", b.serverCPU, b.loadCPU)
	} else {
		m.Pinning = "none"
	}
	return m
}

func procStatusKBFile(path, name string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			var n int64
			_, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// nodePackages lists the locked versions of the Node service's direct
// dependencies.
func nodePackages(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return nil
	}
	var lock struct {
		Packages map[string]struct {
			Version      string            `json:"version"`
			Dependencies map[string]string `json:"dependencies"`
		} `json:"packages"`
	}
	if json.Unmarshal(b, &lock) != nil {
		return nil
	}
	var out []string
	for name := range lock.Packages[""].Dependencies {
		out = append(out, name+" "+lock.Packages["node_modules/"+name].Version)
	}
	sort.Strings(out)
	return out
}

// params are the load parameters of the run.
type params struct {
	Duration    string `json:"duration"`
	Warmup      string `json:"warmup"`
	Connections int    `json:"connections"`
	Threads     int    `json:"wrk_threads"`
	FreshTokens int    `json:"fresh_tokens"`
	EnvoyWorker int    `json:"envoy_concurrency"`
}

// ratio compares one setup's run with a reference setup's run of the same
// workload.
type ratio struct {
	Workload string  `json:"workload"`
	Setup    string  `json:"setup"`
	Ref      string  `json:"ref"`
	ReqPerS  float64 `json:"req_per_s_ratio"`
	CPUPer1k float64 `json:"cpu_per_req_ratio"`
}

// target is one of issue 5's goals for an edgejwt setup.
type target struct {
	Workload string  `json:"workload"`
	Setup    string  `json:"setup"`
	Ref      string  `json:"ref"`
	Want     float64 `json:"want_at_least"`
	Got      float64 `json:"got"` // req/s over the reference's req/s
	// ByCPU is the reference's CPU per request over the setup's: what Got
	// would be if both servers had their core to themselves and used it all.
	ByCPU  float64 `json:"got_by_cpu_per_req"`
	Status string  `json:"status"` // met, missed, invalid, n/a (judged on Got)
}

type report struct {
	Date       string       `json:"date"`
	Machine    machine      `json:"machine"`
	Params     params       `json:"params"`
	Method     []string     `json:"method"`
	Setups     []setupEntry `json:"setups"`
	Runs       []*runResult `json:"runs"`
	Ratios     []ratio      `json:"ratios"`
	Targets    []target     `json:"targets"`
	ElapsedSec float64      `json:"elapsed_s"`

	started   time.Time
	results   []setupResult
	runsByKey map[string]*runResult
	specsByID map[string]setupSpec
}

type setupEntry struct {
	setupSpec
	Error string   `json:"error,omitempty"`
	Notes []string `json:"notes,omitempty"`
}

func buildReport(b *bench, m machine, specs []setupSpec, results []setupResult, start time.Time) *report {
	r := &report{
		Date:    start.Format(time.RFC3339),
		Machine: m,
		Params: params{
			Duration:    b.duration.String(),
			Warmup:      b.warmup.String(),
			Connections: b.connections,
			Threads:     b.threads,
			FreshTokens: b.freshTokens,
			EnvoyWorker: 1,
		},
		started:   start,
		results:   results,
		runsByKey: map[string]*runResult{},
		specsByID: map[string]setupSpec{},
	}
	r.Method = []string{
		"Envoy runs with --concurrency 1 (one worker thread) and Node is one process with one event loop, so every figure is per core.",
		"Pinning: " + m.Pinning + ".",
		fmt.Sprintf("Load: wrk -t%d -c%d, %v per measured run, after a %v warm-up of each setup with the repeated token (JWKS fetched, caches primed, JIT warm). The fresh-token run follows the repeated-token run on the same server process. Every request goes through the same wrk Lua script. Runs have a fixed duration, not a fixed request count: wrk's main thread sleeps for the whole -d even when a script stops its threads early, so a count-bounded wrk run would misstate req/s.",
			b.threads, b.connections, b.duration, b.warmup),
		fmt.Sprintf("Fresh tokens: %d distinct RS256 tokens minted before anything runs; a run that sends more requests starts again at the first token, so a token comes back only after %d others (flagged TOKENS-REUSED).", b.freshTokens, b.freshTokens),
		"Checks in b, b2, c and d: RS256 signature with the issuer's JWKS (fetched over HTTP from 127.0.0.1), iss, aud, exp required. Before measuring, each setup must answer 200 to the valid token (with the sub claim reaching the application; a: 200 only), and 401 to a forged token and to none.",
		"(a), (b), (b2) and (c) share one upstream: a Go net/http server (GOMAXPROCS=1) on the load CPU answering 200 with a small JSON body; its CPU is not in the server's figures (upstream_cpu_ms_per_1k_req in the JSON). (d) is the upstream itself: it answers 200 with the verified claims, as the seed does.",
		"(b) jwt_authn: remote_jwks through a cluster (cache_duration 600s), issuer, audiences, require_expiration, forward false, forward_payload_header x-jwt-payload, claim_to_headers sub and roles, like (c); jwt_cache_config left unset, as operators get it. Envoy then has NO verified-token cache: it creates the cache only when the field is present (jwks_cache.cc: enable_jwt_cache = has_jwt_cache_config()), and the jwt_cache_miss counter of (b) counts every request. (b2) is the same with jwt_cache_config {jwt_cache_size: 100}: the cache on, 100 tokens of up to 4096 bytes per worker.",
		"CPU: user+system time of the server process, all threads, over the measured run (/proc/<pid>/stat), as CPU-ms per 1000 requests and as % of one core. Peak RSS: VmHWM of the server process, reset before each run (clear_refs), so it is the run's peak.",
		"The machine may be shared with other work: other_processes_cores (JSON, and the NOISY flag above 0.25) is the CPU used by processes outside the benchmark during each run. Figures are indicative.",
	}
	for _, sp := range specs {
		r.specsByID[sp.ID] = sp
	}
	for _, res := range results {
		r.Setups = append(r.Setups, setupEntry{setupSpec: res.Spec, Error: res.Error, Notes: res.Notes})
		for _, wl := range workloads {
			if run := res.Runs[wl]; run != nil {
				r.Runs = append(r.Runs, run)
				r.runsByKey[wl+"/"+res.Spec.ID] = run
			}
		}
	}
	for _, wl := range workloads {
		for _, ref := range ratioRefs {
			rr := r.runsByKey[wl+"/"+ref]
			if rr == nil || rr.ReqPerSec == 0 {
				continue
			}
			for _, res := range results {
				run := res.Runs[wl]
				if run == nil || res.Spec.ID == ref || res.Spec.ID == "a" {
					continue
				}
				ra := ratio{Workload: wl, Setup: res.Spec.ID, Ref: ref, ReqPerS: run.ReqPerSec / rr.ReqPerSec}
				if rr.CPUMsPer1k > 0 {
					ra.CPUPer1k = run.CPUMsPer1k / rr.CPUMsPer1k
				}
				r.Ratios = append(r.Ratios, ra)
			}
		}
	}
	goals := []struct {
		wl, ref string
		want    float64
	}{
		{wlRepeated, "b", 1.0}, {wlRepeated, "b2", 1.0}, {wlRepeated, "a", 0.9}, {wlRepeated, "d", 5},
		{wlFresh, "b", 0.5}, {wlFresh, "b2", 0.5}, {wlFresh, "d", 5},
	}
	for _, res := range results {
		if res.Spec.Kind != kindEdgejwt {
			continue
		}
		for _, g := range goals {
			if _, ok := r.specsByID[g.ref]; !ok {
				continue // reference setup not run
			}
			t := target{Workload: g.wl, Setup: res.Spec.ID, Ref: g.ref, Want: g.want, Status: "n/a"}
			run, ref := res.Runs[g.wl], r.runsByKey[g.wl+"/"+g.ref]
			if run != nil && ref != nil && ref.ReqPerSec > 0 {
				t.Got = run.ReqPerSec / ref.ReqPerSec
				if run.CPUMsPer1k > 0 {
					t.ByCPU = ref.CPUMsPer1k / run.CPUMsPer1k
				}
				switch {
				case hasErrors(run) || hasErrors(ref):
					t.Status = "invalid (errors)"
				case t.Got >= g.want:
					t.Status = "met"
				default:
					t.Status = "missed"
				}
			}
			r.Targets = append(r.Targets, t)
		}
	}
	r.ElapsedSec = time.Since(start).Seconds()
	return r
}

// ratioRefs are the setups every other one is compared with.
var ratioRefs = []string{"a", "b", "b2"}

func hasErrors(r *runResult) bool { return r.Non2xx > 0 || r.SocketErrors > 0 }

func (r *report) setupLabel(id string) string {
	sp := r.specsByID[id]
	name := sp.Name
	if len(name) > 44 {
		name = name[:41] + "..."
	}
	return id + "  " + name
}

// print writes the table, the ratios and the targets.
func (r *report) print(out io.Writer) {
	m := r.Machine
	dirty := ""
	if m.GitDirty {
		dirty = "+dirty"
	}
	fmt.Fprintf(out, "\nedgejwt benchmark  %s  commit %s%s\n", r.Date, m.GitCommit, dirty)
	fmt.Fprintf(out, "machine: %d x %s, %s; Envoy %s; Node %s; %s; %s\n",
		m.NProc, m.CPUModel, m.MemTotal, shortEnvoy(m.EnvoyVersion), orNA(m.NodeVersion), m.GoVersion, m.WrkVersion)
	fmt.Fprintf(out, "load: wrk -t%d -c%d -d%s per run after a %s warm-up; Envoy --concurrency 1, Node one process (per-core figures); pinning: %s\n",
		r.Params.Threads, r.Params.Connections, r.Params.Duration, r.Params.Warmup, m.Pinning)
	fmt.Fprintf(out, "jwt_authn: (b) as configured by default, which has no verified-token cache; (b2) with jwt_cache_config (100 tokens). Fresh workload: %d distinct tokens\n\n", r.Params.FreshTokens)

	t := &table{right: []bool{false, false, true, true, true, true, true, true, true, false}}
	t.add("workload", "setup", "req/s", "p50 ms", "p99 ms", "CPU-ms/1k req", "core %", "peak RSS MB", "non-2xx", "flags")
	for _, wl := range workloads {
		for _, res := range r.results {
			run := res.Runs[wl]
			label := r.setupLabel(res.Spec.ID)
			if run == nil {
				msg := res.Error
				if msg == "" {
					msg = "not run"
				}
				t.add(wl, label, "-", "-", "-", "-", "-", "-", "-", "FAILED: "+firstLine(msg, 80))
				continue
			}
			t.add(wl, label, thousands(run.ReqPerSec), fmt.Sprintf("%.2f", run.P50Ms), fmt.Sprintf("%.2f", run.P99Ms),
				fmt.Sprintf("%.1f", run.CPUMsPer1k), fmt.Sprintf("%.0f", run.ServerCorePct), fmt.Sprintf("%.1f", run.PeakRSSMB),
				fmt.Sprint(run.Non2xx+run.SocketErrors), strings.Join(run.Flags, " "))
		}
	}
	t.print(out)

	if len(r.Ratios) > 0 {
		fmt.Fprintln(out, "\nratios (req/s; CPU per request in brackets), per workload:")
		t := &table{right: []bool{false, false, true, true, true}}
		t.add("workload", "setup", "vs a (no auth)", "vs b (jwt_authn)", "vs b2 (jwt_authn+cache)")
		for _, wl := range workloads {
			for _, res := range r.results {
				id := res.Spec.ID
				if id == "a" || res.Runs[wl] == nil {
					continue
				}
				t.add(wl, r.setupLabel(id), r.ratioCell(wl, id, "a"), r.ratioCell(wl, id, "b"), r.ratioCell(wl, id, "b2"))
			}
		}
		t.print(out)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(out, "\nissue 5 targets (req/s of the edgejwt setup over the reference's; \"by CPU\": the reference's CPU per request over the setup's):")
		t := &table{right: []bool{false, false, true, false, true}}
		t.add("workload", "target", "req/s ratio", "status", "by CPU")
		for _, tg := range r.Targets {
			got, cpu := "-", "-"
			if tg.Got > 0 {
				got = fmt.Sprintf("%.2fx", tg.Got)
			}
			if tg.ByCPU > 0 {
				cpu = fmt.Sprintf("%.2fx", tg.ByCPU)
			}
			t.add(tg.Workload, fmt.Sprintf("%s >= %gx %s", tg.Setup, tg.Want, tg.Ref), got, strings.ToUpper(tg.Status), cpu)
		}
		t.print(out)
	}
	var notes []string
	for _, res := range r.results {
		for _, n := range res.Notes {
			notes = append(notes, res.Spec.ID+": "+n)
		}
		if res.Error != "" {
			notes = append(notes, res.Spec.ID+": FAILED: "+firstLine(res.Error, 300))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(out, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintln(out, "  "+n)
		}
	}
	fmt.Fprintln(out, "\nflags: NON-2XX / SOCKET-ERRORS = the run had failed requests (its figures are not valid);",
		"LOAD-CPU-SATURATED = the load CPU was >95% busy (wrk or the upstream may have limited the rate);",
		"NOISY = other processes used more than 0.25 cores; TOKENS-REUSED = the fresh run went through the token list more than once.")
}

func (r *report) ratioCell(wl, id, ref string) string {
	if id == ref {
		return "-"
	}
	for _, ra := range r.Ratios {
		if ra.Workload == wl && ra.Setup == id && ra.Ref == ref {
			if ra.CPUPer1k > 0 {
				return fmt.Sprintf("%.2fx (%.2fx)", ra.ReqPerS, ra.CPUPer1k)
			}
			return fmt.Sprintf("%.2fx", ra.ReqPerS)
		}
	}
	return "n/a"
}

// write saves the report as <date>-<commit>.md and .json under dir.
func (r *report) write(dir string) (string, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	name := r.started.Format("2006-01-02-150405") + "-" + r.Machine.GitCommit
	if r.Machine.GitDirty {
		name += "-dirty"
	}
	mdPath := filepath.Join(dir, name+".md")
	jsonPath := filepath.Join(dir, name+".json")
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(jsonPath, append(js, '\n'), 0o644); err != nil {
		return "", "", err
	}
	var md strings.Builder
	r.markdown(&md)
	if err := os.WriteFile(mdPath, []byte(md.String()), 0o644); err != nil {
		return "", "", err
	}
	return mdPath, jsonPath, nil
}

func (r *report) markdown(w *strings.Builder) {
	m := r.Machine
	dirty := ""
	if m.GitDirty {
		dirty = " (with uncommitted changes)"
	}
	fmt.Fprintf(w, "# edgejwt benchmark, %s\n\n", r.Date)
	fmt.Fprintf(w, "Commit %s%s, made by `make bench` (bench/cmd/edgejwt-bench).\n\n", m.GitCommit, dirty)
	fmt.Fprintf(w, "## Machine\n\n")
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| CPUs | %d x %s |\n| memory | %s |\n| kernel | %s |\n| load average at start | %s |\n",
		m.NProc, m.CPUModel, m.MemTotal, m.Kernel, m.LoadAvg)
	fmt.Fprintf(w, "| Envoy | %s |\n| Node | %s |\n| Node packages | %s |\n| Go | %s |\n| wrk | %s |\n| filter | build/edgejwt.wasm %s |\n| pinning | %s |\n\n",
		orNA(m.EnvoyVersion), orNA(m.NodeVersion), orNA(strings.Join(m.NodePackages, ", ")), m.GoVersion, m.WrkVersion, orNA(m.Wasm), m.Pinning)

	fmt.Fprintf(w, "## Results\n\n")
	fmt.Fprintf(w, "| workload | setup | req/s | p50 ms | p99 ms | CPU-ms/1k req | core %% | peak RSS MB | non-2xx + errors | flags |\n")
	fmt.Fprintf(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, wl := range workloads {
		for _, res := range r.results {
			run := res.Runs[wl]
			if run == nil {
				fmt.Fprintf(w, "| %s | %s | - | - | - | - | - | - | - | FAILED: %s |\n", wl, mdEscape(r.setupLabel(res.Spec.ID)), mdEscape(firstLine(res.Error, 120)))
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.2f | %.2f | %.1f | %.0f | %.1f | %d | %s |\n",
				wl, mdEscape(r.setupLabel(res.Spec.ID)), thousands(run.ReqPerSec), run.P50Ms, run.P99Ms,
				run.CPUMsPer1k, run.ServerCorePct, run.PeakRSSMB, run.Non2xx+run.SocketErrors, strings.Join(run.Flags, " "))
		}
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintf(w, "\n### Ratios\n\nreq/s of the setup over the reference; in brackets, CPU per request over the reference's.\n\n")
		fmt.Fprintf(w, "| workload | setup | vs a (no auth) | vs b (jwt_authn) | vs b2 (jwt_authn + cache) |\n|---|---|--:|--:|--:|\n")
		for _, wl := range workloads {
			for _, res := range r.results {
				id := res.Spec.ID
				if id == "a" || res.Runs[wl] == nil {
					continue
				}
				fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", wl, mdEscape(r.setupLabel(id)), r.ratioCell(wl, id, "a"), r.ratioCell(wl, id, "b"), r.ratioCell(wl, id, "b2"))
			}
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\n### Issue 5 targets\n\nJudged on req/s. \"By CPU\" is the reference's server CPU per request over the edgejwt setup's: the ratio the req/s would show if each server had its core to itself and used it all, which other processes on a shared machine disturb less.\n\n")
		fmt.Fprintf(w, "| workload | target | req/s ratio | status | by CPU |\n|---|---|--:|---|--:|\n")
		for _, t := range r.Targets {
			got, cpu := "-", "-"
			if t.Got > 0 {
				got = fmt.Sprintf("%.2fx", t.Got)
			}
			if t.ByCPU > 0 {
				cpu = fmt.Sprintf("%.2fx", t.ByCPU)
			}
			fmt.Fprintf(w, "| %s | %s >= %gx %s | %s | %s | %s |\n", t.Workload, t.Setup, t.Want, t.Ref, got, t.Status, cpu)
		}
	}

	fmt.Fprintf(w, "\n### Details per run\n\n")
	fmt.Fprintf(w, "| workload | setup | requests | p90 ms | p99.9 ms | max ms | upstream CPU-ms/1k | wrk CPU s | server CPU busy | load CPU busy | others (cores) | tokens (distinct / max uses) |\n")
	fmt.Fprintf(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "| %s | %s | %d | %.2f | %.2f | %.2f | %.1f | %.2f | %.0f%% | %.0f%% | %.2f | %d / %d |\n",
			run.Workload, run.Setup, run.Requests, run.P90Ms, run.P999Ms, run.MaxMs, run.UpstreamCPUMsPer1k,
			run.LoadgenCPUSec, 100*run.ServerCPUBusy, 100*run.LoadCPUBusy, run.OtherCores, run.DistinctTokens, run.MaxUsesPerToken)
	}
	var statLines []string
	for _, run := range r.Runs {
		if len(run.Stats) == 0 && len(run.Gauges) == 0 {
			continue
		}
		line := fmt.Sprintf("- %s %s: %s", run.Workload, run.Setup, statList(run.Stats))
		if len(run.Gauges) > 0 {
			line += "; gauges after the run: " + statList(run.Gauges)
		}
		statLines = append(statLines, line)
	}
	if len(statLines) > 0 {
		fmt.Fprintf(w, "\nEnvoy stats of the auth filters: counters, change over each run:\n\n%s\n", strings.Join(statLines, "\n"))
	}

	fmt.Fprintf(w, "\n## Setups\n\n")
	for _, s := range r.Setups {
		fmt.Fprintf(w, "- **%s** %s", s.ID, s.Name)
		if s.FilterConfig != "" {
			fmt.Fprintf(w, ": filter configuration `%s`", s.FilterConfig)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "\n  - FAILED: %s", mdEscape(firstLine(s.Error, 300)))
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "\n  - %s", n)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n## Method\n\n")
	for _, n := range r.Method {
		fmt.Fprintf(w, "- %s\n", n)
	}
	fmt.Fprintf(w, "\nFlags: NON-2XX / SOCKET-ERRORS: the run had failed requests and its figures are not valid. LOAD-CPU-SATURATED: the load CPU was more than 95%% busy, so wrk or the upstream may have limited the rate. NOISY: other processes used more than 0.25 cores during the run. TOKENS-REUSED: the fresh-token run went through its token list more than once.\n")
	fmt.Fprintf(w, "\nThe whole run took %.0f s.\n", r.ElapsedSec)
}

// statList renders stats as `name` value, sorted by name.
func statList(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kv := make([]string, 0, len(keys))
	for _, k := range keys {
		kv = append(kv, fmt.Sprintf("`%s` %d", k, m[k]))
	}
	return strings.Join(kv, ", ")
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func firstLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

func shortEnvoy(v string) string {
	s, _, _ := strings.Cut(v, " ")
	return orNA(s)
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// table prints rows in aligned columns, numbers right-aligned.
type table struct {
	rows  [][]string
	right []bool
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print(w io.Writer) {
	width := map[int]int{}
	for _, row := range t.rows {
		for i, c := range row {
			if n := len([]rune(c)); n > width[i] {
				width[i] = n
			}
		}
	}
	for _, row := range t.rows {
		var line strings.Builder
		line.WriteString("  ")
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i < len(t.right) && t.right[i] {
				line.WriteString(pad + c)
			} else if i == len(row)-1 {
				line.WriteString(c)
			} else {
				line.WriteString(c + pad)
			}
			if i < len(row)-1 {
				line.WriteString("  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
}
