package jwkscache

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
	"github.com/edgejwt/edgejwt/verifier"
)

var (
	rsa2048  *rsa.PrivateKey
	rsa2048b *rsa.PrivateKey
	rsa1024  *rsa.PrivateKey
	p256     *ecdsa.PrivateKey
	p384     *ecdsa.PrivateKey
	edPub    ed25519.PublicKey
	keysOnce sync.Once
)

// testKeys takes the shared test keys, plus a second RSA key for rotation.
func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		k := testkeys.Get()
		rsa2048, rsa1024, p256, p384 = k.RSA, k.RSA1024, k.P256, k.P384
		edPub = k.Ed25519.Public().(ed25519.PublicKey)
		var err error
		if rsa2048b, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
}

func b64u(b []byte) string { return testkeys.Encode(b) }

func rsaJWK(kid string, k *rsa.PublicKey, extra string) string { return testkeys.JWK(kid, k, extra) }

func ecJWK(kid string, k *ecdsa.PublicKey) string { return testkeys.JWK(kid, k, "") }

func jwks(keys ...string) []byte { return []byte(testkeys.JWKS(keys...)) }

func TestParseKeepsGoodKeysAndSkipsBadOnes(t *testing.T) {
	testKeys(t)
	pub := &rsa2048.PublicKey
	doc := jwks(
		rsaJWK("good-rsa", pub, `,"use":"sig","alg":"RS256"`),
		ecJWK("good-p256", &p256.PublicKey),
		ecJWK("good-p384", &p384.PublicKey),
		fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","kid":"good-ed","x":%q}`, b64u(edPub)),
		rsaJWK("short", &rsa1024.PublicKey, ""),
		rsaJWK("enc", pub, `,"use":"enc"`),
		rsaJWK("ops", pub, `,"key_ops":["encrypt"]`),
		rsaJWK("good-rsa", &rsa2048b.PublicKey, ""), // duplicate kid
		rsaJWK("alg-mismatch", pub, `,"alg":"ES256"`),
		fmt.Sprintf(`{"kty":"RSA","kid":"even-e","n":%q,"e":"AQAA"}`, b64u(pub.N.Bytes())),
		fmt.Sprintf(`{"kty":"RSA","kid":"e-leading-zero","n":%q,"e":"AAEAAQ"}`, b64u(pub.N.Bytes())),
		fmt.Sprintf(`{"kty":"RSA","kid":"n-leading-zero","n":%q,"e":"AQAB"}`, b64u(append([]byte{0}, pub.N.Bytes()...))),
		fmt.Sprintf(`{"kty":"RSA","kid":"n-padded","n":%q,"e":"AQAB"}`, base64.URLEncoding.EncodeToString(pub.N.Bytes())),
		fmt.Sprintf(`{"kty":"RSA","kid":"n-newline","n":%q,"e":"AQAB"}`, b64u(pub.N.Bytes())[:10]+"\n"+b64u(pub.N.Bytes())[10:]),
		`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`,
		`{"kty":"oct","kid":"oct-no-k"}`,
		`{"kid":"no-kty"}`,
		fmt.Sprintf(`{"kty":"EC","kid":"off-curve","crv":"P-256","x":%q,"y":%q}`, b64u(make([]byte, 32)), b64u(make([]byte, 32))),
		fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","kid":"short-ed","x":%q}`, b64u(edPub[:31])),
		fmt.Sprintf(`{"kty":"OKP","crv":"X25519","kid":"x25519","x":%q}`, b64u(edPub)),
		rsaJWK("kid-twice", pub, `,"kid":"other"`),
		`{"kty":"RSA","kid":"n-number","n":5,"e":"AQAB"}`,
		`"not an object"`,
	)
	set, skipped, err := Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 4 {
		t.Errorf("kept %d keys, want 4", set.Len())
	}
	want := map[string]string{
		"short":          "RSA modulus of 1024 bits",
		"enc":            "use is not sig",
		"ops":            "key_ops",
		"good-rsa":       "duplicate kid",
		"alg-mismatch":   "does not suit",
		"even-e":         "exponent",
		"e-leading-zero": "e is not a minimal",
		"n-leading-zero": "n is not a minimal",
		"n-padded":       "n is not a minimal",
		"n-newline":      "n is not a minimal",
		"hmac":           "private key members (k)",
		"oct-no-k":       "unsupported kty",
		"no-kty":         "no kty",
		"off-curve":      "not on the curve",
		"short-ed":       "32 bytes",
		"x25519":         "unsupported OKP curve",
		"kid-twice":      "appears more than once",
		"n-number":       "not a string",
		"":               "not a JSON object",
	}
	if len(skipped) != len(want) {
		t.Errorf("skipped %d keys, want %d: %v", len(skipped), len(want), skipped)
	}
	for _, s := range skipped {
		w, ok := want[s.KID]
		if !ok || !strings.Contains(s.Reason, w) {
			t.Errorf("skipped %v, want reason containing %q", s, w)
		}
	}
}

