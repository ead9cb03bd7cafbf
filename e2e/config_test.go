package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/devservers"
	"github.com/edgejwt/edgejwt/internal/envoyproc"
)

// TestBadConfiguration: a filter configuration the README says must stop the
// plugin keeps Envoy from serving at all.
//
// What Envoy 1.40 does, observed: the filter logs
//
//	[critical][wasm] ... wasm log edgejwt: config: jwtRules[0].timeout: invalid duration "banana": ...
//	[error][wasm] ... Wasm VM failed Failed to configure base Wasm plugin
//	[critical][wasm] ... Plugin edgejwt failed to load
//	[critical][wasm] ... Plugin configured to fail closed failed to load
//	[critical][main] ... error `Unable to create Wasm plugin edgejwt` initializing config '...'
//
// and the process exits with status 1 before the listener is bound: a static
// listener whose Wasm plugin fails on_configure is a fatal configuration
// error, so no request is ever served.
func TestBadConfiguration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		field string // must appear in the filter's critical log line
		rule  func(map[string]any)
	}{
		{name: "unknown field", field: "jwtRules[0].audience", rule: func(r map[string]any) { r["audience"] = "e2e-api" }},
		{name: "timeout banana", field: "jwtRules[0].timeout", rule: func(r map[string]any) { r["timeout"] = "banana" }},
		{name: "missing issuer", field: "jwtRules[0].issuer", rule: func(r map[string]any) { delete(r, "issuer") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			expectRefusedAtStart(t, "", tc.rule, nil, tc.field)
		})
	}
}

// expectRefusedAtStart starts Envoy with the filter build wasm ("" for the
// one under test) configured with the default rule changed by rule and top
// merged into the top level, and checks that the filter refuses it, naming
// field, and that Envoy then exits without serving.
func expectRefusedAtStart(t *testing.T, wasm string, rule func(map[string]any), top map[string]any, field string) {
	t.Helper()
	iss, err := devservers.StartIssuer(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	echo, err := devservers.StartEcho(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(echo.Close)

	r := defaultRule(iss)
	if rule != nil {
		rule(r)
	}
	doc := map[string]any{"jwtRules": []any{r}}
	for k, v := range top {
		doc[k] = v
	}
	release := acquireStartSlot()
	defer release()
	e := launchEnvoy(t, envoyConfig{
		PluginConfig: string(mustJSON(doc)),
		UpstreamPort: echo.Port(),
		JWKSClusters: []cluster{{Name: jwksCluster, Port: iss.Port()}},
		Wasm:         wasm,
		BadConfig:    true,
	})

	exited, runErr, serving := awaitExitOrServe(e, readyTimeout)
	release()
	if serving {
		// Not what Envoy 1.40 does; whatever it does instead, it
		// must not serve.
		s := &stack{issuer: iss, echo: echo, envoy: e, client: newClient()}
		a, err := s.trySend(t.Name(), bearer(iss.MustMint(iss.StandardClaims("alice", audience, time.Hour))))
		t.Fatalf("envoy serves with a bad filter configuration, want exit status 1; a request got %d %s %v", a.status, short(a.body), err)
	}
	if !exited {
		t.Fatalf("envoy still running %v after starting with a bad filter configuration, want exit status 1", readyTimeout)
	}
	// It exited by itself (launchEnvoy's context was not cancelled).
	// func-e v1.6.0 reports a failed readiness wait in place of the
	// exit status once Envoy's admin server was up (as here), so the
	// status is only checked when func-e passes it on.
	var exitErr *exec.ExitError
	switch {
	case runErr == nil:
		t.Error("envoy exited with status 0, want non-zero")
	case errors.As(runErr, &exitErr) && exitErr.ExitCode() == 0:
		t.Errorf("envoy exited with %v, want non-zero", runErr)
	}

	log := e.log.String()
	critical := regexp.MustCompile(`\[critical\]\[wasm\].*edgejwt: config: .*` + regexp.QuoteMeta(field))
	if !critical.MatchString(log) {
		t.Errorf("log has no [critical][wasm] line naming %q", field)
	}
	const bt = "`"
	fatal := regexp.MustCompile(`(?s)\[critical\]\[main\][^\n]*error ` + bt + `Unable to create Wasm plugin edgejwt` + bt + ` initializing config.*\[main\][^\n]* exiting`)
	if !fatal.MatchString(log) {
		t.Error("log lacks Envoy's fatal \"error `Unable to create Wasm plugin edgejwt` initializing config\" followed by \"exiting\"")
	}
	if n := len(echo.Requests()); n != 0 {
		t.Errorf("upstream saw %d requests", n)
	}
}

// awaitExitOrServe waits until Envoy exits (returning func-e's error) or
// its listener serves, for at most timeout.
func awaitExitOrServe(e *envoyProc, timeout time.Duration) (exited bool, runErr error, serving bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if exited, err := e.Exited(100 * time.Millisecond); exited {
			return true, err, false
		}
		if e.AwaitReady(0) == nil {
			return false, nil, true
		}
	}
	return false, nil, false
}

// TestRepoEnvoyYAML validates the repository's envoy.yaml (the demo's edge
// configuration) with the filter under test: Envoy's validate mode loads
// the Wasm module and starts the plugin with the configuration, so a
// configuration the filter refuses fails here.
func TestRepoEnvoyYAML(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("..", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const wasmLine = "filename: build/edgejwt.wasm"
	if !bytes.Contains(src, []byte(wasmLine)) {
		t.Fatalf("envoy.yaml has no %q line to point at the filter under test", wasmLine)
	}
	quoted, err := json.Marshal(wasmPath) // a JSON string is a YAML scalar
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(cfg, bytes.Replace(src, []byte(wasmLine), append([]byte("filename: "), quoted...), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	release := acquireStartSlot()
	defer release()
	baseID := nextBaseID()
	cmd := exec.Command(envoyPath, "--mode", "validate", "-c", cfg,
		"--base-id", strconv.Itoa(baseID), "--component-log-level", "wasm:debug")
	out, err := cmd.CombinedOutput()
	_ = os.Remove(envoyproc.SharedMemoryPath(baseID))
	if err != nil {
		t.Fatalf("envoy --mode validate envoy.yaml: %v\n%s", err, out)
	}
	if bad := troubleLines(string(out)); len(bad) > 0 {
		t.Errorf("validating envoy.yaml logged:\n%s", strings.Join(bad, "\n"))
	}
	if !bytes.Contains(out, []byte("OK")) {
		t.Errorf("envoy --mode validate did not say OK:\n%s", out)
	}
}
