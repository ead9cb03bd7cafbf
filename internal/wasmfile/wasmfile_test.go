package wasmfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestPackageOf(t *testing.T) {
	for sym, want := range map[string]string{
		"runtime.mallocgc":                                  "runtime",
		"crypto_internal_fips140_bigmod.__Nat_.Exp":         "crypto/internal/fips140/bigmod",
		"github.com_tidwall_gjson.Get":                      "github.com/tidwall/gjson",
		"github.com_edgejwt_edgejwt_config.parseRule.func1": "github.com/edgejwt/edgejwt/config",
		"unicode.map.init.2":                                "unicode",
		"main.main":                                         "main",
		"wasm_export_lib":                                   "(wasm_export_lib)",
	} {
		if got := PackageOf(sym); got != want {
			t.Errorf("PackageOf(%q) = %q, want %q", sym, got, want)
		}
	}
}

// TestGoModule reads a module the Go toolchain builds here.
func TestGoModule(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nimport \"os\"\n\nvar greeting = []byte(\"hello from wasip1\\n\")\n\nfunc main() { os.Stdout.Write(greeting) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.wasm")
	cmd := exec.Command("go", "build", "-o", out, src)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.HasImport("wasi_snapshot_preview1", "fd_write") {
		t.Errorf("no wasi fd_write import among %d imports", len(m.Imports))
	}
	if m.HasImport("env", "nothing") {
		t.Error("HasImport found an import the module lacks")
	}
	pkgs := map[string]int{}
	total := 0
	for _, f := range m.Funcs {
		pkgs[PackageOf(f.Name)] += f.Size
		total += f.Size
	}
	if pkgs["runtime"] == 0 || pkgs["main"] == 0 || pkgs["os"] == 0 {
		t.Errorf("code by package lacks runtime, main or os: %v", pkgs)
	}
	sections := 0
	for _, s := range m.Sections {
		sections += s.Size
	}
	if sections != len(b)-8 {
		t.Errorf("sections add up to %d bytes, module has %d after its header", sections, len(b)-8)
	}
	g, err := m.GoDataLayout()
	if err != nil {
		t.Fatal(err)
	}
	if g.Rodata == 0 || g.Pclntab == 0 || g.Funcdata == 0 || g.NoPtrData+g.Data == 0 {
		t.Errorf("Go data layout has an empty part: %+v", g)
	}
	span := g.Rodata + g.Pclntab + g.Funcdata + g.NoPtrData + g.Data
	if span > uint64(len(m.memory())) {
		t.Errorf("layout spans %d bytes, initial memory is %d", span, len(m.memory()))
	}
}

func TestParseRefuses(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":             nil,
		"not wasm":          []byte("\x7fELF\x02\x01\x01\x00"),
		"version 2":         []byte("\x00asm\x02\x00\x00\x00"),
		"truncated section": []byte("\x00asm\x01\x00\x00\x00\x0a\x10\x01"),
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
