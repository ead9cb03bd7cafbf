//go:build edgejwt_no_ecdsa && edgejwt_no_eddsa

package jwkscache

import (
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// In the RSA-only build EC and OKP keys are skipped with a reason naming
// the build, and the RSA keys of the same set stay usable.
func TestOmittedKeyTypes(t *testing.T) {
	k := testkeys.Get()
	doc := testkeys.JWKS(
		testkeys.JWK("rsa", k.Public("RS256"), ""),
		testkeys.JWK("ec", k.Public("ES256"), ""),
		testkeys.JWK("ed", k.Public("EdDSA"), ""),
	)
	set, skipped, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 1 {
		t.Errorf("kept %d keys, want the RSA key only", set.Len())
	}
	if _, err := set.Key("rsa", "RS256"); err != nil {
		t.Errorf("RSA key: %v", err)
	}
	if len(skipped) != 2 {
		t.Fatalf("skipped %v, want the EC and the OKP key", skipped)
	}
	for i, want := range []string{"EC keys are not supported by this build", "OKP keys are not supported by this build"} {
		if !strings.Contains(skipped[i].Reason, want) {
			t.Errorf("skipped[%d] = %v, want a reason containing %q", i, skipped[i], want)
		}
	}
}
