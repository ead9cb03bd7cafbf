//go:build edgejwt_no_ecdsa && edgejwt_no_eddsa && edgejwt_no_regexp

package config

import (
	"strings"
	"testing"
)

// TestDPoPAlgorithmsOmitted: the RSA-only build refuses proof algorithms it
// cannot verify, naming the field; its default is what it has.
func TestDPoPAlgorithmsOmitted(t *testing.T) {
	rule := `{"issuer":"https://issuer.example","jwksUri":"https://issuer.example/jwks"`
	for _, tt := range []struct{ alg, field string }{{"ES256", "jwtRules[0].dpop.algorithms[1]"}, {"EdDSA", "jwtRules[0].dpop.algorithms[1]"}} {
		_, err := Parse([]byte(`{"jwtRules":[` + rule + `,"dpop":{"mode":"required","algorithms":["PS256","` + tt.alg + `"]}}]}`))
		ce, ok := err.(*Error)
		if !ok || ce.Field != tt.field || !strings.Contains(ce.Msg, `unsupported algorithm "`+tt.alg+`": not compiled into this build`) {
			t.Errorf("%s: %v; want field %s", tt.alg, err, tt.field)
		}
	}
	if _, err := Parse([]byte(`{"jwtRules":[` + rule + `,"dpop":{"mode":"required","algorithms":["PS256","RS256"]}}]}`)); err != nil {
		t.Errorf("RSA proof algorithms: %v", err)
	}
}
