package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// findTools locates Envoy, wrk, node, npm and taskset, and checks that the
// Wasm modules of the setups exist.
func (b *bench) findTools(specs []setupSpec) error {
	var err error
	if b.instrN > 0 {
		for _, tool := range []string{"valgrind", "callgrind_control", "callgrind_annotate"} {
			if _, err := exec.LookPath(tool); err != nil {
				return errors.New(tool + " not found (Debian: apt-get install -y valgrind; `make bench-instructions` does it when run as root)")
			}
		}
	} else if b.wrkPath, err = exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found (Debian: apt-get install -y wrk; `make bench` does it when run as root)")
	}
	if hasEnvoy(specs) {
		if b.envoyPath == "" {
			out, err := exec.Command(filepath.Join(b.root, "scripts", "ensure-envoy.sh")).Output()
			if err != nil {
				return fmt.Errorf("no -envoy / $ENVOY_PATH and scripts/ensure-envoy.sh failed: %v", err)
			}
			b.envoyPath = strings.TrimSpace(string(out))
		}
		if _, err := os.Stat(b.envoyPath); err != nil {
			return fmt.Errorf("envoy: %w", err)
		}
	}
	for _, sp := range specs {
		if !sp.isWasm() {
			continue
		}
		if _, err := os.Stat(b.modulePath(sp)); err != nil {
			how := "make build"
			if sp.Module == moduleNoop {
				how = "go run ./cmd/wasmbuild -pkg ./bench/noop -o build/noop.wasm"
			}
			return fmt.Errorf("setup %s: %w (build it first: %s)", sp.ID, err, how)
		}
	}
	if hasKind(specs, kindNode) {
		if b.nodePath, err = exec.LookPath("node"); err != nil {
			return errors.New("node not found (Debian: apt-get install -y nodejs npm)")
		}
		if b.npmPath, err = exec.LookPath("npm"); err != nil {
			return errors.New("npm not found (Debian: apt-get install -y npm)")
		}
	}
	if b.pin {
		if _, err := exec.LookPath("taskset"); err != nil {
			logf("taskset not found: processes are not pinned to CPUs")
			b.pin = false
		} else if runtime.NumCPU() < 2 || b.serverCPU == b.loadCPU {
			logf("fewer than 2 CPUs or -server-cpu = -load-cpu: processes are not pinned")
			b.pin = false
		}
	}
	return nil
}

// npmCI installs the Node service's modules from package-lock.json unless
// node_modules already holds exactly that lock file's tree.
func (b *bench) npmCI() error {
	lock, err := os.ReadFile(filepath.Join(b.nodeDir, "package-lock.json"))
	if err != nil {
		return err
	}
	installed, err := os.ReadFile(filepath.Join(b.nodeDir, "node_modules", ".package-lock.json"))
	if err == nil && sameInstall(lock, installed) {
		return nil
	}
	logf("npm ci in %s", rel(b.root, b.nodeDir))
	cmd := exec.Command(b.npmPath, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = b.nodeDir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci: %v", err)
	}
	return nil
}

// sameInstall reports whether node_modules/.package-lock.json (written by
// npm) lists the same packages at the same versions as package-lock.json.
func sameInstall(lock, installed []byte) bool {
	type pkgs struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	var l, i pkgs
	if json.Unmarshal(lock, &l) != nil || json.Unmarshal(installed, &i) != nil {
		return false
	}
	n := 0
	for name, p := range l.Packages {
		if name == "" {
			continue // the root package
		}
		n++
		if q, ok := i.Packages[name]; !ok || q.Version != p.Version {
			return false
		}
	}
	return n == len(i.Packages)
}

// repoRoot is the directory of the go.mod of module github.com/edgejwt/edgejwt,
// searched upwards from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/edgejwt/edgejwt\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the edgejwt repository")
		}
		dir = parent
	}
}

// inRoot resolves a relative path against the repository root.
func inRoot(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
