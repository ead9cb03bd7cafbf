package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
)

// A patch is a reviewed change to one file of a dependency (the Go standard
// library or a module), applied to a copy at build time, never to the
// original.
//
// It is guarded twice, so that an upgrade of Go or of the module fails the
// build loudly instead of mis-patching silently: the original must be one
// of the versions the patch was reviewed against (by SHA-256), and each
// text it replaces must occur in it exactly once.
type patch struct {
	name     string   // what the patch is, for messages
	file     string   // the file, relative to its root (GOROOT/src or the module)
	reviewed []string // SHA-256 (hex) of each original this patch was reviewed against
	edits    []edit
}

// edit replaces old, which must occur exactly once, with new.
type edit struct{ old, new string }

// apply returns the patched text of the original src.
func (p patch) apply(src []byte) ([]byte, error) {
	if h := sha256Hex(string(src)); !slices.Contains(p.reviewed, h) {
		return nil, fmt.Errorf("%s: %s (sha256 %s) is not a version this patch was reviewed against: "+
			"read the patch in cmd/wasmbuild/patches.go against the new file, adapt it if needed, "+
			"then add the new hash to its reviewed list", p.name, p.file, h)
	}
	out := string(src)
	for i, e := range p.edits {
		if n := strings.Count(out, e.old); n != 1 {
			return nil, fmt.Errorf("%s: the text of edit %d occurs %d times in %s, want 1", p.name, i+1, n, p.file)
		}
		out = strings.Replace(out, e.old, e.new, 1)
	}
	return []byte(out), nil
}

// applyFile reads the original at from and writes the patched copy to to.
func (p patch) applyFile(from, to string) error {
	src, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	out, err := p.apply(src)
	if err != nil {
		return err
	}
	return os.WriteFile(to, out, 0o644)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
