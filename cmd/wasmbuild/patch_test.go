package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPatchesApply: every patch applies to the files of this toolchain and
// of the module versions go.mod requires, and changes them.
func TestPatchesApply(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	gjson, err := moduleDir(gjsonModule)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    patch
		root string
	}{
		{runtimeNetpoll, filepath.Join(strings.TrimSpace(string(goroot)), "src")},
		{cryptoRSA, filepath.Join(strings.TrimSpace(string(goroot)), "src")},
		{mathBigScan, filepath.Join(strings.TrimSpace(string(goroot)), "src")},
		{gjsonModifiers, gjson},
	} {
		t.Run(tc.p.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(tc.root, filepath.FromSlash(tc.p.file)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := tc.p.apply(src)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.p.edits {
				if strings.Contains(string(out), e.old) || !strings.Contains(string(out), e.new) {
					t.Errorf("edit not applied: %q", e.old)
				}
			}
		})
	}
}

// TestPatchGuards: a file that is not a reviewed version, or in which an
// edit's text is missing or repeated, fails loudly instead of being
// patched.
func TestPatchGuards(t *testing.T) {
	orig := "package x\n\nfunc f() int { return 1 }\n"
	p := patch{name: "test", file: "x.go", reviewed: []string{sha256Hex(orig)},
		edits: []edit{{old: "return 1", new: "return 2"}}}
	if out, err := p.apply([]byte(orig)); err != nil || !strings.Contains(string(out), "return 2") {
		t.Fatalf("reviewed file: %q, %v", out, err)
	}
	changed := strings.Replace(orig, "f()", "g()", 1)
	if _, err := p.apply([]byte(changed)); err == nil || !strings.Contains(err.Error(), "not a version this patch was reviewed against") {
		t.Errorf("unreviewed file: %v", err)
	}
	for name, e := range map[string]edit{
		"missing":  {old: "return 3", new: "return 4"},
		"repeated": {old: "f", new: "g"},
	} {
		q := p
		q.edits = []edit{e}
		if _, err := q.apply([]byte(orig)); err == nil || !strings.Contains(err.Error(), "want 1") {
			t.Errorf("%s edit: %v", name, err)
		}
	}
}

func TestTagsFor(t *testing.T) {
	for _, tc := range []struct {
		algs   string
		regexp bool
		extra  string
		want   string
	}{
		{"rsa,ecdsa,eddsa", true, "", "hostabi"},
		{"rsa", false, "", "hostabi,edgejwt_no_ecdsa,edgejwt_no_eddsa,edgejwt_no_regexp"},
		{"rsa,eddsa", true, "crashtest", "hostabi,edgejwt_no_ecdsa,crashtest"},
	} {
		got, err := tagsFor(tc.algs, tc.regexp, tc.extra)
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("tagsFor(%q, %v, %q) = %v, %v; want %s", tc.algs, tc.regexp, tc.extra, got, err, tc.want)
		}
	}
	for _, bad := range []string{"ecdsa", "rsa,hmac", ""} {
		if _, err := tagsFor(bad, true, ""); err == nil {
			t.Errorf("tagsFor(%q) accepted", bad)
		}
	}
}
