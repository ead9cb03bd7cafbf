package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// params are the load parameters of the run.
type params struct {
	Duration      string   `json:"duration"`
	Warmup        string   `json:"warmup"`
	Connections   int      `json:"connections"`
	Threads       int      `json:"wrk_threads"`
	FreshTokens   int      `json:"fresh_tokens"`
	EnvoyWorker   int      `json:"envoy_concurrency"`
	UpstreamModes []string `json:"upstream_modes"`

	FootprintSetups      []string `json:"footprint_setups,omitempty"`
	FootprintConcurrency []int    `json:"footprint_concurrency,omitempty"`
	FootprintRepeats     int      `json:"footprint_repeats,omitempty"`
	FootprintLoad        string   `json:"footprint_load,omitempty"`
	FootprintPoll        string   `json:"footprint_ready_poll,omitempty"`
}

// ratio compares one setup's run with a reference setup's run of the same
// workload and mode.
type ratio struct {
	Workload string  `json:"workload"`
	Mode     string  `json:"mode"`
	Setup    string  `json:"setup"`
	Ref      string  `json:"ref"`
	ReqPerS  float64 `json:"req_per_s_ratio"`
	CPUPer1k float64 `json:"cpu_per_req_ratio"`
}

// target is one of issue 5's goals for an edgejwt setup.
type target struct {
	Workload string  `json:"workload"`
	Mode     string  `json:"mode"`
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
	Date             string            `json:"date"`
	Machine          machine           `json:"machine"`
	Params           params            `json:"params"`
	Method           []string          `json:"method"`
	Setups           []setupEntry      `json:"setups"`
	Runs             []*runResult      `json:"runs"`
	Ratios           []ratio           `json:"ratios"`
	Targets          []target          `json:"targets"`
	Footprint        []footprintResult `json:"footprint,omitempty"`
	FootprintTargets []footprintTarget `json:"footprint_targets,omitempty"`
	ElapsedSec       float64           `json:"elapsed_s"`

	started   time.Time
	results   []setupResult
	modes     []string
	refMode   string                // the mode (d) and issue 5's targets are compared in
	runsByKey map[string]*runResult // runKey(workload, mode, setup)
	specsByID map[string]setupSpec
}

type setupEntry struct {
	setupSpec
	Mode         string   `json:"mode"`
	StartCPUSec  float64  `json:"start_cpu_s,omitempty"`
	StartWallSec float64  `json:"start_wall_s,omitempty"`
	Error        string   `json:"error,omitempty"`
	Notes        []string `json:"notes,omitempty"`
}

func runKey(wl, mode, id string) string { return wl + "/" + mode + "/" + id }

// run is the run of setup id in a workload and mode; (d)'s whatever the
// mode.
func (r *report) run(wl, mode, id string) *runResult {
	if sp, ok := r.specsByID[id]; ok && sp.Kind == kindNode {
		mode = modeOwn
	}
	return r.runsByKey[runKey(wl, mode, id)]
}

func buildReport(b *bench, m machine, specs []setupSpec, results []setupResult, fp []footprintResult, start time.Time) *report {
	r := &report{
		Date:    start.Format(time.RFC3339),
		Machine: m,
		Params: params{
			Duration:      b.duration.String(),
			Warmup:        b.warmup.String(),
			Connections:   b.connections,
			Threads:       b.threads,
			FreshTokens:   b.freshTokens,
			EnvoyWorker:   1,
			UpstreamModes: b.modes,
		},
		started:   start,
		results:   results,
		modes:     b.modes,
		refMode:   b.modes[0],
		runsByKey: map[string]*runResult{},
		specsByID: map[string]setupSpec{},
	}
	if slices.Contains(b.modes, modeGo) {
		r.refMode = modeGo
	}
	if len(fp) > 0 {
		r.Params.FootprintSetups = b.fpSetups
		r.Params.FootprintConcurrency = b.fpConcurrency
		r.Params.FootprintRepeats = b.fpRepeats
		r.Params.FootprintLoad = b.fpLoad.String()
		r.Params.FootprintPoll = footprintPoll.String()
	}
	r.Method = method(b, m)
	for _, sp := range specs {
		r.specsByID[sp.ID] = sp
	}
	for _, res := range results {
		r.Setups = append(r.Setups, setupEntry{setupSpec: res.Spec, Mode: res.Mode, StartCPUSec: res.StartCPUSec,
			StartWallSec: res.StartWallSec, Error: res.Error, Notes: res.Notes})
		for _, wl := range workloads {
			if run := res.Runs[wl]; run != nil {
				r.Runs = append(r.Runs, run)
				r.runsByKey[runKey(wl, res.Mode, res.Spec.ID)] = run
			}
		}
	}
	r.cpuDeltas()
	r.ratios()
	r.targets()
	r.Footprint = fp
	r.footprintSummary()
	r.ElapsedSec = time.Since(start).Seconds()
	return r
}

