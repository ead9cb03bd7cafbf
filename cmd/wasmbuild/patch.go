package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
)

// A patch is a reviewed change to one file of a dependency (the Go runtime
// or a module), applied to a copy at build time, never to the original.
//
// It is guarded twice, so that an upgrade of Go or of the module fails the
// build loudly instead of mis-patching silently: the original must be one
// of the versions the patch was reviewed against (by SHA-256), and the text
// it replaces must occur in it exactly once.
type patch struct {
	name     string   // what the patch is, for messages
	file     string   // the file, relative to its root (GOROOT/src or the module)
	reviewed []string // SHA-256 (hex) of each original this patch was reviewed against
	old, new string
}

// apply returns the patched text of the original src.
func (p patch) apply(src []byte) ([]byte, error) {
	sum := sha256.Sum256(src)
	if h := hex.EncodeToString(sum[:]); !slices.Contains(p.reviewed, h) {
		return nil, fmt.Errorf("%s: %s (sha256 %s) is not a version this patch was reviewed against: "+
			"read the patch in cmd/wasmbuild/patches.go against the new file, adapt it if needed, "+
			"then add the new hash to its reviewed list", p.name, p.file, h)
	}
	if n := strings.Count(string(src), p.old); n != 1 {
		return nil, fmt.Errorf("%s: the text to replace occurs %d times in %s, want 1", p.name, n, p.file)
	}
	return []byte(strings.Replace(string(src), p.old, p.new, 1)), nil
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
