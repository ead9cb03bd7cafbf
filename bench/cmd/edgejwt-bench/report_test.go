package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeRun is a run with the given req/s and CPU-us per request.
func fakeRun(id, mode, wl string, rps, cpuUs float64) *runResult {
	return &runResult{Setup: id, Mode: mode, Workload: wl, Requests: int64(rps * 6), ReqPerSec: rps,
		CPUUsPerReq: cpuUs, CPUMsPer1k: cpuUs, P50Ms: 1, P99Ms: 2}
}

func fakeReport(t *testing.T) *report {
	t.Helper()
	b := &bench{modes: []string{modeGo, modeDirect}, duration: 6 * time.Second, warmup: 2 * time.Second,
		connections: 16, threads: 1, freshTokens: 100, fpSetups: []string{"a", "n", "c", "r"},
		fpConcurrency: []int{1, 4}, fpRepeats: 3, fpLoad: 8 * time.Second}
	specs, err := b.specs("a,n,b,b2,c,r,d", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cpu := map[string]float64{"a": 20, "n": 30, "b": 60, "b2": 25, "c": 50, "r": 48, "d": 250}
	var results []setupResult
	for _, mode := range b.modes {
		for _, sp := range specs {
			m := mode
			if sp.Kind == kindNode {
				if mode != modeGo {
					continue
				}
				m = modeOwn
			}
			res := setupResult{Spec: sp, Mode: m, Runs: map[string]*runResult{}}
			for _, wl := range workloads {
				c := cpu[sp.ID]
				if mode == modeDirect {
					c -= 5 // no upstream connection
				}
				if wl == wlFresh && sp.checksTokens() {
					c *= 2
				}
				res.Runs[wl] = fakeRun(sp.ID, m, wl, 1e6/c, c)
			}
			results = append(results, res)
		}
	}
	mod := map[string]int64{"n": 2_300_000, "c": 5_900_000, "r": 4_100_000}
	startCPU := map[string][]float64{"a": {0.06, 0.05, 0.07}, "n": {5.5, 5.7, 5.6}, "c": {6.0, 6.4, 9.0}, "r": {4.0, 4.4, 4.2}}
	rss := map[string]float64{"a": 60, "n": 140, "c": 200, "r": 165}
	var fp []footprintResult
	for _, conc := range b.fpConcurrency {
		for _, id := range b.fpSetups {
			f := footprintResult{Setup: id, Concurrency: conc, ModuleBytes: mod[id], ReadyRSSMB: []float64{1, 2, 3}, StartWallSec: []float64{1, 1, 1}}
			for _, c := range startCPU[id] {
				f.StartCPUSec = append(f.StartCPUSec, c+0.1*float64(conc-1))
			}
			f.LoadRSSMB = rss[id] + 5*float64(conc-1)
			f.LoadPeakMB = f.LoadRSSMB + 10
			if id != "a" {
				f.VMStatsReady = map[string]int64{"wasm.envoy.wasm.runtime.v8.active": int64(conc + 2), "wasm.envoy.wasm.runtime.v8.created": int64(conc + 3)}
			}
			fp = append(fp, f)
		}
	}
	return buildReport(b, machine{GitCommit: "abc1234", Pinning: "none"}, specs, results, fp, time.Now())
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestReportDeltasAndRatios(t *testing.T) {
	r := fakeReport(t)
	if r.refMode != modeGo {
		t.Fatalf("refMode %s", r.refMode)
	}
	c := r.runsByKey[runKey(wlRepeated, modeDirect, "c")]
	if c.OverA == nil || !near(*c.OverA, 30) || c.OverN == nil || !near(*c.OverN, 20) {
		t.Errorf("c direct repeated: over a %v, over n %v; want 30 and 20", c.OverA, c.OverN)
	}
	if n := r.runsByKey[runKey(wlRepeated, modeGo, "n")]; n.OverA == nil || !near(*n.OverA, 10) || n.OverN != nil {
		t.Errorf("n go: over a %v, over n %v", n.OverA, n.OverN)
	}
	if b := r.runsByKey[runKey(wlFresh, modeGo, "b")]; b.OverN != nil || b.OverA == nil || !near(*b.OverA, 100) {
		t.Errorf("b fresh go: over a %v, over n %v", b.OverA, b.OverN)
	}
	if a := r.runsByKey[runKey(wlRepeated, modeGo, "a")]; a.OverA != nil {
		t.Errorf("a over itself: %v", *a.OverA)
	}
	if d := r.run(wlRepeated, modeDirect, "d"); d == nil || d.Mode != modeOwn || d.OverA != nil {
		t.Errorf("d: %+v", d)
	}
	var dRatio, cDirect bool
	for _, ra := range r.Ratios {
		if ra.Setup == "d" && ra.Ref == "a" && ra.Workload == wlRepeated {
			dRatio = near(ra.CPUPer1k, 250.0/20)
		}
		if ra.Setup == "c" && ra.Ref == "b2" && ra.Mode == modeDirect && ra.Workload == wlRepeated {
			cDirect = near(ra.CPUPer1k, 45.0/20)
		}
	}
	if !dRatio || !cDirect {
		t.Errorf("ratios: d vs a in the go mode %v, c vs b2 in the direct mode %v: %+v", dRatio, cDirect, r.Ratios)
	}
	for _, tg := range r.Targets {
		if tg.Mode != modeGo || (tg.Setup != "c" && tg.Setup != "r") {
			t.Errorf("target %+v: want go-mode targets of c and r only", tg)
		}
	}
	if len(r.Targets) != 2*7 {
		t.Errorf("%d targets, want 14", len(r.Targets))
	}
}

func TestReportFootprint(t *testing.T) {
	r := fakeReport(t)
	var c1 *footprintResult
	for i := range r.Footprint {
		if f := &r.Footprint[i]; f.Setup == "c" && f.Concurrency == 1 {
			c1 = f
		}
	}
	if c1 == nil || c1.StartCPU != (summary{N: 3, Median: 6.4, Min: 6.0, Max: 9.0}) || c1.OverAMB == nil || !near(*c1.OverAMB, 140) {
		t.Fatalf("c at 1: %+v", c1)
	}
	want := map[string]string{"r start_cpu_s": "met", "r rss_over_a_mb": "met", "c start_cpu_s": "met", "c rss_over_a_mb": "missed"}
	if len(r.FootprintTargets) != len(want) {
		t.Errorf("targets %+v", r.FootprintTargets)
	}
	for _, tg := range r.FootprintTargets {
		if w := want[tg.Setup+" "+tg.What]; tg.Status != w {
			t.Errorf("%s %s: %s (got %v), want %s", tg.Setup, tg.What, tg.Status, tg.Got, w)
		}
	}
	ws := r.workerSection()
	if len(ws.rows) != 4 {
		t.Fatalf("worker rows %v", ws.rows)
	}
	for _, row := range ws.rows {
		if strings.HasPrefix(row[0], "c ") && (row[1] != "+0.10" || row[2] != "+5.0" || row[3] != "+1.0") {
			t.Errorf("per worker row %v", row)
		}
	}
}

func TestReportOutput(t *testing.T) {
	r := fakeReport(t)
	var out strings.Builder
	r.print(&out)
	text := out.String()
	for _, s := range []string{"over a", "over n", "own*", ownNote, "direct", "footprint", "start-up CPU s", "6.40 [6.00-9.00]",
		"footprint targets", "MISSED", "5.90", "6 (7 created)", "per worker"} {
		if !strings.Contains(text, s) {
			t.Errorf("printed report lacks %q", s)
		}
	}
	var md strings.Builder
	r.markdown(&md)
	for _, s := range []string{"| workload | mode | setup | req/s |", "## Footprint", "### Footprint targets", "| c  Envoy + edgejwt |"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown lacks %q", s)
		}
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"server_cpu_us_per_req_over_n":20`, `"mode":"direct"`, `"footprint_targets"`, `"start_cpu_summary_s"`} {
		if !strings.Contains(string(js), s) {
			t.Errorf("JSON lacks %s", s)
		}
	}
}

func TestSummarize(t *testing.T) {
	if s := summarize([]float64{3, 1, 2}); s != (summary{N: 3, Median: 2, Min: 1, Max: 3}) {
		t.Errorf("odd: %+v", s)
	}
	if s := summarize([]float64{4, 1, 2, 3}); s != (summary{N: 4, Median: 2.5, Min: 1, Max: 4}) {
		t.Errorf("even: %+v", s)
	}
	if s := summarize(nil); s.N != 0 {
		t.Errorf("empty: %+v", s)
	}
	if a, c := vmCount(map[string]int64{"wasm.envoy.wasm.runtime.v8.active": 3, "wasm.envoy.wasm.runtime.v8.created": 4, "wasm.wasm_vm_count": 3}); a != 3 || c != 4 {
		t.Errorf("vmCount = %d, %d", a, c)
	}
	if a, _ := vmCount(nil); a != -1 {
		t.Errorf("vmCount(nil) = %d", a)
	}
}
