//go:build !edgejwt_no_eddsa

package jwkscache

import (
	"encoding/hex"
	"math/big"
	"sort"
	"strings"
	"testing"
)

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
