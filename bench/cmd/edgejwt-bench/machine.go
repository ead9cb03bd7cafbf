package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// machine describes where and with what the run was made.
type machine struct {
	NProc        int      `json:"nproc"`
	CPUModel     string   `json:"cpu_model"`
	Kernel       string   `json:"kernel"`
	MemTotal     string   `json:"mem_total"`
	LoadAvg      string   `json:"loadavg_at_start"`
	EnvoyVersion string   `json:"envoy_version,omitempty"`
	NodeVersion  string   `json:"node_version,omitempty"`
	NodePackages []string `json:"node_packages,omitempty"`
	GoVersion    string   `json:"go_version"`
	WrkVersion   string   `json:"wrk_version"`
	GitCommit    string   `json:"git_commit"`
	GitDirty     bool     `json:"git_dirty"`
	Wasm         string   `json:"wasm,omitempty"` // sha256 prefix and size of build/edgejwt.wasm
	// Modules: the same for every module the run used, by path relative to
	// the repository.
	Modules map[string]string `json:"modules,omitempty"`
	Pinning string            `json:"pinning"`
}

func machineInfo(b *bench) machine {
	m := machine{GoVersion: runtime.Version()}
	if ci, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(ci), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "processor":
				m.NProc++
			case "model name":
				if m.CPUModel == "" {
					m.CPUModel = strings.TrimSpace(v)
				}
			}
		}
	}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(k))
	}
	if kb, err := procStatusKBFile("/proc/meminfo", "MemTotal"); err == nil {
		m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/1024/1024)
	}
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(l))[:3], " ")
	}
	if b.envoyPath != "" {
		out, _ := exec.Command(b.envoyPath, "--version").Output()
		// "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
		s := strings.TrimSpace(string(out))
		if _, v, ok := strings.Cut(s, "version: "); ok {
			parts := strings.Split(v, "/")
			if len(parts) > 1 {
				s = parts[1] + " (" + v + ")"
			}
		}
		m.EnvoyVersion = s
	}
	if b.nodePath != "" {
		out, _ := exec.Command(b.nodePath, "--version").Output()
		m.NodeVersion = strings.TrimSpace(string(out))
		m.NodePackages = nodePackages(b.nodeDir)
	}
	if out, err := exec.Command(b.wrkPath, "-v").CombinedOutput(); err == nil || len(out) > 0 {
		first, _, _ := strings.Cut(string(out), "\n")
		first, _, _ = strings.Cut(first, " Copyright")
		m.WrkVersion = strings.TrimSpace(first)
	}
	if out, err := exec.Command("git", "-C", b.root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.GitCommit = strings.TrimSpace(string(out))
	} else {
		m.GitCommit = "nogit"
	}
	// --no-optional-locks: do not refresh the index of a tree others work in.
	if out, err := exec.Command("git", "-C", b.root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		m.GitDirty = len(strings.TrimSpace(string(out))) > 0
	}
	m.Wasm = moduleInfo(b.wasmPath)
	m.Modules = map[string]string{}
	for _, p := range []string{b.wasmPath, b.wasmRSAPath, b.wasmNoopPath} {
		if info := moduleInfo(p); info != "" {
			m.Modules[rel(b.root, p)] = info
		}
	}
	if b.pin {
		m.Pinning = fmt.Sprintf("server under test on CPU %d; wrk, upstream, issuer and harness on CPU %d (taskset)", b.serverCPU, b.loadCPU)
	} else {
		m.Pinning = "none"
	}
	return m
}

// moduleInfo is a module's sha256 prefix and size, "" when it is missing.
func moduleInfo(path string) string {
	w, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(w)
	return fmt.Sprintf("sha256:%s, %.2f MB", hex.EncodeToString(sum[:6]), float64(len(w))/1e6)
}

func procStatusKBFile(path, name string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			var n int64
			_, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// nodePackages lists the locked versions of the Node service's direct
// dependencies.
func nodePackages(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return nil
	}
	var lock struct {
		Packages map[string]struct {
			Version      string            `json:"version"`
			Dependencies map[string]string `json:"dependencies"`
		} `json:"packages"`
	}
	if json.Unmarshal(b, &lock) != nil {
		return nil
	}
	var out []string
	for name := range lock.Packages[""].Dependencies {
		out = append(out, name+" "+lock.Packages["node_modules/"+name].Version)
	}
	sort.Strings(out)
	return out
}
