//go:build edgejwt_no_ecdsa && edgejwt_no_eddsa && edgejwt_no_regexp

package config

import (
	"strings"
	"testing"
)

// The RSA-only build (make build: edgejwt-rsa.wasm) refuses, at start and
// naming the field, what it cannot do. Run by `make unit` with the build's
// tags: go test -tags edgejwt_no_ecdsa,edgejwt_no_eddsa,edgejwt_no_regexp -run Omitted.
func TestOmittedFeaturesRefused(t *testing.T) {
	rule := `{"issuer":"https://issuer.example","jwksUri":"https://issuer.example/jwks"`
	tests := []struct {
		name, doc, field, msg string
	}{
		{"ES256", `{"jwtRules":[` + rule + `,"algorithms":["RS256","ES256"]}]}`,
			"jwtRules[0].algorithms[1]", `unsupported algorithm "ES256": not compiled into this build of the filter, which verifies RS256, RS384, RS512, PS256, PS384, PS512`},
		{"EdDSA", `{"jwtRules":[` + rule + `,"algorithms":["EdDSA"]}]}`,
			"jwtRules[0].algorithms[0]", `unsupported algorithm "EdDSA": not compiled into this build`},
		{"path regex", `{"jwtRules":[` + rule + `}],"rules":[{"match":{"regex":"/api/.*"},"requirement":"bypass"}]}`,
			"rules[0].match.regex", "regular expressions are not compiled into this build of the filter"},
		{"subject regex", `{"jwtRules":[` + rule + `,"subjects":[{"regex":"user-.*"}]}]}`,
			"jwtRules[0].subjects[0].regex", "regular expressions are not compiled into this build of the filter"},
		{"claim condition regex", `{"jwtRules":[` + rule + `}],"rules":[{"match":{"prefix":"/"},"requirement":"required",` +
			`"claims":[{"claim":"roles","anyOf":["a"]},{"claim":"sub","string":{"regex":"user-.*"}}]}]}`,
			"rules[0].claims[1].string.regex", "regular expressions are not compiled into this build of the filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			ce, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse: %v, want a *config.Error", err)
			}
			if ce.Field != tt.field || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("Parse: field %q msg %q; want field %q and a message containing %q", ce.Field, ce.Msg, tt.field, tt.msg)
			}
		})
	}
	// What the build has still works.
	doc := `{"jwtRules":[` + rule + `,"algorithms":["RS256","PS512"]}],"rules":[{"match":{"prefix":"/public/"},"requirement":"bypass"},` +
		`{"match":{"prefix":"/"},"requirement":"required","claims":[{"claim":"sub","string":{"prefix":"user-"}}]}]}`
	if _, err := Parse([]byte(doc)); err != nil {
		t.Errorf("Parse(RSA algorithms, prefix rule, prefix condition): %v", err)
	}
}
