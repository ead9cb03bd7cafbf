package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// setupResult is what one setup gave in one upstream mode.
type setupResult struct {
	Spec  setupSpec
	Mode  string                // go, direct; own for (d)
	Error string                // the setup could not be started or failed its checks
	Runs  map[string]*runResult // by workload
	Notes []string
	// Envoy's start: CPU from exec to the first 200 of /ready and the wall
	// time to then (0 for Node).
	StartCPUSec, StartWallSec float64
}

// runSetup starts one setup in one mode, checks it, warms it up, measures
// both workloads and stops it.
func (b *bench) runSetup(sp setupSpec, mode string) setupResult {
	res := setupResult{Spec: sp, Mode: mode, Runs: map[string]*runResult{}}
	var s *server
	var err error
	t0 := time.Now()
	if sp.Kind == kindNode {
		s, err = b.startNode()
	} else {
		s, err = b.startEnvoy(envoyStart{spec: sp, mode: mode})
	}
	if err != nil {
		res.Error = "start: " + err.Error()
		logf("setup %s: %s", sp.ID, res.Error)
		return res
	}
	defer s.stop()
	res.StartCPUSec, res.StartWallSec = s.startCPUSec, s.startWallSec
	logf("setup %s: up in %v (pid %d; %.2f s of CPU to ready)", sp.ID, time.Since(t0).Round(100*time.Millisecond), s.pid, s.startCPUSec)

	if err := b.check(s, sp, mode); err != nil {
		res.Error = "check: " + err.Error()
		logf("setup %s: %s\n%s", sp.ID, res.Error, tail(s.logPath, 20))
		return res
	}
	if b.warmup > 0 {
		file := b.repeatedFile
		if sp.DPoP {
			if file, err = b.dpopFile(s.url, wlRepeated); err != nil {
				res.Error = "warm-up: " + err.Error()
				return res
			}
		}
		w, _, err := b.runWrk(s.url, file, b.warmup)
		if err != nil {
			res.Error = "warm-up: " + err.Error()
			return res
		}
		if bad := w.StatusErrors + w.ConnectErrors + w.ReadErrors + w.WriteErrors + w.Timeouts; bad > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("warm-up had %d errors in %d requests", bad, w.Requests))
		}
	}
	for _, wl := range workloads {
		r, err := b.measure(s, sp, mode, wl)
		if err != nil {
			res.Error = wl + ": " + err.Error()
			logf("setup %s: %s", sp.ID, res.Error)
			return res
		}
		res.Runs[wl] = r
		logf("setup %s %-6s %-8s %9.0f req/s  p50 %.2f ms  p99 %.2f ms  %.1f CPU-us/req  %s",
			sp.ID, mode, wl, r.ReqPerSec, r.P50Ms, r.P99Ms, r.CPUUsPerReq, strings.Join(r.Flags, " "))
		time.Sleep(500 * time.Millisecond)
	}
	return res
}

// runResult is one measured run: one setup, one upstream mode, one
// workload.
type runResult struct {
	Setup    string `json:"setup"`
	Mode     string `json:"mode"` // go, direct; own for (d)
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

	ServerCPUSec float64 `json:"server_cpu_s"`
	CPUMsPer1k   float64 `json:"server_cpu_ms_per_1k_req"`
	// CPUUsPerReq is the same figure as CPU-us per request; OverA is what
	// it adds over (a) in the same mode and workload, OverN (edgejwt
	// setups) over (n), the no-op Go filter. Set by the report.
	CPUUsPerReq   float64  `json:"server_cpu_us_per_req"`
	OverA         *float64 `json:"server_cpu_us_per_req_over_a,omitempty"`
	OverN         *float64 `json:"server_cpu_us_per_req_over_n,omitempty"`
	ServerCorePct float64  `json:"server_core_pct"`
	PeakRSSMB     float64  `json:"server_peak_rss_mb"`
	PeakRSSScope  string   `json:"server_peak_rss_scope"` // "run" (VmHWM reset before the run) or "process"

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

// statsFilter picks the auth filters' stats and the Wasm VM counts from
// Envoy's /stats.
const statsFilter = `jwt_authn|wasmcustom\.edgejwt|wasm\.envoy\.wasm\.runtime|wasm_vm_count`

// measure runs one workload against a started, warmed-up setup.
func (b *bench) measure(s *server, sp setupSpec, mode, wl string) (*runResult, error) {
	file, distinct := b.repeatedFile, 1
	if wl == wlFresh {
		file, distinct = b.freshFile, b.freshTokens
	}
	if sp.DPoP {
		// A proof is good for one request: a new file of them per run.
		var err error
		if file, err = b.dpopFile(s.url, wl); err != nil {
			return nil, err
		}
	}
	r := &runResult{Setup: sp.ID, Mode: mode, Workload: wl, DistinctTokens: distinct, PeakRSSScope: "run"}

	var statsBefore map[string]int64
	if s.admin != "" {
		statsBefore, _ = envoyStats(s.admin, "Counters", statsFilter)
	}
	if err := resetPeakRSS(s.pid); err != nil {
		r.PeakRSSScope = "process"
	}
	cpu0, err := procCPU(s.pid)
	if err != nil {
		return nil, err
	}
	up0, _ := b.upstreamCPU(mode)
	self0, _ := procCPU(os.Getpid())
	sys0, _ := readCPUTimes()

	w, wrkCPU, err := b.runWrk(s.url, file, b.duration)
	if err != nil {
		return nil, err
	}

	sys1, _ := readCPUTimes()
	self1, _ := procCPU(os.Getpid())
	up1, _ := b.upstreamCPU(mode)
	cpu1, err := procCPU(s.pid)
	if err != nil {
		return nil, err
	}
	hwm, _ := procStatusKB(s.pid, "VmHWM")
	if s.admin != "" {
		if after, err := envoyStats(s.admin, "Counters", statsFilter); err == nil {
			r.Stats = map[string]int64{}
			for k, v := range after {
				if d := v - statsBefore[k]; d != 0 {
					r.Stats[k] = d
				}
			}
		}
		r.Gauges, _ = envoyStats(s.admin, "Gauges", statsFilter)
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
		r.CPUUsPerReq = r.ServerCPUSec * 1e6 / float64(w.Requests)
		if mode == modeGo && b.upstreamPID != 0 {
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
	if wl == wlFresh && sp.checksTokens() && r.MaxUsesPerToken > 1 {
		r.Flags = append(r.Flags, fmt.Sprintf("TOKENS-REUSED:x%d", r.MaxUsesPerToken))
	}
	return r, nil
}

// upstreamCPU is the Go upstream's CPU time, in the go mode.
func (b *bench) upstreamCPU(mode string) (float64, error) {
	if mode != modeGo || b.upstreamPID == 0 {
		return 0, nil
	}
	return procCPU(b.upstreamPID)
}
