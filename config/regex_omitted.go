//go:build edgejwt_no_regexp

package config

import "errors"

// This build has no regular expressions (build tag edgejwt_no_regexp; Go's
// regexp and its Unicode tables are about half a megabyte of the module).
func compileAnchored(string) (Regex, error) {
	return nil, errors.New("regular expressions are not compiled into this build of the filter; " +
		"use exact, prefix, suffix or contains, or the default build (edgejwt.wasm)")
}
