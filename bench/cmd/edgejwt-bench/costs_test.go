package main

import (
	"strings"
	"testing"
)

func TestRequestTargetsAndCosts(t *testing.T) {
	r := fakeReport(t)
	// fakeReport, direct mode: a 15, n 25, c 45 (90 fresh), r 43 (86 fresh).
	tg := r.requestTargetsSection()
	want := [][]string{
		{requestTargets[0].What, "c", wlRepeated, "+20.0 over n", "MISSED by 15.0"},
		{requestTargets[1].What, "c", wlFresh, "+75.0 over a", "MET"},
	}
	if len(tg.rows) != len(want) {
		t.Fatalf("target rows %v, want %v (c2 did not run)", tg.rows, want)
	}
	for i := range want {
		if strings.Join(tg.rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("target row %d = %v, want %v", i, tg.rows[i], want[i])
		}
	}
	costs := r.costsSection()
	if len(costs.rows) != 4 { // r over c, two modes, two workloads
		t.Fatalf("cost rows %v", costs.rows)
	}
	if got := strings.Join(costs.rows[1], "|"); got != "the RSA-only build instead of the default|r over c|go|fresh|-4.0|0.96x" {
		t.Errorf("cost row %q", got)
	}
	var md strings.Builder
	r.costsMarkdown(&md)
	if !strings.Contains(md.String(), "### Per-request targets (issue 10)") || !strings.Contains(md.String(), "### What features cost") {
		t.Errorf("markdown:\n%s", md.String())
	}
}
