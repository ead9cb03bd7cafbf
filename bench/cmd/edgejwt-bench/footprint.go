package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// footprintPoll is how often the footprint phase polls /ready: the start-up
// CPU time is read at the first 200.
const footprintPoll = 20 * time.Millisecond

// footprintResult is one setup at one --concurrency in the footprint phase.
type footprintResult struct {
	Setup       string `json:"setup"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Module      string `json:"module,omitempty"`
	ModuleBytes int64  `json:"module_bytes,omitempty"`
	Concurrency int    `json:"concurrency"`

	// One entry per start: Envoy's CPU time (user+system, all threads)
	// from exec to the first 200 of /ready, the wall time from the start
	// to then, and VmRSS at that moment.
	StartCPUSec  []float64 `json:"start_cpu_s"`
	StartWallSec []float64 `json:"start_wall_s"`
	ReadyRSSMB   []float64 `json:"ready_rss_mb"`

	// Wasm VM counts from /stats (wasm.envoy.wasm.runtime.v8.*), right after
	// ready and after the load run.
	VMStatsReady map[string]int64 `json:"wasm_vm_stats_ready,omitempty"`
	VMStatsLoad  map[string]int64 `json:"wasm_vm_stats_after_load,omitempty"`

	// After the load run (the last start's): VmRSS, and VmHWM (the peak
	// since the process started, compile included).
	LoadRequests  int64   `json:"load_requests"`
	LoadReqPerSec float64 `json:"load_req_per_s"`
	LoadErrors    int64   `json:"load_errors"`
	LoadRSSMB     float64 `json:"rss_after_load_mb"`
	LoadPeakMB    float64 `json:"peak_rss_after_load_mb"`

	Error string `json:"error,omitempty"`

	// Summaries, set by the report.
	StartCPU  summary  `json:"start_cpu_summary_s"`
	StartWall summary  `json:"start_wall_summary_s"`
	ReadyRSS  summary  `json:"ready_rss_summary_mb"`
	OverAMB   *float64 `json:"rss_after_load_over_a_mb,omitempty"`
}

// summary is the median and range of a few measurements.
type summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{N: len(s), Median: m, Min: s[0], Max: s[len(s)-1]}
}

// vmStatsFilter picks the Wasm VM counts from /stats.
const vmStatsFilter = `wasm\.envoy\.wasm\.runtime\.|wasm_vm_count`

// footprint is the footprint phase: each setup, at each concurrency, is
// started fpRepeats times (in rounds, the setups interleaved, so that a
// noisy moment does not hit one setup only); each start gives the start-up
// CPU, wall time and RSS; the last start of each also runs the
// repeated-token workload for fpLoad through the direct mode, then reads RSS
// and peak RSS.
func (b *bench) footprint(specs []setupSpec) []footprintResult {
	var out []footprintResult
	for _, conc := range b.fpConcurrency {
		res := make([]footprintResult, len(specs))
		for i, sp := range specs {
			res[i] = footprintResult{Setup: sp.ID, Name: sp.Name, Kind: sp.Kind, Module: sp.Module, Concurrency: conc}
			if sp.isWasm() {
				if fi, err := os.Stat(b.modulePath(sp)); err == nil {
					res[i].ModuleBytes = fi.Size()
				}
			}
		}
		for rep := 0; rep < b.fpRepeats; rep++ {
			last := rep == b.fpRepeats-1
			for i, sp := range specs {
				if res[i].Error != "" {
					continue
				}
				logf("footprint %s --concurrency %d: start %d of %d", sp.ID, conc, rep+1, b.fpRepeats)
				if err := b.footprintStart(&res[i], sp, conc, last); err != nil {
					res[i].Error = err.Error()
					logf("footprint %s --concurrency %d: %s", sp.ID, conc, firstLine(err.Error(), 300))
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		out = append(out, res...)
	}
	return out
}

// footprintStart starts one Envoy of the footprint phase, in the direct
// mode, records its start-up, and when load is set also runs the load and
// records the memory after it.
func (b *bench) footprintStart(r *footprintResult, sp setupSpec, conc int, load bool) error {
	s, err := b.startEnvoy(envoyStart{spec: sp, mode: modeDirect, concurrency: conc, poll: footprintPoll})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer s.stop()
	r.StartCPUSec = append(r.StartCPUSec, s.startCPUSec)
	r.StartWallSec = append(r.StartWallSec, s.startWallSec)
	r.ReadyRSSMB = append(r.ReadyRSSMB, float64(s.readyRSSKB)/1024)
	logf("footprint %s --concurrency %d: %.2f s CPU to ready (%.2f s wall), RSS %.0f MB",
		sp.ID, conc, s.startCPUSec, s.startWallSec, float64(s.readyRSSKB)/1024)
	if r.VMStatsReady == nil && sp.isWasm() {
		r.VMStatsReady, _ = envoyStats(s.admin, "", vmStatsFilter)
	}
	if !load {
		return nil
	}
	if err := b.check(s, sp, modeDirect); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	w, _, err := b.runWrk(s.url, b.repeatedFile, b.fpLoad)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	r.LoadRequests = w.Requests
	if w.DurationUS > 0 {
		r.LoadReqPerSec = float64(w.Requests) / (float64(w.DurationUS) / 1e6)
	}
	r.LoadErrors = w.StatusErrors + w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.Timeouts
	rss, err := procStatusKB(s.pid, "VmRSS")
	if err != nil {
		return err
	}
	hwm, err := procStatusKB(s.pid, "VmHWM")
	if err != nil {
		return err
	}
	r.LoadRSSMB, r.LoadPeakMB = float64(rss)/1024, float64(hwm)/1024
	if sp.isWasm() {
		r.VMStatsLoad, _ = envoyStats(s.admin, "", vmStatsFilter)
	}
	logf("footprint %s --concurrency %d: after %d requests: RSS %.0f MB, peak %.0f MB",
		sp.ID, conc, w.Requests, r.LoadRSSMB, r.LoadPeakMB)
	return nil
}

// vmCount is the active and created Wasm VMs of a /stats reading, -1 when
// absent.
func vmCount(stats map[string]int64) (active, created int64) {
	active, created = -1, -1
	for k, v := range stats {
		switch {
		case strings.HasPrefix(k, "wasm.envoy.wasm.runtime.") && strings.HasSuffix(k, ".active"):
			active = v
		case strings.HasPrefix(k, "wasm.envoy.wasm.runtime.") && strings.HasSuffix(k, ".created"):
			created = v
		}
	}
	return active, created
}

// footprintTarget is one of the start-up and memory targets, judged
// at --concurrency 1.
type footprintTarget struct {
	Setup  string  `json:"setup"`
	What   string  `json:"what"` // start_cpu_s, rss_over_a_mb
	Want   float64 `json:"want_at_most"`
	Got    float64 `json:"got"`
	Status string  `json:"status"` // met, missed, n/a
	// For start-up CPU: the ratio to (n) in this run, and the ratio the
	// target means (Want / referenceNoopStartCPU), which decides Status.
	Ratio     float64 `json:"ratio_to_noop,omitempty"`
	WantRatio float64 `json:"want_ratio_to_noop,omitempty"`
}

// footprintGoals are issue 9's targets: the RSA-only build at most 4.5 s of
// CPU to ready and +110 MB of RSS over no auth after load; the default build
// 6.5 s and +135 MB. The seconds were set on a machine where the no-op Go
// filter (n) took referenceNoopStartCPU to start; compile time scales with
// the machine, so start-up is judged as a ratio to (n) in the same run:
// want/referenceNoopStartCPU. RSS does not scale with CPU speed and is
// judged as it is.
var footprintGoals = []struct {
	setup, what string
	want        float64
}{
	{"r", "start_cpu_s", 4.5}, {"r", "rss_over_a_mb", 110},
	{"c", "start_cpu_s", 6.5}, {"c", "rss_over_a_mb", 135},
}

// referenceNoopStartCPU is the no-op filter's start-up CPU (seconds) on the
// machine of the targets (2.3-2.6 s measured there).
const referenceNoopStartCPU = 2.45
