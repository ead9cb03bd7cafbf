package hostcrypto

import (
	"bytes"
	"crypto/x509"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

// derTestAlgs are the algorithms whose keys the build turns into DER
// (ecdsa_test.go adds ES256 and ES384 when the build has ECDSA).
var derTestAlgs = []string{"RS256"}

// crypto/x509 is the reference for the hand-written DER (tests only: the
// filter does not link x509).
func TestPublicKeyDERMatchesX509(t *testing.T) {
	k := testkeys.Get()
	for _, alg := range derTestAlgs {
		pub := k.Public(alg)
		want, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if got := PublicKeyDER(pub); !bytes.Equal(got, want) {
			t.Errorf("%s: DER differs from x509's\n got %x\nwant %x", alg, got, want)
		}
	}
	if PublicKeyDER(k.Public("EdDSA")) != nil {
		t.Error("Ed25519 key encoded: Envoy's check cannot use it")
	}
}

func TestArgumentsGolden(t *testing.T) {
	got := Arguments("sha256", []byte{0xde, 0xad}, []byte{1, 2, 3}, []byte("a.b"))
	want := []byte{
		0x0a, 6, 's', 'h', 'a', '2', '5', '6',
		0x12, 2, 0xde, 0xad,
		0x1a, 3, 1, 2, 3,
		0x22, 3, 'a', '.', 'b',
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x\nwant %x", got, want)
	}
	long := Arguments("sha256", bytes.Repeat([]byte{7}, 300), nil, nil)
	if !bytes.Equal(long[8:11], []byte{0x12, 0xac, 0x02}) { // 300 as a varint
		t.Fatalf("length varint: %x", long[8:11])
	}
}

func TestResult(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		ok      bool
		errText string
		bad     bool
	}{
		{"true", []byte{0x08, 1}, true, "", false},
		{"false with error", []byte{0x08, 0, 0x12, 3, 'b', 'a', 'd'}, false, "bad", false},
		{"empty is false", nil, false, "", false},
		{"unknown fields skipped", []byte{0x18, 5, 0x25, 0, 0, 0, 0, 0x08, 1}, true, "", false},
		{"truncated varint", []byte{0x08}, false, "", true},
		{"length past end", []byte{0x12, 9, 'x'}, false, "", true},
		{"group wire type", []byte{0x0b}, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, errText, err := Result(tt.in)
			if (err != nil) != tt.bad || ok != tt.ok || errText != tt.errText {
				t.Fatalf("Result(%x) = %v, %q, %v", tt.in, ok, errText, err)
			}
		})
	}
}

func TestHashName(t *testing.T) {
	for alg, want := range map[string]string{"RS256": "sha256", "RS384": "sha384", "RS512": "sha512", "ES256": "sha256", "ES384": "sha384", "PS256": "", "EdDSA": "", "HS256": ""} {
		if got := HashName(alg); got != want {
			t.Errorf("HashName(%s) = %q, want %q", alg, got, want)
		}
	}
}

func FuzzResult(f *testing.F) {
	f.Add([]byte{0x08, 1})
	f.Add([]byte{0x12, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = Result(b) })
}
