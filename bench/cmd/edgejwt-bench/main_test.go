package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

func TestApplyExtras(t *testing.T) {
	iss, err := devservers.NewIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{issuer: iss}
	variants := []string{`c2={"clockSkew":"5s","outputPayloadToHeader":null,"_top":{"realm":"r"}}`}
	specs, err := b.specs("a,c", `{"audiences":["x","y"]}`, variants)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{specs[0].ID, specs[1].ID, specs[2].ID}; !reflect.DeepEqual(got, []string{"a", "c", "c2"}) {
		t.Fatalf("setups %v", got)
	}
	if err := b.applyExtras(specs, `{"audiences":["x","y"]}`, variants); err != nil {
		t.Fatal(err)
	}
	var c, c2 struct {
		Realm    string           `json:"realm"`
		JwtRules []map[string]any `json:"jwtRules"`
	}
	if err := json.Unmarshal([]byte(specs[1].FilterConfig), &c); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(specs[2].FilterConfig), &c2); err != nil {
		t.Fatal(err)
	}
	if got := c.JwtRules[0]["audiences"]; !reflect.DeepEqual(got, []any{"x", "y"}) {
		t.Errorf("c audiences = %v", got)
	}
	if c.JwtRules[0]["issuer"] != iss.Name || c.JwtRules[0]["jwksCluster"] != jwksCluster {
		t.Errorf("c rule = %v", c.JwtRules[0])
	}
	r := c2.JwtRules[0]
	if r["clockSkew"] != "5s" || c2.Realm != "r" {
		t.Errorf("c2 = %s", specs[2].FilterConfig)
	}
	if _, ok := r["outputPayloadToHeader"]; ok {
		t.Errorf("null did not delete outputPayloadToHeader: %s", specs[2].FilterConfig)
	}
	if got := r["audiences"]; !reflect.DeepEqual(got, []any{audience}) {
		t.Errorf("c2 took c's extra: audiences = %v", got)
	}

	if _, err := b.specs("a,e", "", nil); err == nil {
		t.Error("unknown setup accepted")
	}
	if _, err := b.specs("c", "", []string{"c={}"}); err == nil {
		t.Error("variant named like a setup accepted")
	}
	if err := b.applyExtras([]setupSpec{{ID: "c", Kind: kindEdgejwt}}, `[1]`, nil); err == nil {
		t.Error("non-object extra accepted")
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
	ppid, err := procPPID(os.Getpid())
	if err != nil || ppid != os.Getppid() {
		t.Errorf("procPPID = %v, %v; want %d", ppid, err, os.Getppid())
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
