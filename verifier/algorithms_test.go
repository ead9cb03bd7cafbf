package verifier

import (
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

func TestAlgorithmNames(t *testing.T) {
	for _, name := range testkeys.Algorithms {
		a := lookupAlgorithm(name)
		if a == algUnknown || a.String() != name {
			t.Errorf("%s -> %v", name, a)
		}
		if isForbidden(name) {
			t.Errorf("%s forbidden", name)
		}
	}
	for _, name := range []string{"none", "NONE", "HS256", "HS384", "HS512", "hs256", "ES512", "RSA-OAEP", "", "RS256 ", "ed25519"} {
		if a := lookupAlgorithm(name); a != algUnknown {
			t.Errorf("%q -> %v", name, a)
		}
	}
	if algUnknown.String() != "unknown" || algorithm(200).String() != "unknown" {
		t.Error("unknown algorithms must not have a name")
	}
	var s algSet
	s.add(algES256)
	if !s.has(algES256) || s.has(algES384) || s.has(algUnknown) {
		t.Error("algSet")
	}
}
