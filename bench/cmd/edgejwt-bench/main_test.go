package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/authn"
	"github.com/edgejwt/edgejwt/config"
	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/jwkscache"
	"github.com/edgejwt/edgejwt/verifier"
)

func TestApplyExtras(t *testing.T) {
	iss, err := devservers.NewIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{issuer: iss}
	extra := `{"audiences":["x","y"]}`
	variants := []string{`c3={"clockSkew":"5s","outputPayloadToHeader":null,"_top":{"realm":"r"}}`}
	specs, err := b.specs("a,c,c2,r,n", extra, variants)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sp := range specs {
		ids = append(ids, sp.ID)
	}
	if !reflect.DeepEqual(ids, []string{"a", "c", "c2", "r", "n", "c3"}) {
		t.Fatalf("setups %v", ids)
	}
	if err := b.applyExtras(specs, extra, variants); err != nil {
		t.Fatal(err)
	}
	type config struct {
		Realm      string           `json:"realm"`
		HostCrypto *bool            `json:"hostCrypto"`
		JwtRules   []map[string]any `json:"jwtRules"`
	}
	cfgs := map[string]config{}
	for _, sp := range specs {
		if sp.Kind != kindEdgejwt {
			if sp.FilterConfig != "" {
				t.Errorf("%s has a filter configuration: %s", sp.ID, sp.FilterConfig)
			}
			continue
		}
		var c config
		if err := json.Unmarshal([]byte(sp.FilterConfig), &c); err != nil {
			t.Fatalf("%s: %v", sp.ID, err)
		}
		cfgs[sp.ID] = c
	}
	c := cfgs["c"]
	if got := c.JwtRules[0]["audiences"]; !reflect.DeepEqual(got, []any{"x", "y"}) {
		t.Errorf("c audiences = %v", got)
	}
	if c.JwtRules[0]["issuer"] != iss.Name || c.JwtRules[0]["jwksCluster"] != jwksCluster || c.HostCrypto != nil {
		t.Errorf("c = %+v", c)
	}
	// (c2) is (c) plus hostCrypto; (r) is (c)'s configuration.
	if c2 := cfgs["c2"]; c2.HostCrypto == nil || !*c2.HostCrypto || !reflect.DeepEqual(c2.JwtRules, c.JwtRules) {
		t.Errorf("c2 = %+v", c2)
	}
	if !reflect.DeepEqual(cfgs["r"], c) {
		t.Errorf("r = %+v, want c's %+v", cfgs["r"], c)
	}
	c3 := cfgs["c3"]
	r := c3.JwtRules[0]
	if r["clockSkew"] != "5s" || c3.Realm != "r" {
		t.Errorf("c3 = %+v", c3)
	}
	if _, ok := r["outputPayloadToHeader"]; ok {
		t.Errorf("null did not delete outputPayloadToHeader: %+v", c3)
	}
	if got := r["audiences"]; !reflect.DeepEqual(got, []any{audience}) {
		t.Errorf("c3 took c's extra: audiences = %v", got)
	}
	for _, sp := range specs {
		if want := map[string]string{"c": moduleDefault, "c2": moduleDefault, "c3": moduleDefault, "r": moduleRSA, "n": moduleNoop}[sp.ID]; sp.Module != want {
			t.Errorf("%s: module %q, want %q", sp.ID, sp.Module, want)
		}
	}

	if _, err := b.specs("a,e", "", nil); err == nil {
		t.Error("unknown setup accepted")
	}
	for _, v := range []string{"c={}", "c2={}", "r={}", "n={}", "={}", "x"} {
		if _, err := b.specs("c", "", []string{v}); err == nil {
			t.Errorf("variant %q accepted", v)
		}
	}
	if err := b.applyExtras([]setupSpec{{ID: "c", Kind: kindEdgejwt, takesExtra: true}}, `[1]`, nil); err == nil {
		t.Error("non-object extra accepted")
	}
	// Every setup runs by default but c-keep, which only the footprint
	// phase measures.
	if specs, err := b.specs(defaultSetups, "", nil); err != nil || len(specs) != len(builtinSpecs)-1 {
		t.Errorf("default setups: %d, %v; want all %d but c-keep", len(specs), err, len(builtinSpecs))
	}
}

