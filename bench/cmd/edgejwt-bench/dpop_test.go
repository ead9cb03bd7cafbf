package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/dpop"
	"github.com/edgejwt/edgejwt/internal/devservers"
)

// TestDPoPSetups: (p) is (c) with dpop required, (p2) is (p) with
// hostCrypto; their proof files hold a new proof per line that the
// filter's checks accept for GET on the setup's URL.
func TestDPoPSetups(t *testing.T) {
	iss, err := devservers.NewIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{issuer: iss, freshTokens: 4, tmp: t.TempDir()}
	specs, err := b.specs("c,p,p2", `{"jwksRefreshInterval":"1h"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.applyExtras(specs, `{"jwksRefreshInterval":"1h"}`, nil); err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]map[string]any{}
	for _, sp := range specs {
		var m map[string]any
		if err := json.Unmarshal([]byte(sp.FilterConfig), &m); err != nil {
			t.Fatal(err)
		}
		cfgs[sp.ID] = m
	}
	rule := func(id string) map[string]any { return cfgs[id]["jwtRules"].([]any)[0].(map[string]any) }
	p := rule("p")
	if !reflect.DeepEqual(p["dpop"], map[string]any{"mode": "required", "algorithms": []any{"ES256"}}) || p["jwksRefreshInterval"] != "1h" {
		t.Errorf("p's rule %v", p)
	}
	delete(p, "dpop")
	if !reflect.DeepEqual(p, rule("c")) || cfgs["p2"]["hostCrypto"] != true || cfgs["p"]["hostCrypto"] != nil {
		t.Errorf("p %v\nc %v\np2 %v", cfgs["p"], cfgs["c"], cfgs["p2"])
	}

	if err := b.mintDPoPTokens(); err != nil {
		t.Fatal(err)
	}
	const url = "http://127.0.0.1:1234/protected"
	for _, wl := range workloads {
		path, err := b.dpopFile(url, wl)
		if err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		if len(lines) != b.freshTokens {
			t.Fatalf("%s: %d lines", wl, len(lines))
		}
		rc, err := dpop.NewReplayCache(dpop.NewMemoryStore(), "bench", 64, dpop.DefaultMaxAge)
		if err != nil {
			t.Fatal(err)
		}
		c, err := dpop.NewChecker(dpop.Options{Algorithms: []string{"ES256"}, Replay: rc})
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range lines {
			tok, proof, _ := strings.Cut(l, " ")
			if wl == wlRepeated && tok != b.dpop.repeated || wl == wlFresh && tok != b.dpop.fresh[i] {
				t.Fatalf("%s line %d: token %.20s...", wl, i, tok)
			}
			err := c.Check(&dpop.Request{Method: "GET", Scheme: "http", Authority: "127.0.0.1:1234", Path: "/protected",
				Proof: proof, Proofs: 1, AccessToken: tok, JKT: b.dpop.client.JKT})
			if err != nil {
				t.Fatalf("%s line %d: %v", wl, i, err)
			}
		}
	}
}