// cpuDeltas sets each Envoy run's CPU per request over (a)'s, and for the
// edgejwt setups over (n)'s, in the same mode and workload.
func (r *report) cpuDeltas() {
	for _, run := range r.Runs {
		if run.Mode == modeOwn || run.Requests == 0 {
			continue
		}
		if a := r.runsByKey[runKey(run.Workload, run.Mode, "a")]; a != nil && run.Setup != "a" && a.Requests > 0 {
			d := run.CPUUsPerReq - a.CPUUsPerReq
			run.OverA = &d
		}
		if sp := r.specsByID[run.Setup]; sp.Kind == kindEdgejwt {
			if n := r.runsByKey[runKey(run.Workload, run.Mode, "n")]; n != nil && n.Requests > 0 {
				d := run.CPUUsPerReq - n.CPUUsPerReq
				run.OverN = &d
			}
		}
	}
}

// ratioRefs are the setups every other one is compared with.
var ratioRefs = []string{"a", "b", "b2"}

// ratios compares every run with (a), (b) and (b2) in the same workload
// and mode; (d)'s runs with the reference mode's.
func (r *report) ratios() {
	for _, wl := range workloads {
		for _, res := range r.results {
			run := res.Runs[wl]
			if run == nil || res.Spec.ID == "a" {
				continue
			}
			mode := res.Mode
			if mode == modeOwn {
				mode = r.refMode
			}
			for _, ref := range ratioRefs {
				rr := r.runsByKey[runKey(wl, mode, ref)]
				if rr == nil || rr.ReqPerSec == 0 || ref == res.Spec.ID {
					continue
				}
				ra := ratio{Workload: wl, Mode: res.Mode, Setup: res.Spec.ID, Ref: ref, ReqPerS: run.ReqPerSec / rr.ReqPerSec}
				if rr.CPUMsPer1k > 0 {
					ra.CPUPer1k = run.CPUMsPer1k / rr.CPUMsPer1k
				}
				r.Ratios = append(r.Ratios, ra)
			}
		}
	}
}

