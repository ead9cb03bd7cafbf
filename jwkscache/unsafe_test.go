package jwkscache

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
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

// TestEd25519SmallOrderList derives the torsion subgroup of edwards25519
// with math/big and checks that the block list holds exactly its eight
// canonical encodings, plus the two x = 0 encodings with the sign bit set.
func TestEd25519SmallOrderList(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	inv := func(x *big.Int) *big.Int { return new(big.Int).ModInverse(x, p) }
	mul := func(a, b *big.Int) *big.Int { return new(big.Int).Mod(new(big.Int).Mul(a, b), p) }
	d := mul(new(big.Int).Neg(big.NewInt(121665)), inv(big.NewInt(121666)))
	type point struct{ x, y *big.Int }
	add := func(a, b point) point {
		t := mul(d, mul(mul(a.x, b.x), mul(a.y, b.y)))
		x := mul(new(big.Int).Add(mul(a.x, b.y), mul(a.y, b.x)), inv(new(big.Int).Add(big.NewInt(1), t)))
		y := mul(new(big.Int).Add(mul(a.y, b.y), mul(a.x, b.x)), inv(new(big.Int).Sub(big.NewInt(1), t)))
		return point{x, y}
	}
	encode := func(q point) string {
		b := q.y.FillBytes(make([]byte, 32))
		for i, j := 0, 31; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		b[31] |= byte(q.x.Bit(0)) << 7
		return hex.EncodeToString(b)
	}
	// Take curve points (x from y) and multiply each by the prime order L
	// of the main subgroup: what is left lies in the torsion subgroup; the
	// first result of order 8 generates it.
	var gen point
	for y := int64(2); ; y++ {
		yy := big.NewInt(y)
		// x^2 = (y^2 - 1) / (d y^2 + 1)
		num := new(big.Int).Sub(mul(yy, yy), big.NewInt(1))
		den := new(big.Int).Add(mul(d, mul(yy, yy)), big.NewInt(1))
		x := new(big.Int).ModSqrt(mul(num, inv(den)), p)
		if x == nil {
			continue
		}
		q := point{x, yy}
		l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
		r := point{big.NewInt(0), big.NewInt(1)}
		for i := l.BitLen() - 1; i >= 0; i-- {
			r = add(r, r)
			if l.Bit(i) == 1 {
				r = add(r, q)
			}
		}
		// r has order 8 when 4r is not the identity.
		r4 := add(add(r, r), add(r, r))
		if r4.x.Sign() != 0 || r4.y.Cmp(big.NewInt(1)) != 0 {
			gen = r
			break
		}
	}
	var want []string
	q := point{big.NewInt(0), big.NewInt(1)}
	for range 8 {
		want = append(want, encode(q))
		q = add(q, gen)
	}
	if q.x.Sign() != 0 || q.y.Cmp(big.NewInt(1)) != 0 {
		t.Fatal("the generator found does not have order 8")
	}
	want = append(want, "0100000000000000000000000000000000000000000000000000000000000080",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	got := append([]string(nil), ed25519SmallOrder[:]...)
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("block list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
