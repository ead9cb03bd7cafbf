package wasmtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/edgejwt/edgejwt/internal/wasmhost"
)

// repoRoot is the repository root, relative to this package's directory
// (go test's working directory).
const repoRoot = ".."

var (
	// workDir holds the modules this test binary builds.
	workDir string
	// cache shares compiled modules between the tests' hosts: wazero
	// takes seconds to compile the filter.
	cache = wazero.NewCompilationCache()

	modulesMu sync.Mutex
	modules   = map[bool]builtModule{} // by "runtime patch applied"
)

// builtModule is a build's module, or why it failed (not tried again).
type builtModule struct {
	wasm []byte
	err  string
}

func TestMain(m *testing.M) {
	var err error
	if workDir, err = os.MkdirTemp("", "wasmtest-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(workDir)
	cache.Close(context.Background())
	os.Exit(code)
}

// patchedModule is the module under test: $EDGEJWT_WASM, or a build of the
// repository with the runtime patch.
func patchedModule(t *testing.T) []byte {
	t.Helper()
	if path := os.Getenv("EDGEJWT_WASM"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("EDGEJWT_WASM: %v", err)
		}
		return b
	}
	return buildModule(t, true)
}

// unpatchedModule is a build without the runtime patch, the control.
func unpatchedModule(t *testing.T) []byte {
	t.Helper()
	return buildModule(t, false)
}

// buildModule builds the filter with cmd/wasmbuild, once per test binary
// and variant (Go's build cache makes a rebuild take about a second). A
// module that cannot be built fails the tests that need it: they never
// skip.
func buildModule(t *testing.T, runtimePatch bool) []byte {
	t.Helper()
	modulesMu.Lock()
	defer modulesMu.Unlock()
	m, ok := modules[runtimePatch]
	if !ok {
		m = build(runtimePatch)
		modules[runtimePatch] = m
	}
	if m.err != "" {
		t.Fatal(m.err)
	}
	return m.wasm
}

func build(runtimePatch bool) builtModule {
	// wasmbuild keeps its work files in build/wasmbuild/<name of -o>: a
	// name of our own, removed afterwards, stays clear of other builds.
	name := fmt.Sprintf("wasmtest-%d-patch-%t", os.Getpid(), runtimePatch)
	out := filepath.Join(workDir, name+".wasm")
	cmd := exec.Command("go", "run", "./cmd/wasmbuild", "-o", out, fmt.Sprintf("-runtime-patch=%t", runtimePatch))
	cmd.Dir = repoRoot
	output, err := cmd.CombinedOutput()
	os.RemoveAll(filepath.Join(repoRoot, "build", "wasmbuild", name))
	if err != nil {
		return builtModule{err: fmt.Sprintf("building the filter (runtime patch %t): %v\n%s", runtimePatch, err, output)}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return builtModule{err: err.Error()}
	}
	return builtModule{wasm: b}
}

// newHost starts the module in a wasmhost, closed when the test ends.
func newHost(t *testing.T, wasm []byte, opts wasmhost.Options) *wasmhost.Host {
	t.Helper()
	opts.Cache = cache
	h, err := wasmhost.New(context.Background(), wasm, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}
