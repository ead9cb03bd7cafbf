// Command wasmbuild builds the filter (or another main package of this
// module) as a WASI reactor with upstream Go, for Envoy's proxy-wasm host.
//
//	go run ./cmd/wasmbuild -o build/edgejwt.wasm [-algorithms rsa,ecdsa,eddsa] [-regexp=false] [-tags t]
//
// proxy-wasm-go-sdk v0.24.0 binds the proxy-wasm ABI for TinyGo only, so the
// build works on copies, in a work directory of its own under build/:
//   - the SDK module, with the project's binding (hostabi/) swapped into its
//     internal package in place of the in-memory mock host;
//   - gjson, without its built-in modifiers (patches.go says why);
//   - the Go runtime's netpoll_wasip1.go, patched so that the module runs on
//     Envoy 1.36-1.38, and crypto/rsa's rsa.go, patched so that fmt stays
//     out of the module (patches.go), given to the compiler with -overlay;
//   - an alternate module file (wasm.mod) that points at the two copies.
//
// go.mod, go.sum and every native build and test stay untouched.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const (
	sdkModule   = "github.com/tetratelabs/proxy-wasm-go-sdk"
	gjsonModule = "github.com/tidwall/gjson"
)

// algorithmFamilies are the signature algorithm families a build may leave
// out, each with the build tag that does so.
var algorithmFamilies = map[string]string{
	"rsa":   "", // RS256/384/512, PS256/384/512: always in
	"ecdsa": "edgejwt_no_ecdsa",
	"eddsa": "edgejwt_no_eddsa",
}

func main() {
	out := flag.String("o", "build/edgejwt.wasm", "the module to write")
	pkg := flag.String("pkg", ".", "the main package to build")
	algs := flag.String("algorithms", "rsa,ecdsa,eddsa", "signature algorithm families compiled in (rsa is always in)")
	withRegexp := flag.Bool("regexp", true, "compile in regular-expression matchers (path and subject regex)")
	tags := flag.String("tags", "", "extra build tags, comma-separated")
	runtimePatch := flag.Bool("runtime-patch", true, "patch the runtime's netpoll for Envoy 1.36-1.38 (off only to test that it matters)")
	flag.Parse()

	buildTags, err := tagsFor(*algs, *withRegexp, *tags)
	if err == nil {
		err = build(*out, *pkg, buildTags, *runtimePatch)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasmbuild:", err)
		os.Exit(1)
	}
}

// tagsFor turns the build options into build tags.
func tagsFor(algs string, withRegexp bool, extra string) ([]string, error) {
	tags := []string{"hostabi"}
	want := map[string]bool{}
	for _, a := range strings.Split(algs, ",") {
		a = strings.TrimSpace(a)
		if _, ok := algorithmFamilies[a]; !ok {
			return nil, fmt.Errorf("-algorithms: unknown family %q (known: rsa, ecdsa, eddsa)", a)
		}
		want[a] = true
	}
	if !want["rsa"] {
		return nil, errors.New("-algorithms: rsa is always compiled in; list it")
	}
	for _, fam := range []string{"ecdsa", "eddsa"} {
		if !want[fam] {
			tags = append(tags, algorithmFamilies[fam])
		}
	}
	if !withRegexp {
		tags = append(tags, "edgejwt_no_regexp")
	}
	for _, t := range strings.Split(extra, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags, nil
}

func build(out, pkg string, tags []string, runtimePatch bool) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return errors.New("run from the repository root")
	}
	name := strings.TrimSuffix(filepath.Base(out), ".wasm")
	work := filepath.Join(root, "build", "wasmbuild", name)
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}

	sdk, err := copyModule(sdkModule, filepath.Join(work, "sdk"))
	if err != nil {
		return err
	}
	if err := swapBinding(root, sdk); err != nil {
		return err
	}
	gjson, err := copyModule(gjsonModule, filepath.Join(work, "gjson"))
	if err != nil {
		return err
	}
	if err := gjsonModifiers.applyFile(filepath.Join(gjson, gjsonModifiers.file), filepath.Join(gjson, gjsonModifiers.file)); err != nil {
		return err
	}

	modfile := filepath.Join(work, "wasm.mod")
	if err := copyFile(filepath.Join(root, "go.mod"), modfile); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(root, "go.sum"), filepath.Join(work, "wasm.sum")); err != nil {
		return err
	}
	if err := goCmd(root, nil, "mod", "edit", "-modfile="+modfile,
		"-replace", sdkModule+"="+sdk, "-replace", gjsonModule+"="+gjson).Run(); err != nil {
		return fmt.Errorf("go mod edit: %w", err)
	}

	args := []string{"build", "-modfile=" + modfile, "-tags", strings.Join(tags, ","),
		"-buildmode=c-shared", "-trimpath",
		"-ldflags=-X " + gjsonModule + ".disableModifiers=true"}
	std := []patch{cryptoRSA, mathBigScan}
	if runtimePatch {
		std = append(std, runtimeNetpoll)
	}
	overlay, err := stdOverlay(work, std)
	if err != nil {
		return err
	}
	args = append(args, "-overlay="+overlay)
	args = append(args, "-o", out, pkg)
	cmd := goCmd(root, []string{"GOOS=wasip1", "GOARCH=wasm"}, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Printf("built %s (%d bytes; tags %s)\n", out, fi.Size(), strings.Join(tags, ","))
	return nil
}

