//go:build !edgejwt_no_ecdsa

package verifier

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestRawToDER compares our DER encoder with encoding/asn1 on edge values:
// leading zero bytes, high bits set, and the largest P-384 values.
func TestRawToDER(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type sig struct{ R, S *big.Int }
	values := [][]byte{
		{0x01},
		{0x7f},
		{0x80},
		{0xff},
		{0x00, 0x80},
		{0x00, 0x00, 0x01},
		bytes.Repeat([]byte{0xff}, 32),
		bytes.Repeat([]byte{0xff}, 48),
		append([]byte{0x00}, bytes.Repeat([]byte{0xff}, 47)...),
	}
	for range 200 {
		b := make([]byte, 1+rng.IntN(48))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if rng.IntN(4) == 0 {
			b[0] = 0
		}
		values = append(values, b)
	}
	for _, r := range values {
		for _, s := range values[:12] {
			var buf [maxDERSignature]byte
			got := rawToDER(buf[:0], r, s)
			R, S := new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)
			if R.Sign() == 0 || S.Sign() == 0 {
				if got != nil {
					t.Fatalf("zero r or s encoded: %x", got)
				}
				continue
			}
			want, err := asn1.Marshal(sig{R, S})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("rawToDER(%x, %x) = %x, want %x", r, s, got, want)
			}
			if len(got) > maxDERSignature {
				t.Fatalf("%d bytes exceed maxDERSignature", len(got))
			}
		}
	}
	var buf [maxDERSignature]byte
	if rawToDER(buf[:0], []byte{0, 0}, []byte{1}) != nil {
		t.Fatal("all-zero r encoded")
	}
}
