//go:build edgejwt_no_ecdsa && edgejwt_no_eddsa

package verifier

import (
	"errors"
	"reflect"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// In the RSA-only build ES256, ES384 and EdDSA are unsupported algorithms:
// refused by New, and a token using one is refused as one.
func TestOmittedAlgorithms(t *testing.T) {
	want := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	if got := SupportedAlgorithms(); !reflect.DeepEqual(got, want) {
		t.Errorf("SupportedAlgorithms() = %v, want %v", got, want)
	}
	for _, alg := range []string{"ES256", "ES384", "EdDSA"} {
		if !Known(alg) || Compiled(alg) {
			t.Errorf("%s: Known %v Compiled %v, want true false", alg, Known(alg), Compiled(alg))
		}
		if _, err := New(Options{Issuer: testIssuer, Algorithms: []string{alg}}); err == nil {
			t.Errorf("New(%s) succeeded", alg)
		}
		k := testkeys.Get()
		raw := k.Token(alg, hdr(alg), claimsJSON(""))
		tok, err := Parse(raw, 0)
		if err != nil {
			t.Fatalf("Parse(%s token): %v", alg, err)
		}
		v := newVerifier(t, func(o *Options) { o.Algorithms = SupportedAlgorithms() })
		if _, err := v.Verify(tok, pubKey(k.Public(alg))); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("Verify(%s token) = %v, want ErrUnsupportedAlg", alg, err)
		}
		// Even a key type check cannot reach the omitted code.
		if err := checkKey(lookupAlgorithm(alg), keyOf(&Key{}, k.Public(alg))); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("checkKey(%s) = %v, want ErrUnsupportedAlg", alg, err)
		}
	}
}