func TestParseRefusesDocuments(t *testing.T) {
	testKeys(t)
	good := rsaJWK("a", &rsa2048.PublicKey, "")
	tests := []struct {
		name string
		doc  []byte
		want string
	}{
		{"not json", []byte(`{"keys":[`), "not valid JSON"},
		{"array", []byte(`[` + good + `]`), "not a JSON object"},
		{"no keys", []byte(`{"key":[]}`), `no "keys"`},
		{"keys twice", []byte(`{"keys":[` + good + `],"keys":[]}`), "more than once"},
		{"keys not array", []byte(`{"keys":{}}`), "must be an array"},
		{"no usable key", jwks(rsaJWK("short", &rsa1024.PublicKey, "")), "no usable key"},
		{"empty", jwks(), "no usable key"},
		{"invalid utf-8", []byte("{\"keys\":[],\"x\":\"\xff\"}"), "not valid JSON"},
		{"too large", []byte(`{"keys":[],"pad":"` + strings.Repeat("a", MaxJWKSSize) + `"}`), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseBoundsKeyCount(t *testing.T) {
	testKeys(t)
	var keys []string
	for i := range MaxKeys + 5 {
		keys = append(keys, rsaJWK(fmt.Sprint("k", i), &rsa2048.PublicKey, ""))
	}
	set, skipped, err := Parse(jwks(keys...))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != MaxKeys || len(skipped) != 5 {
		t.Fatalf("kept %d, skipped %d", set.Len(), len(skipped))
	}
}

func TestKeySelection(t *testing.T) {
	testKeys(t)
	oneRSA, _, err := Parse(jwks(rsaJWK("r1", &rsa2048.PublicKey, ""), ecJWK("e1", &p256.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	twoRSA, _, err := Parse(jwks(rsaJWK("r1", &rsa2048.PublicKey, ""), rsaJWK("r2", &rsa2048b.PublicKey, `,"alg":"RS256"`)))
	if err != nil {
		t.Fatal(err)
	}
	pinned, _, err := Parse(jwks(rsaJWK("r1", &rsa2048.PublicKey, `,"alg":"PS256"`)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		set      *KeySet
		kid, alg string
		wantKID  string // "" means ErrUnknownKID
	}{
		{"kid match", oneRSA, "r1", "RS256", "r1"},
		{"kid match PS", oneRSA, "r1", "PS512", "r1"},
		{"kid of wrong type", oneRSA, "e1", "RS256", ""},
		{"kid EC", oneRSA, "e1", "ES256", "e1"},
		{"EC curve mismatch", oneRSA, "e1", "ES384", ""},
		{"unknown kid", oneRSA, "nope", "RS256", ""},
		{"no kid, one RSA key", oneRSA, "", "RS256", "r1"},
		{"no kid, one EC key", oneRSA, "", "ES256", "e1"},
		{"no kid, two RSA keys", twoRSA, "", "RS256", ""},
		{"no kid, alg narrows to one", twoRSA, "", "RS384", "r1"},
		{"jwk alg pins", pinned, "r1", "RS256", ""},
		{"jwk alg pins, match", pinned, "r1", "PS256", "r1"},
		{"no kid, nothing suits", oneRSA, "", "EdDSA", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.set.Key(tt.kid, tt.alg)
			if tt.wantKID == "" {
				if !errors.Is(err, verifier.ErrUnknownKID) {
					t.Fatalf("Key(%q, %q) = %v, %v; want ErrUnknownKID", tt.kid, tt.alg, k, err)
				}
				return
			}
			if err != nil || k.ID != tt.wantKID {
				t.Fatalf("Key(%q, %q) = %v, %v; want kid %q", tt.kid, tt.alg, k, err, tt.wantKID)
			}
		})
	}
}

// FuzzParse feeds arbitrary documents to the JWKS parser: it must never
// panic, and every key it keeps must be usable and never one of the keys
// that must not be trusted (unsafe.go).
func FuzzParse(f *testing.F) {
	testKeys(f)
	f.Add(jwks(rsaJWK("a", &rsa2048.PublicKey, `,"d":"AQAB","p":"AQAB"`), ecJWK("e", &p256.PublicKey)))
	f.Add(jwks(`{"kty":"oct","k":"c2VjcmV0"}`, `{"kty":"EC","crv":"P-256","d":"AQAB","x":"AQAB","y":"AQAB"}`))
	f.Add(jwks(fmt.Sprintf(`{"kty":"RSA","n":%q,"e":"AQAB"}`, b64u(rocaModulus(&testing.T{}).Bytes()))))
	f.Add(jwks(okpJWK("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
		okpJWK("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")))
	f.Add(jwks(rsaJWK("a", &rsa2048.PublicKey, "")))
	f.Add(jwks(ecJWK("e", &p256.PublicKey)))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"","e":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + b64u(make([]byte, 32)) + `"}]}`))
	f.Add([]byte(`{"keys":{"kty":"RSA"}}`))
	f.Add([]byte(`{"keys":[1,"a",null,[],{}]}`))
	f.Add([]byte("\xef\xbb\xbf{\"keys\":[]}"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		set, _, err := Parse(doc)
		if err != nil {
			return
		}
		if set.Len() == 0 || set.Len() > MaxKeys {
			t.Fatalf("kept %d keys", set.Len())
		}
		for _, k := range set.keys {
			if pub := k.RSA; pub != nil {
				if k.Public != nil {
					t.Fatalf("key with both an RSA key and a %T", k.Public)
				}
				if pub.BitLen() < MinRSABits || pub.E < 3 || pub.E%2 == 0 {
					t.Fatalf("unsafe RSA key kept: %d bits, e=%d", pub.BitLen(), pub.E)
				}
				if hasROCAFingerprint(pub.N) || smallFactor(pub.N) != 0 {
					t.Fatalf("factorable RSA modulus kept: %x", pub.N)
				}
				continue
			}
			switch pub := k.Public.(type) {
			case ed25519.PublicKey:
				if len(pub) != ed25519.PublicKeySize {
					t.Fatalf("Ed25519 key of %d bytes kept", len(pub))
				}
				if why := unsafeEd25519(pub); why != "" {
					t.Fatalf("Ed25519 key kept: %s", why)
				}
			case *ecdsa.PublicKey:
			default:
				t.Fatalf("key of type %T kept", pub)
			}
		}
	})
}
