package main

import (
	"fmt"
	"io"
	"strings"
)

// section is one table of the report, printed aligned on the terminal and
// as a Markdown table in the results file.
type section struct {
	header []string
	right  []bool // right-aligned (numeric) columns
	rows   [][]string
}

func (s *section) add(cells ...string) { s.rows = append(s.rows, cells) }

func (s *section) print(w io.Writer) {
	t := &table{right: s.right}
	t.add(s.header...)
	for _, r := range s.rows {
		t.add(r...)
	}
	t.print(w)
}

func (s *section) markdown(w io.Writer) {
	fmt.Fprintf(w, "| %s |\n|", strings.Join(s.header, " | "))
	for i := range s.header {
		if i < len(s.right) && s.right[i] {
			fmt.Fprint(w, "--:|")
		} else {
			fmt.Fprint(w, "---|")
		}
	}
	fmt.Fprintln(w)
	for _, r := range s.rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = mdEscape(c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// modeLabel is how a mode shows in the tables.
func modeLabel(mode string) string {
	if mode == modeOwn {
		return "own*"
	}
	return mode
}

// ownNote explains (d)'s mode under the tables that show it.
const ownNote = "* (d), the Node service, is its own upstream: it has no go or direct mode and runs once."

// resultsSection is the main table: every run.
func (r *report) resultsSection() *section {
	s := &section{
		header: []string{"workload", "mode", "setup", "req/s", "p50 ms", "p99 ms", "CPU-us/req", "over a", "over n", "core %", "peak RSS MB", "errors", "flags"},
		right:  []bool{false, false, false, true, true, true, true, true, true, true, true, true, false},
	}
	for _, wl := range workloads {
		for _, res := range r.results {
			run := res.Runs[wl]
			label := r.setupLabel(res.Spec.ID)
			if run == nil {
				msg := res.Error
				if msg == "" {
					msg = "not run"
				}
				s.add(wl, modeLabel(res.Mode), label, "-", "-", "-", "-", "-", "-", "-", "-", "-", "FAILED: "+firstLine(msg, 80))
				continue
			}
			s.add(wl, modeLabel(res.Mode), label, thousands(run.ReqPerSec), fmt.Sprintf("%.2f", run.P50Ms), fmt.Sprintf("%.2f", run.P99Ms),
				fmt.Sprintf("%.1f", run.CPUUsPerReq), signed(run.OverA), signed(run.OverN), fmt.Sprintf("%.0f", run.ServerCorePct),
				fmt.Sprintf("%.1f", run.PeakRSSMB), fmt.Sprint(run.Non2xx+run.SocketErrors), strings.Join(run.Flags, " "))
		}
	}
	return s
}

// signed renders a difference with its sign, "-" when absent.
func signed(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f", *v)
}

func (r *report) ratiosSection() *section {
	s := &section{
		header: []string{"workload", "mode", "setup", "vs a (no auth)", "vs b (jwt_authn)", "vs b2 (jwt_authn+cache)"},
		right:  []bool{false, false, false, true, true, true},
	}
	for _, wl := range workloads {
		for _, res := range r.results {
			id := res.Spec.ID
			if id == "a" || res.Runs[wl] == nil {
				continue
			}
			s.add(wl, modeLabel(res.Mode), r.setupLabel(id), r.ratioCell(wl, res.Mode, id, "a"), r.ratioCell(wl, res.Mode, id, "b"), r.ratioCell(wl, res.Mode, id, "b2"))
		}
	}
	return s
}

func (r *report) ratioCell(wl, mode, id, ref string) string {
	if id == ref {
		return "-"
	}
	for _, ra := range r.Ratios {
		if ra.Workload == wl && ra.Mode == mode && ra.Setup == id && ra.Ref == ref {
			if ra.CPUPer1k > 0 {
				return fmt.Sprintf("%.2fx (%.2fx)", ra.ReqPerS, ra.CPUPer1k)
			}
			return fmt.Sprintf("%.2fx", ra.ReqPerS)
		}
	}
	return "n/a"
}

func (r *report) targetsSection() *section {
	s := &section{
		header: []string{"workload", "mode", "target", "req/s ratio", "status", "by CPU"},
		right:  []bool{false, false, false, true, false, true},
	}
	for _, tg := range r.Targets {
		got, cpu := "-", "-"
		if tg.Got > 0 {
			got = fmt.Sprintf("%.2fx", tg.Got)
		}
		if tg.ByCPU > 0 {
			cpu = fmt.Sprintf("%.2fx", tg.ByCPU)
		}
		s.add(tg.Workload, tg.Mode, fmt.Sprintf("%s >= %gx %s", tg.Setup, tg.Want, tg.Ref), got, strings.ToUpper(tg.Status), cpu)
	}
	return s
}

func (r *report) footprintSection() *section {
	s := &section{
		header: []string{"conc", "setup", "module MB", "start-up CPU s", "wall s", "RSS ready MB", "RSS after load MB", "peak MB", "RSS over a MB", "Wasm VMs", "load req/s", "notes"},
		right:  []bool{true, false, true, true, true, true, true, true, true, true, true, false},
	}
	for _, f := range r.Footprint {
		mod := "-"
		if f.ModuleBytes > 0 {
			mod = fmt.Sprintf("%.2f", float64(f.ModuleBytes)/1e6)
		}
		start, wall, ready := "-", "-", "-"
		if f.StartCPU.N > 0 {
			start = fmt.Sprintf("%.2f [%.2f-%.2f]", f.StartCPU.Median, f.StartCPU.Min, f.StartCPU.Max)
			wall = fmt.Sprintf("%.2f", f.StartWall.Median)
			ready = fmt.Sprintf("%.0f", f.ReadyRSS.Median)
		}
		load, peak, over, rps := "-", "-", "-", "-"
		if f.LoadRSSMB > 0 {
			load, peak = fmt.Sprintf("%.0f", f.LoadRSSMB), fmt.Sprintf("%.0f", f.LoadPeakMB)
			rps = thousands(f.LoadReqPerSec)
		}
		if f.OverAMB != nil {
			over = fmt.Sprintf("%+.0f", *f.OverAMB)
		}
		vms := "-"
		stats := f.VMStatsLoad
		if stats == nil {
			stats = f.VMStatsReady
		}
		if active, created := vmCount(stats); active >= 0 {
			vms = fmt.Sprintf("%d (%d created)", active, created)
		}
		var notes []string
		if f.LoadErrors > 0 {
			notes = append(notes, fmt.Sprintf("LOAD-ERRORS:%d", f.LoadErrors))
		}
		if f.Error != "" {
			notes = append(notes, "FAILED: "+firstLine(f.Error, 80))
		}
		s.add(fmt.Sprint(f.Concurrency), r.setupLabel(f.Setup), mod, start, wall, ready, load, peak, over, vms, rps, strings.Join(notes, " "))
	}
	return s
}

// workerSection is what each worker thread beyond the first adds, from the
// smallest and largest --concurrency of the footprint phase.
func (r *report) workerSection() *section {
	lo, hi := 0, 0
	for _, f := range r.Footprint {
		if lo == 0 || f.Concurrency < lo {
			lo = f.Concurrency
		}
		if f.Concurrency > hi {
			hi = f.Concurrency
		}
	}
	s := &section{
		header: []string{"setup", "start-up CPU s per worker", "RSS after load MB per worker", "Wasm VMs per worker"},
		right:  []bool{false, true, true, true},
	}
	if hi <= lo {
		return s
	}
	n := float64(hi - lo)
	for _, f := range r.Footprint {
		if f.Concurrency != lo {
			continue
		}
		var g *footprintResult
		for i := range r.Footprint {
			if r.Footprint[i].Setup == f.Setup && r.Footprint[i].Concurrency == hi {
				g = &r.Footprint[i]
			}
		}
		if g == nil || f.StartCPU.N == 0 || g.StartCPU.N == 0 {
			continue
		}
		rss := "-"
		if f.LoadRSSMB > 0 && g.LoadRSSMB > 0 {
			rss = fmt.Sprintf("%+.1f", (g.LoadRSSMB-f.LoadRSSMB)/n)
		}
		vms := "-"
		a1, _ := vmCount(f.VMStatsReady)
		a2, _ := vmCount(g.VMStatsReady)
		if a1 >= 0 && a2 >= 0 {
			vms = fmt.Sprintf("%+.1f", float64(a2-a1)/n)
		}
		s.add(r.setupLabel(f.Setup), fmt.Sprintf("%+.2f", (g.StartCPU.Median-f.StartCPU.Median)/n), rss, vms)
	}
	return s
}

func (r *report) footprintTargetsSection() *section {
	s := &section{
		header: []string{"setup", "target (--concurrency 1)", "got", "status"},
		right:  []bool{false, false, true, false},
	}
	for _, t := range r.FootprintTargets {
		what, got := "", "-"
		switch t.What {
		case "start_cpu_s":
			what = fmt.Sprintf("start-up CPU <= %g s, i.e. <= %.2fx (n)", t.Want, t.Want/referenceNoopStartCPU)
			if t.Status != "n/a" {
				got = fmt.Sprintf("%.2f s = %.2fx (n)", t.Got, t.Ratio)
			}
		case "rss_over_a_mb":
			what = fmt.Sprintf("RSS after load <= +%g MB over a", t.Want)
			if t.Status != "n/a" {
				got = fmt.Sprintf("%+.0f MB", t.Got)
			}
		}
		s.add(r.setupLabel(t.Setup), what, got, strings.ToUpper(t.Status))
	}
	return s
}

// notes are the setups' notes and failures.
func (r *report) notes() []string {
	var notes []string
	for _, res := range r.results {
		who := res.Spec.ID
		if res.Mode != modeOwn {
			who += " (" + res.Mode + ")"
		}
		for _, n := range res.Notes {
			notes = append(notes, who+": "+n)
		}
		if res.Error != "" {
			notes = append(notes, who+": FAILED: "+firstLine(res.Error, 300))
		}
	}
	for _, f := range r.Footprint {
		if f.Error != "" {
			notes = append(notes, fmt.Sprintf("footprint %s --concurrency %d: FAILED: %s", f.Setup, f.Concurrency, firstLine(f.Error, 300)))
		}
	}
	return notes
}

const flagsLegend = "flags: NON-2XX / SOCKET-ERRORS = the run had failed requests (its figures are not valid); " +
	"LOAD-CPU-SATURATED = the load CPU was >95% busy (wrk or the upstream may have limited the rate); " +
	"NOISY = other processes used more than 0.25 cores; TOKENS-REUSED = the fresh run went through the token list more than once."
