//go:build !edgejwt_no_ecdsa

package hostcrypto

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

func init() { derTestAlgs = append(derTestAlgs, "ES256", "ES384") }

// The DER form must verify where the raw form does (crypto/ecdsa as the
// reference), including r or s with a leading zero or high bit.
func TestECDSASignatureDER(t *testing.T) {
	k := testkeys.Get()
	for _, alg := range []string{"ES256", "ES384"} {
		key := k.Private(alg).(*ecdsa.PrivateKey)
		size := (key.Curve.Params().BitSize + 7) / 8
		for i := range 64 {
			msg := []byte(fmt.Sprintf("message %d", i))
			raw, err := testkeys.Sign(key, alg, msg)
			if err != nil {
				t.Fatal(err)
			}
			der, ok := ECDSASignatureDER(raw, size)
			if !ok {
				t.Fatal("refused a signature of the right size")
			}
			h := sha256.Sum256(msg)
			digest := h[:]
			if alg == "ES384" {
				h := sha512.Sum384(msg)
				digest = h[:]
			}
			if !ecdsa.VerifyASN1(&key.PublicKey, digest, der) {
				t.Fatalf("%s: DER form of a valid signature does not verify", alg)
			}
		}
		if _, ok := ECDSASignatureDER(make([]byte, 2*size-1), size); ok {
			t.Error("accepted a short signature")
		}
	}
}
