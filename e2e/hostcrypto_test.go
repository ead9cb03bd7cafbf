package e2e

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/devservers"
)

// TestHostCryptoSameVerdicts: with "hostCrypto": true, RS256 signatures are
// checked by Envoy's native verify_signature instead of Go's crypto/rsa in
// Wasm. Both paths must give the same verdict, with the same answer, on the
// same tokens (the token cache is off, so every request checks a signature),
// and the host path must really be taken (its counter in /stats).
func TestHostCryptoSameVerdicts(t *testing.T) {
	t.Parallel()
	noCache := map[string]any{"tokenCacheSize": 0}
	host := map[string]any{"tokenCacheSize": 0, "hostCrypto": true}
	wasm := newStack(t, stackOptions{top: noCache})
	native := newStack(t, stackOptions{top: host})

	// The two stacks have their own issuers: mint each case for each.
	type mint func(s *stack) string
	flip := func(tok string) string {
		b := []byte(tok)
		i := len(b) - 10
		b[i] ^= 1
		if b[i] == '-' || b[i] == '_' || b[i] > 'z' {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := []struct {
		name string
		mint mint
	}{
		{"valid", func(s *stack) string { return s.validToken(t) }},
		{"signature bit flipped", func(s *stack) string { return flip(s.validToken(t)) }},
		{"signed by an outsider key", func(s *stack) string {
			return s.issuer.MustMint(s.validClaims(), devservers.WithOutsiderKey())
		}},
		{"RS384 header over an RS256 signature", func(s *stack) string {
			return s.issuer.MustMint(s.validClaims(), devservers.WithAlg("RS384"))
		}},
		{"signature truncated", func(s *stack) string {
			tok := s.validToken(t)
			i := strings.LastIndexByte(tok, '.')
			sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			return tok[:i+1] + base64.RawURLEncoding.EncodeToString(sig[:len(sig)-3])
		}},
		{"expired", func(s *stack) string {
			c := s.validClaims()
			c["exp"] = 1
			return s.issuer.MustMint(c)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := wasm.send(t, bearer(c.mint(wasm)))
			b := native.send(t, bearer(c.mint(native)))
			if a.status != b.status || string(a.body) != string(b.body) && a.status != 200 {
				t.Errorf("verdicts differ: Go %d %s, host %d %s", a.status, a.body, b.status, b.body)
			}
			if a.status == 200 {
				wasm.expectAllowed(t, a)
				native.expectAllowed(t, b)
			} else {
				wasm.expectNotForwarded(t, a)
				native.expectNotForwarded(t, b)
			}
		})
	}
	hostChecks := statsOf(t, native)["wasmcustom.edgejwt.host_crypto_verify"]
	goChecks := statsOf(t, wasm)["wasmcustom.edgejwt.host_crypto_verify"]
	t.Logf("host_crypto_verify: %d with hostCrypto, %d without", hostChecks, goChecks)
	if hostChecks < 3 || goChecks != 0 {
		t.Errorf("host path not taken as configured: %d with hostCrypto, %d without", hostChecks, goChecks)
	}
}
