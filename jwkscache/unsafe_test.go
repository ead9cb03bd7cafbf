package jwkscache

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// TestUnsafeKeysRefused: keys that must never be trusted are skipped and
// marked Unsafe, and the good keys of the same set stay usable.
func TestUnsafeKeysRefused(t *testing.T) {
	testKeys(t)
	pub := &rsa2048.PublicKey
	roca := rocaModulus(t)
	threeTimes := new(big.Int).Mul(big.NewInt(3), new(big.Int).Lsh(big.NewInt(1), 2046))
	threeTimes.Add(threeTimes, big.NewInt(3)) // odd, 2048 bits, divisible by 3
	tests := []struct {
		name, jwk, reason string
	}{
		{"RSA with d", rsaJWK("k", pub, `,"d":"AQAB"`), "private key members (d)"},
		{"RSA with CRT members", rsaJWK("k", pub, `,"p":"AQAB","q":"AQAB","dp":"AQAB","dq":"AQAB","qi":"AQAB"`), "private key members (p, q, dp, dq, qi)"},
		{"RSA with oth", rsaJWK("k", pub, `,"oth":[]`), "private key members (oth)"},
		{"EC with d", `{"kty":"EC","kid":"k","crv":"P-256","d":"AQAB","x":"AQAB","y":"AQAB"}`, "private key members (d)"},
		{"OKP with d", `{"kty":"OKP","kid":"k","crv":"Ed25519","d":"AQAB","x":"AQAB"}`, "private key members (d)"},
		{"oct with k", `{"kty":"oct","kid":"k","k":"c2VjcmV0"}`, "private key members (k)"},
		{"d even when null", rsaJWK("k", pub, `,"d":null`), "private key members (d)"},
		{"ROCA modulus", fmt.Sprintf(`{"kty":"RSA","kid":"k","n":%q,"e":"AQAB"}`, b64u(roca.Bytes())), "ROCA fingerprint"},
		{"modulus divisible by 3", fmt.Sprintf(`{"kty":"RSA","kid":"k","n":%q,"e":"AQAB"}`, b64u(threeTimes.Bytes())), "divisible by 3"},
		{"Ed25519 identity", okpJWK("0100000000000000000000000000000000000000000000000000000000000000"), "small order"},
		{"Ed25519 order 8", okpJWK("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "small order"},
		{"Ed25519 y = p+1 (identity again)", okpJWK("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), "not canonically encoded"},
		{"Ed25519 y = p", okpJWK("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), "not canonically encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, skipped, err := Parse(jwks(rsaJWK("good", pub, ""), tt.jwk))
			if err != nil {
				t.Fatal(err)
			}
			if set.Len() != 1 {
				t.Errorf("kept %d keys, want the good one only", set.Len())
			}
			if len(skipped) != 1 || !skipped[0].Unsafe || !strings.Contains(skipped[0].Reason, tt.reason) {
				t.Fatalf("skipped %+v, want one unsafe key with a reason containing %q", skipped, tt.reason)
			}
		})
	}
	// A merely unusable key is not unsafe.
	_, skipped, _ := Parse(jwks(rsaJWK("good", pub, ""), rsaJWK("enc", pub, `,"use":"enc"`)))
	if len(skipped) != 1 || skipped[0].Unsafe {
		t.Errorf("use=enc key: skipped %+v, want one key, not unsafe", skipped)
	}
}

func okpJWK(hexX string) string {
	x, err := hex.DecodeString(hexX)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","kid":"k","x":%q}`, b64u(x))
}

// rocaModulus makes a 2048-bit modulus of two primes of the form that
// Infineon's library produced, k*M + (65537^a mod M), with M the product
// of the fingerprint's primes.
func rocaModulus(t *testing.T) *big.Int {
	t.Helper()
	m := big.NewInt(1)
	for _, r := range rocaPrimes {
		m.Mul(m, big.NewInt(int64(r)))
	}
	// Primes in [2^1024 * 181/256, 2^1024): the product of two has 2048 bits.
	top := new(big.Int).Lsh(big.NewInt(1), 1024)
	lo := new(big.Int).Div(new(big.Int).Mul(top, big.NewInt(181)), big.NewInt(256))
	kLo := new(big.Int).Div(lo, m)
	kSpan := new(big.Int).Sub(new(big.Int).Div(top, m), kLo)
	prime := func() *big.Int {
		for {
			a, _ := rand.Int(rand.Reader, big.NewInt(1<<40))
			k, _ := rand.Int(rand.Reader, kSpan)
			k.Add(k, kLo)
			p := new(big.Int).Mul(k, m)
			p.Add(p, new(big.Int).Exp(big.NewInt(rocaGenerator), a, m))
			if p.Cmp(lo) >= 0 && p.Cmp(top) < 0 && p.ProbablyPrime(20) {
				return p
			}
		}
	}
	n := new(big.Int).Mul(prime(), prime())
	if n.BitLen() != 2048 {
		t.Fatalf("ROCA-form modulus of %d bits", n.BitLen())
	}
	return n
}

// TestROCAFingerprint: moduli of that form match, ordinary RSA keys do not.
func TestROCAFingerprint(t *testing.T) {
	testKeys(t)
	for range 3 {
		if n := rocaModulus(t); !hasROCAFingerprint(n.Bytes()) {
			t.Fatalf("ROCA-form modulus %x not recognised", n)
		}
	}
	for i, k := range []*rsa.PrivateKey{rsa2048, rsa2048b, rsa1024} {
		if hasROCAFingerprint(k.N.Bytes()) {
			t.Errorf("ordinary key %d has the ROCA fingerprint", i)
		}
	}
	// The fingerprint is rare: about 2^-150 of moduli; none of a few
	// thousand random odd numbers has it.
	for range 5000 {
		b := make([]byte, 256)
		rand.Read(b)
		b[0] |= 0x80
		b[255] |= 1
		if hasROCAFingerprint(b) {
			t.Fatalf("random number %x has the ROCA fingerprint", b)
		}
	}
}
