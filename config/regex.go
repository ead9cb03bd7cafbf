//go:build !edgejwt_no_regexp

package config

import (
	"errors"
	"regexp"
)

// compileAnchored compiles expr (RE2 syntax) to match whole strings. Every
// build has it but one with the edgejwt_no_regexp tag.
func compileAnchored(expr string) (Regex, error) {
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, errors.New("invalid regular expression: " + err.Error())
	}
	return re, nil
}
