package main

import (
	"fmt"
	"strings"
)

// A requestTarget is a bound on what a setup's request costs in CPU over a
// reference, in the direct mode (issue 10): Envoy's CPU per request above
// (a)'s or (n)'s, the same workload.
type requestTarget struct {
	Setup, Workload, Over string
	Max                   float64 // CPU-us per request
	What                  string
}

var requestTargets = []requestTarget{
	{"c", wlRepeated, "n", 5, "a cached token: within 5 us of the no-op Go filter"},
	{"c", wlFresh, "a", 240, "a fresh token: at most +240 us over no auth"},
	{"c2", wlFresh, "a", 70, "a fresh token with hostCrypto: at most +70 us over no auth"},
}

// A costPair is what one setup adds over another, both measured in the
// same run: claim conditions (z over z0), DPoP proofs (p over c, p2 over
// c2).
type costPair struct{ Setup, Base, What string }

var costPairs = []costPair{
	{"z", "z0", "three claim conditions"},
	{"p", "c", "DPoP: a fresh ES256 proof on every request"},
	{"p2", "c2", "DPoP with hostCrypto"},
	{"r", "c", "the RSA-only build instead of the default"},
}

// cpuOf is the CPU-us per request of setup id in mode and workload, if it
// ran.
func (r *report) cpuOf(id, mode, wl string) (float64, bool) {
	for _, run := range r.Runs {
		if run.Setup == id && run.Mode == mode && run.Workload == wl && run.Requests > 0 {
			return run.CPUUsPerReq, true
		}
	}
	return 0, false
}

// requestTargetsSection judges requestTargets on the direct mode's runs.
func (r *report) requestTargetsSection() *section {
	s := &section{
		header: []string{"target", "setup", "workload", "got (CPU-us/req)", "status"},
		right:  []bool{false, false, false, true, false},
	}
	for _, t := range requestTargets {
		c, ok1 := r.cpuOf(t.Setup, modeDirect, t.Workload)
		ref, ok2 := r.cpuOf(t.Over, modeDirect, t.Workload)
		if !ok1 || !ok2 {
			continue
		}
		got := c - ref
		status := "MET"
		if got > t.Max {
			status = fmt.Sprintf("MISSED by %.1f", got-t.Max)
		}
		s.add(t.What, t.Setup, t.Workload, fmt.Sprintf("%+.1f over %s", got, t.Over), status)
	}
	return s
}

// costsSection shows costPairs in every mode and workload that has both.
func (r *report) costsSection() *section {
	s := &section{
		header: []string{"what", "setups", "mode", "workload", "CPU-us/req added", "ratio"},
		right:  []bool{false, false, false, false, true, true},
	}
	for _, p := range costPairs {
		for _, mode := range r.modes {
			for _, wl := range workloads {
				c, ok1 := r.cpuOf(p.Setup, mode, wl)
				base, ok2 := r.cpuOf(p.Base, mode, wl)
				if !ok1 || !ok2 || base <= 0 {
					continue
				}
				s.add(p.What, p.Setup+" over "+p.Base, mode, wl, fmt.Sprintf("%+.1f", c-base), fmt.Sprintf("%.2fx", c/base))
			}
		}
	}
	return s
}

// costsMarkdown writes both sections, when they have rows.
func (r *report) costsMarkdown(w *strings.Builder) {
	if s := r.requestTargetsSection(); len(s.rows) > 0 {
		fmt.Fprintf(w, "\n### Per-request targets (issue 10)\n\nDirect mode, Envoy's CPU per request above the reference's, same workload.\n\n")
		s.markdown(w)
	}
	if s := r.costsSection(); len(s.rows) > 0 {
		fmt.Fprintf(w, "\n### What features cost\n\nOne setup's CPU per request over another's, both in this run.\n\n")
		s.markdown(w)
	}
}
