package dpopclient

import (
	"testing"

	"github.com/edgejwt/edgejwt/dpop"
)

// TestProofsPassTheFiltersChecks: this client's proofs parse as the
// filter's, with the same thumbprint.
func TestProofsPassTheFiltersChecks(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.Proof("POST", "https://api.example/r?q=1", "tok", "n1", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dpop.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.Thumbprint() != c.JKT || p.HTU() != "https://api.example/r" || p.HTM() != "POST" || p.Nonce() != "n1" || p.ATH() != dpop.AccessTokenHash("tok") {
		t.Errorf("proof %+v, jkt %s", p, c.JKT)
	}
	checker, err := dpop.NewChecker(dpop.Options{Algorithms: []string{"ES256"}})
	if err != nil {
		t.Fatal(err)
	}
	err = checker.Check(&dpop.Request{Method: "POST", Scheme: "https", Authority: "api.example", Path: "/r?q=1",
		Proof: raw, Proofs: 1, AccessToken: "tok", JKT: c.JKT})
	if err != nil {
		t.Fatal(err)
	}
}
