package main

import (
	"fmt"
	"sort"
	"strings"
)

// markdown writes the results file's text: the same tables as print, then
// the details of every run, the Envoy stats, the setups and the method.
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
	fmt.Fprintf(w, "| Envoy | %s |\n| Node | %s |\n| Node packages | %s |\n| Go | %s |\n| wrk | %s |\n",
		orNA(m.EnvoyVersion), orNA(m.NodeVersion), orNA(strings.Join(m.NodePackages, ", ")), m.GoVersion, m.WrkVersion)
	mods := make([]string, 0, len(m.Modules))
	for p := range m.Modules {
		mods = append(mods, p)
	}
	sort.Strings(mods)
	for _, p := range mods {
		fmt.Fprintf(w, "| module | %s %s |\n", p, m.Modules[p])
	}
	fmt.Fprintf(w, "| pinning | %s |\n\n", m.Pinning)

	fmt.Fprintf(w, "## Results\n\n")
	fmt.Fprintf(w, "Upstream modes: %s. go: the route goes to a Go upstream; direct: Envoy answers with direct_response, so that nothing but the auth filter differs between the Envoy setups. ", strings.Join(r.modes, ", "))
	fmt.Fprintf(w, "CPU-us/req is the server's CPU per request; \"over a\" and \"over n\" are the CPU-us per request above (a), no auth, and above (n), the no-op Go Wasm filter, in the same mode and workload.\n\n")
	r.resultsSection().markdown(w)
	if hasKind(r.specs(), kindNode) {
		fmt.Fprintf(w, "\n%s\n", ownNote)
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintf(w, "\n### Ratios\n\nreq/s of the setup over the reference's, in the same mode; in brackets, CPU per request over the reference's. (d) is compared with the %s mode.\n\n", r.refMode)
		r.ratiosSection().markdown(w)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintf(w, "\n### Issue 5 targets\n\nIn the %s mode. Judged on req/s. \"By CPU\" is the reference's server CPU per request over the edgejwt setup's: the ratio the req/s would show if each server had its core to itself and used it all, which other processes on a shared machine disturb less.\n\n", r.refMode)
		r.targetsSection().markdown(w)
	}
	r.costsMarkdown(w)
	if len(r.Footprint) > 0 {
		fmt.Fprintf(w, "\n## Footprint: start-up and memory\n\n")
		fmt.Fprintf(w, "Direct mode. Start-up CPU: Envoy's CPU time (user+system, all threads) from exec to the first 200 of admin /ready (polled every %s), median of %d starts [min-max]; wall: from the start, func-e included, to then. RSS ready: VmRSS then. RSS after load: VmRSS after %s of the repeated-token workload; peak: VmHWM since the start (compile included). RSS over a: RSS after load minus (a)'s at the same concurrency. Wasm VMs: Envoy's `wasm.envoy.wasm.runtime.v8.active` gauge after the load (and the `.created` counter).\n\n",
			r.Params.FootprintPoll, r.Params.FootprintRepeats, r.Params.FootprintLoad)
		r.footprintSection().markdown(w)
		if ws := r.workerSection(); len(ws.rows) > 0 {
			fmt.Fprintf(w, "\nWhat each worker thread beyond the first adds (difference between the largest and smallest --concurrency, divided by the workers added):\n\n")
			ws.markdown(w)
		}
		if len(r.FootprintTargets) > 0 {
			fmt.Fprintf(w, "\n### Footprint targets\n\nAt --concurrency 1: the RSA-only build (r) at most 4.5 s of CPU to ready and +110 MB of RSS over no auth after load; the default build (c) 6.5 s and +135 MB.\n\n")
			r.footprintTargetsSection().markdown(w)
		}
	}

	fmt.Fprintf(w, "\n### Details per run\n\n")
	fmt.Fprintf(w, "| workload | mode | setup | requests | p90 ms | p99.9 ms | max ms | upstream CPU-ms/1k | wrk CPU s | server CPU busy | load CPU busy | others (cores) | tokens (distinct / max uses) |\n")
	fmt.Fprintf(w, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %.2f | %.2f | %.2f | %.1f | %.2f | %.0f%% | %.0f%% | %.2f | %d / %d |\n",
			run.Workload, run.Mode, run.Setup, run.Requests, run.P90Ms, run.P999Ms, run.MaxMs, run.UpstreamCPUMsPer1k,
			run.LoadgenCPUSec, 100*run.ServerCPUBusy, 100*run.LoadCPUBusy, run.OtherCores, run.DistinctTokens, run.MaxUsesPerToken)
	}
	var statLines []string
	for _, run := range r.Runs {
		if len(run.Stats) == 0 && len(run.Gauges) == 0 {
			continue
		}
		line := fmt.Sprintf("- %s %s %s: %s", run.Workload, run.Mode, run.Setup, statList(run.Stats))
		if len(run.Gauges) > 0 {
			line += "; gauges after the run: " + statList(run.Gauges)
		}
		statLines = append(statLines, line)
	}
	if len(statLines) > 0 {
		fmt.Fprintf(w, "\nEnvoy stats of the auth filters and Wasm VMs: counters, change over each run:\n\n%s\n", strings.Join(statLines, "\n"))
	}

	fmt.Fprintf(w, "\n## Setups\n\n")
	for _, s := range r.Setups {
		fmt.Fprintf(w, "- **%s** (%s) %s", s.ID, s.Mode, s.Name)
		if s.Module != "" {
			fmt.Fprintf(w, ", module %s", s.Module)
		}
		if s.FilterConfig != "" {
			fmt.Fprintf(w, ": filter configuration `%s`", s.FilterConfig)
		}
		if s.StartCPUSec > 0 {
			fmt.Fprintf(w, "\n  - start: %.2f s of CPU to ready (%.2f s wall)", s.StartCPUSec, s.StartWallSec)
		}
		if s.Error != "" {
			fmt.Fprintf(w, "\n  - FAILED: %s", mdEscape(firstLine(s.Error, 300)))
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "\n  - %s", n)
		}
		fmt.Fprintln(w)
	}
	if notes := r.notes(); len(notes) > 0 {
		fmt.Fprintf(w, "\n## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", mdEscape(n))
		}
	}
	fmt.Fprintf(w, "\n## Method\n\n")
	for _, n := range r.Method {
		fmt.Fprintf(w, "- %s\n", n)
	}
	fmt.Fprintf(w, "\nFlags: NON-2XX / SOCKET-ERRORS: the run had failed requests and its figures are not valid. LOAD-CPU-SATURATED: the load CPU was more than 95%% busy, so wrk or the upstream may have limited the rate. NOISY: other processes used more than 0.25 cores during the run. TOKENS-REUSED: the fresh-token run went through its token list more than once.\n")
	fmt.Fprintf(w, "\nThe whole run took %.0f s.\n", r.ElapsedSec)
}