// targets are issue 5's goals for every edgejwt setup, judged in the
// reference mode (go when it ran: the setting, an upstream behind
// Envoy).
func (r *report) targets() {
	goals := []struct {
		wl, ref string
		want    float64
	}{
		{wlRepeated, "b", 1.0}, {wlRepeated, "b2", 1.0}, {wlRepeated, "a", 0.9}, {wlRepeated, "d", 5},
		{wlFresh, "b", 0.5}, {wlFresh, "b2", 0.5}, {wlFresh, "d", 5},
	}
	for _, res := range r.results {
		if res.Spec.Kind != kindEdgejwt || res.Mode != r.refMode {
			continue
		}
		for _, g := range goals {
			if _, ok := r.specsByID[g.ref]; !ok {
				continue // reference setup not run
			}
			t := target{Workload: g.wl, Mode: res.Mode, Setup: res.Spec.ID, Ref: g.ref, Want: g.want, Status: "n/a"}
			run, ref := res.Runs[g.wl], r.run(g.wl, r.refMode, g.ref)
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
}

// footprintSummary sets the medians and ranges, RSS over (a), and judges
// the footprint targets at --concurrency 1.
func (r *report) footprintSummary() {
	find := func(id string, conc int) *footprintResult {
		for i := range r.Footprint {
			if f := &r.Footprint[i]; f.Setup == id && f.Concurrency == conc {
				return f
			}
		}
		return nil
	}
	for i := range r.Footprint {
		f := &r.Footprint[i]
		f.StartCPU = summarize(f.StartCPUSec)
		f.StartWall = summarize(f.StartWallSec)
		f.ReadyRSS = summarize(f.ReadyRSSMB)
		if a := find("a", f.Concurrency); a != nil && f.Setup != "a" && a.LoadRSSMB > 0 && f.LoadRSSMB > 0 {
			d := f.LoadRSSMB - a.LoadRSSMB
			f.OverAMB = &d
		}
	}
	for _, g := range footprintGoals {
		f := find(g.setup, 1)
		if f == nil {
			continue
		}
		t := footprintTarget{Setup: g.setup, What: g.what, Want: g.want, Status: "n/a"}
		switch g.what {
		case "start_cpu_s":
			if n := find("n", 1); f.StartCPU.N > 0 && n != nil && n.StartCPU.N > 0 && n.StartCPU.Median > 0 {
				t.Got = f.StartCPU.Median
				t.Ratio = f.StartCPU.Median / n.StartCPU.Median
				t.WantRatio = g.want / referenceNoopStartCPU
				t.Status = metOrMissed(t.Ratio <= t.WantRatio)
			}
		case "rss_over_a_mb":
			if f.OverAMB != nil {
				t.Got = *f.OverAMB
				t.Status = metOrMissed(t.Got <= g.want)
			}
		}
		r.FootprintTargets = append(r.FootprintTargets, t)
	}
}

func metOrMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func hasErrors(r *runResult) bool { return r.Non2xx > 0 || r.SocketErrors > 0 }

func (r *report) setupLabel(id string) string {
	sp := r.specsByID[id]
	name := sp.Name
	if name == "" {
		name = builtinSpecs[id].Name
	}
	if len(name) > 44 {
		name = name[:41] + "..."
	}
	return id + "  " + name
}

// method describes how the figures were made (the results files carry it).
func method(b *bench, m machine) []string {
	out := []string{
		"Throughput phase: Envoy runs with --concurrency 1 (one worker thread) and Node is one process with one event loop, so every figure is per core.",
		"Pinning: " + m.Pinning + ".",
		fmt.Sprintf("Load: wrk -t%d -c%d, %v per measured run, after a %v warm-up of each setup with the repeated token (JWKS fetched, caches primed, JIT warm). The fresh-token run follows the repeated-token run on the same server process. Every request goes through the same wrk Lua script. Runs have a fixed duration, not a fixed request count: wrk's main thread sleeps for the whole -d even when a script stops its threads early, so a count-bounded wrk run would misstate req/s.",
			b.threads, b.connections, b.duration, b.warmup),
		fmt.Sprintf("Fresh tokens: %d distinct RS256 tokens minted before anything runs; a run that sends more requests starts again at the first token, so a token comes back only after %d others (flagged TOKENS-REUSED).", b.freshTokens, b.freshTokens),
		"Upstream modes (" + strings.Join(b.modes, ", ") + "), each Envoy setup started once per mode, all setups of a mode one after the other: go = the route goes to a Go net/http upstream (GOMAXPROCS=1) on the load CPU answering 200 with a small JSON body naming the sub the filter forwarded (its CPU is not in the server's figures: upstream_cpu_ms_per_1k_req in the JSON); direct = the route is Envoy's direct_response (200, a small JSON body), no upstream, so that between the Envoy setups nothing but the auth filter differs. (d) is the upstream itself (it answers 200 with the verified claims, as the seed does): it has no mode and runs once, and is compared with the other setups' " + modeGo + " runs (or the first mode's).",
		"Checks in b, b2, c, c2, p, p2, r and d: RS256 signature with the issuer's JWKS (fetched over HTTP from 127.0.0.1), iss, aud, exp required. Before measuring, each setup must answer 200 to the valid token and 401 to a forged token and to none; in the go mode (and d) the 200 must also show the token's sub, i.e. the claims reached the application; in the direct mode only the status codes can be checked. a and n have no auth: 200 to all three.",
		"(b) jwt_authn: remote_jwks through a cluster (cache_duration 600s), issuer, audiences, require_expiration, forward false, forward_payload_header x-jwt-payload, claim_to_headers sub and roles, like (c); jwt_cache_config left unset, as operators get it. Envoy then has NO verified-token cache: it creates the cache only when the field is present (jwks_cache.cc: enable_jwt_cache = has_jwt_cache_config()), and the jwt_cache_miss counter of (b) counts every request. (b2) is the same with jwt_cache_config {jwt_cache_size: 100}: the cache on, 100 tokens of up to 4096 bytes per worker.",
		"(n) is bench/noop: a proxy-wasm filter written with proxy-wasm-go-sdk v0.24.0 whose OnHttpRequestHeaders returns Continue and does nothing else, built by cmd/wasmbuild with the same binding and flags as the filter: what any upstream-Go Wasm filter costs here. (c2) is (c) with \"hostCrypto\": true; (r) is (c)'s configuration with the RSA-only build (build/edgejwt-rsa.wasm). (p) is (c) with \"dpop\": {\"mode\": \"required\", \"algorithms\": [\"ES256\"]}: every request carries a DPoP-bound token (cnf.jkt) in Authorization: DPoP and a fresh ES256 proof in DPoP (made before the run, one per request, never reused: the replay cache is in the measured path), so the repeated workload is the token cache plus a proof check per request; (p2) is (p) with \"hostCrypto\": true.",
		"CPU: user+system time of the server process, all threads, over the measured run (/proc/<pid>/stat), as CPU-us per request (the same number as CPU-ms per 1000 requests) and as % of one core; \"over a\" is the CPU-us per request above (a)'s in the same mode and workload, \"over n\" (edgejwt setups) above the no-op filter's. Peak RSS: VmHWM of the server process, reset before each run (clear_refs), so it is the run's peak.",
		"The machine may be shared with other work: other_processes_cores (JSON, and the NOISY flag above 0.25) is the CPU used by processes outside the benchmark during each run. Figures are indicative.",
	}
	if len(b.fpSetups) > 0 {
		out = append(out, fmt.Sprintf("Footprint phase: setups %s at --concurrency %s, each started %d times in interleaved rounds, in the direct mode, pinned like the throughput phase. Start-up CPU: Envoy's user+system CPU time (/proc/<pid>/stat, all threads) from exec to the first 200 of admin /ready, polled every %v; the wall time is from the start (func-e included) to then. RSS ready: VmRSS at that moment. After the last start, the repeated-token workload for %v (wrk as above), then VmRSS and VmHWM (the peak since the process started, compile included). Wasm VMs: Envoy's wasm.envoy.wasm.runtime.v8.active gauge and .created counter. The targets are judged at --concurrency 1 on the median start-up CPU and on RSS after load minus (a)'s.",
			strings.Join(b.fpSetups, ", "), joinInts(b.fpConcurrency), b.fpRepeats, footprintPoll, b.fpLoad))
	}
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
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
