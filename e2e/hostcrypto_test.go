package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/hostcrypto"
	"github.com/edgejwt/edgejwt/internal/testkeys"

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
	cases := []struct {
		name string
		mint mint
	}{
		{"valid", func(s *stack) string { return s.validToken(t) }},
		{"signature bit flipped", func(s *stack) string { return flipSignatureBit(t, s.validToken(t)) }},
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

// TestHostCryptoECDSA: ES256 and ES384 through Envoy's verify_signature (the
// JWS r||s signature turned into DER) give the same verdicts as Go's
// crypto/ecdsa inside Wasm.
func TestHostCryptoECDSA(t *testing.T) {
	t.Parallel()
	k := testkeys.Get()
	iss := startKeyIssuer(t, testkeys.JWKS(testkeys.JWK("p256", k.Public("ES256"), ""), testkeys.JWK("p384", k.Public("ES384"), "")))
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	config := func(host bool) map[string]any {
		return map[string]any{"tokenCacheSize": 0, "hostCrypto": host, "jwtRules": []any{map[string]any{
			"issuer": iss.name, "jwksUri": iss.jwksURI(), "jwksCluster": "jwks_0", "algorithms": []string{"ES256", "ES384"},
			"outputClaimToHeaders": []map[string]string{{"header": subHeader, "claim": "sub"}}}}}
	}
	wasm := featureStack(t, config(false), []*keyIssuer{iss}, nil)
	native := featureStack(t, config(true), []*keyIssuer{iss}, nil)
	valid256 := sign(t, k.P256, "ES256", "p256", iss.claims("alice"))
	valid384 := sign(t, k.P384, "ES384", "p384", iss.claims("bob"))
	cases := map[string]string{
		"ES256 valid":                    valid256,
		"ES384 valid":                    valid384,
		"ES256 bit flipped":              flipSignatureBit(t, valid256),
		"ES384 bit flipped":              flipSignatureBit(t, valid384),
		"ES256 by another key":           sign(t, other, "ES256", "p256", iss.claims("mallory")),
		"ES256 signature one byte short": resign(t, valid256, func(sig []byte) []byte { return sig[:len(sig)-1] }),
		"ES256 signature in DER":         resign(t, valid256, func(sig []byte) []byte { d, _ := hostcrypto.ECDSASignatureDER(sig, 32); return d }),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			a := wasm.send(t, bearer(tok))
			b := native.send(t, bearer(tok))
			if a.status != b.status || string(a.body) != string(b.body) && a.status != 200 {
				t.Errorf("verdicts differ: Go %d %s, host %d %s", a.status, a.body, b.status, b.body)
			}
			if strings.HasSuffix(name, "valid") != (a.status == 200) {
				t.Errorf("Go path: %d %s", a.status, a.body)
			}
		})
	}
	if n := statsOf(t, native)["wasmcustom.edgejwt.host_crypto_verify"]; n < 5 {
		t.Errorf("host_crypto_verify = %d: the host path was not taken", n)
	}
}

// flipSignatureBit flips one bit of a token's decoded signature.
func flipSignatureBit(t *testing.T, tok string) string {
	return resign(t, tok, func(sig []byte) []byte { sig[len(sig)/2] ^= 0x10; return sig })
}

// resign replaces a token's signature by f of its decoded bytes.
func resign(t *testing.T, tok string, f func([]byte) []byte) string {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(f(sig))
}