func TestParseFlags(t *testing.T) {
	b := &bench{fpRepeats: 3}
	if err := b.parseModes("direct, go,direct"); err != nil || !reflect.DeepEqual(b.modes, []string{modeDirect, modeGo}) {
		t.Errorf("modes %v, %v", b.modes, err)
	}
	for _, bad := range []string{"", "go,upstream", ","} {
		if err := b.parseModes(bad); err == nil {
			t.Errorf("-upstream-modes %q accepted", bad)
		}
	}
	if err := b.parseFootprint("a,b,n,c,r,a", "1,4"); err != nil || !reflect.DeepEqual(b.fpSetups, []string{"a", "b", "n", "c", "r"}) ||
		!reflect.DeepEqual(b.fpConcurrency, []int{1, 4}) {
		t.Errorf("footprint %v %v, %v", b.fpSetups, b.fpConcurrency, err)
	}
	if err := b.parseFootprint("", ""); err != nil || len(b.fpSetups) != 0 {
		t.Errorf("no footprint phase: %v %v", b.fpSetups, err)
	}
	for _, bad := range [][2]string{{"d", "1"}, {"x", "1"}, {"a", "0"}, {"a", "one"}, {"a", ""}} {
		if err := b.parseFootprint(bad[0], bad[1]); err == nil {
			t.Errorf("footprint %q at %q accepted", bad[0], bad[1])
		}
	}
}

func TestProcReadings(t *testing.T) {
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	cpu, err := procCPU(os.Getpid())
	if err != nil || cpu <= 0 {
		t.Errorf("procCPU = %v, %v", cpu, err)
	}
	if kb, err := procStatusKB(os.Getpid(), "VmHWM"); err != nil || kb <= 0 {
		t.Errorf("VmHWM = %v, %v", kb, err)
	}
	a, err := readCPUTimes()
	if err != nil || len(a.busy) == 0 {
		t.Fatalf("readCPUTimes = %v, %v", a, err)
	}
	if f := busyFraction(a, a, 0); f != -1 {
		t.Errorf("busyFraction over no time = %v", f)
	}
}

func TestSameInstall(t *testing.T) {
	lock := []byte(`{"packages":{"":{"dependencies":{"koa":"3.3.0"}},"node_modules/koa":{"version":"3.3.0"}}}`)
	if !sameInstall(lock, []byte(`{"packages":{"node_modules/koa":{"version":"3.3.0"}}}`)) {
		t.Error("same tree reported different")
	}
	if sameInstall(lock, []byte(`{"packages":{"node_modules/koa":{"version":"3.2.0"}}}`)) {
		t.Error("other version reported same")
	}
	if sameInstall(lock, []byte(`{"packages":{"node_modules/koa":{"version":"3.3.0"},"node_modules/x":{"version":"1"}}}`)) {
		t.Error("extra package reported same")
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
	var sb strings.Builder
	tb := &table{right: []bool{false, true, false}}
	tb.add("a", "1", "x")
	tb.add("bbb", "22", "")
	tb.print(&sb)
	if want := "  a     1  x\n  bbb  22\n"; sb.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", sb.String(), want)
	}
}

// TestConditionSetups: (z0) and (z) are configurations the filter accepts,
// (c)'s with one request rule, (z)'s with three claim conditions, and
// the benchmark's tokens meet them.
func TestConditionSetups(t *testing.T) {
	iss, err := devservers.NewIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{issuer: iss}
	specs, err := b.specs("c,z0,z", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.applyExtras(specs, "", nil); err != nil {
		t.Fatal(err)
	}
	keys, _, err := jwkscache.Parse(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	b.freshTokens, b.tmp = 1, t.TempDir()
	if err := b.mintTokens(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{-1, 0, 3} {
		sp := specs[i]
		cfg, err := config.Parse([]byte(sp.FilterConfig))
		if err != nil {
			t.Fatalf("%s: %v", sp.ID, err)
		}
		if n := len(cfg.RequestRules); want < 0 && n != 0 || want >= 0 && (n != 1 || len(cfg.RequestRules[0].Claims) != want) {
			t.Fatalf("%s: rules %+v", sp.ID, cfg.RequestRules)
		}
		a, err := authn.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := [][2]string{{":method", "GET"}, {":path", benchPath}, {"authorization", "Bearer " + b.repeatedToken}}
		if d := a.Authenticate(h, func(int) verifier.KeySource { return keys }); d.Outcome != authn.Allow {
			t.Errorf("%s: the repeated token is refused: %v", sp.ID, d.Err)
		}
	}
}
