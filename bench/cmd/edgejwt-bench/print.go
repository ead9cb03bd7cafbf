package main

import (
	"fmt"
	"io"
	"strings"
)

// print writes the tables: the runs, the ratios, issue 5's targets, the
// footprint and its targets.
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
	fmt.Fprintf(out, "upstream modes: %s (go: route to a Go upstream; direct: Envoy's direct_response, nothing but the auth filter differs)\n", strings.Join(r.modes, ", "))
	fmt.Fprintf(out, "jwt_authn: (b) as configured by default, which has no verified-token cache; (b2) with jwt_cache_config (100 tokens). Fresh workload: %d distinct tokens\n", r.Params.FreshTokens)
	fmt.Fprintf(out, "CPU-us/req: Envoy's (or Node's) CPU per request; over a / over n: CPU-us per request above (a) no auth / (n) the no-op Go filter, same mode and workload\n\n")

	r.resultsSection().print(out)
	if hasKind(r.specs(), kindNode) {
		fmt.Fprintln(out, "  "+ownNote)
	}

	if len(r.Ratios) > 0 {
		fmt.Fprintln(out, "\nratios (req/s; CPU per request in brackets), per workload and mode:")
		r.ratiosSection().print(out)
	}
	if len(r.Targets) > 0 {
		fmt.Fprintf(out, "\nissue 5 targets, %s mode (req/s of the edgejwt setup over the reference's; \"by CPU\": the reference's CPU per request over the setup's):\n", r.refMode)
		r.targetsSection().print(out)
	}
	if len(r.Footprint) > 0 {
		fmt.Fprintf(out, "\nfootprint (direct mode): start-up CPU = Envoy's CPU from exec to the first 200 of /ready, median of %d starts [min-max]; RSS after %s of the repeated-token workload; peak = VmHWM since start\n",
			r.Params.FootprintRepeats, r.Params.FootprintLoad)
		r.footprintSection().print(out)
		if ws := r.workerSection(); len(ws.rows) > 0 {
			fmt.Fprintln(out, "\neach worker thread beyond the first adds (from the smallest and largest --concurrency):")
			ws.print(out)
		}
		if len(r.FootprintTargets) > 0 {
			fmt.Fprintln(out, "\nfootprint targets:")
			r.footprintTargetsSection().print(out)
		}
	}
	if notes := r.notes(); len(notes) > 0 {
		fmt.Fprintln(out, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintln(out, "  "+n)
		}
	}
	fmt.Fprintln(out, "\n"+flagsLegend)
}

// specs are the setups of the throughput phase.
func (r *report) specs() []setupSpec {
	var out []setupSpec
	for _, sp := range r.specsByID {
		out = append(out, sp)
	}
	return out
}