// stdOverlay writes the patched standard-library files and the -overlay
// file that puts them in place of the originals, and returns the overlay's
// path.
func stdOverlay(work string, patches []patch) (string, error) {
	goroot, err := goCmd("", nil, "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	replace := map[string]string{}
	for _, p := range patches {
		orig := filepath.Join(strings.TrimSpace(string(goroot)), "src", filepath.FromSlash(p.file))
		// "_std": the go command leaves directories starting with "_" out
		// of ./... patterns, so the copies are never built as packages.
		patched := filepath.Join(work, "_std", filepath.FromSlash(p.file))
		if err := os.MkdirAll(filepath.Dir(patched), 0o755); err != nil {
			return "", err
		}
		if err := p.applyFile(orig, patched); err != nil {
			return "", err
		}
		replace[orig] = patched
	}
	b, err := json.Marshal(map[string]map[string]string{"Replace": replace})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(work, "overlay.json")
	return overlay, os.WriteFile(overlay, b, 0o644)
}

// copyModule copies the module (at the version go.mod requires) to dst,
// writable, and returns dst.
func copyModule(module, dst string) (string, error) {
	dir, err := moduleDir(module)
	if err != nil {
		return "", err
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target)
	})
	if err != nil {
		return "", fmt.Errorf("copying %s: %w", module, err)
	}
	return dst, nil
}

func moduleDir(module string) (string, error) {
	dir, err := goCmd("", nil, "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err == nil && strings.TrimSpace(string(dir)) != "" {
		return strings.TrimSpace(string(dir)), nil
	}
	if err := goCmd("", nil, "mod", "download", module).Run(); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	dir, err = goCmd("", nil, "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil || strings.TrimSpace(string(dir)) == "" {
		return "", fmt.Errorf("go list -m %s: no module directory (%v)", module, err)
	}
	return strings.TrimSpace(string(dir)), nil
}

// swapBinding puts the project's ABI binding (hostabi/*.go, tests aside)
// into the SDK copy's internal package in place of its mock host and of its
// serialization (hostabi/serde.go reads header maps without a copy).
func swapBinding(root, sdk string) error {
	internal := filepath.Join(sdk, "proxywasm", "internal")
	for _, f := range []string{"abi_hostcalls_mock.go", "serde.go"} {
		if err := os.Remove(filepath.Join(internal, f)); err != nil {
			return fmt.Errorf("the SDK copy has no %s to replace (another SDK version?): %w", f, err)
		}
	}
	files, err := filepath.Glob(filepath.Join(root, "hostabi", "*.go"))
	if err != nil {
		return err
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	if len(files) == 0 {
		return errors.New("no hostabi/*.go to swap in")
	}
	for _, f := range files {
		if err := copyFile(f, filepath.Join(internal, "hostabi_"+filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// goCmd is the go command run in dir ("" for the current directory) with
// extra environment.
func goCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	return cmd
}
