package verifier

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

func TestVerifyEveryAlgorithm(t *testing.T) {
	k := testkeys.Get()
	for _, alg := range testkeys.Algorithms {
		t.Run(alg, func(t *testing.T) {
			raw := k.Token(alg, hdr(alg), validPayload)
			tok, err := Parse(raw, 0)
			if err != nil {
				t.Fatal(err)
			}
			v := newVerifier(t, func(o *Options) { o.Algorithms = []string{alg} })
			claims, err := v.Verify(tok, defaultKeys())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got := claims.Get("sub").String(); got != "alice" {
				t.Errorf("sub = %q", got)
			}
			if string(claims.JSON()) != validPayload {
				t.Errorf("JSON = %s", claims.JSON())
			}
			// The same token with the key's alg set explicitly.
			key := keyOf(&Key{ID: "k1", Algorithm: alg, Use: "sig"}, k.Public(alg))
			if _, err := v.Verify(tok, fixedKey(key)); err != nil {
				t.Fatalf("Verify with alg-tagged key: %v", err)
			}
		})
	}
}

// hmacToken signs header.payload with HS256 using secret.
func hmacToken(header, payload string, secret []byte) string {
	input := enc(header) + "." + enc(payload)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + testkeys.Encode(m.Sum(nil))
}

// ecSig builds a raw ES256 signature from r and s.
func ecSig(r, s *big.Int, size int) string {
	b := make([]byte, 2*size)
	r.FillBytes(b[:size])
	s.FillBytes(b[size:])
	return testkeys.Encode(b)
}

func TestVerifyErrors(t *testing.T) {
	k := testkeys.Get()
	rsaPub := &k.RSA.PublicKey
	der, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	rs256 := k.Token("RS256", hdr("RS256"), validPayload)
	es256 := k.Token("ES256", hdr("ES256"), validPayload)
	ed := k.Token("EdDSA", hdr("EdDSA"), validPayload)
	input := func(tok string) []byte { return []byte(tok[:strings.LastIndexByte(tok, '.')]) }
	resign := func(tok string, sig []byte) string {
		return replaceSegment(tok, 2, testkeys.Encode(sig))
	}
	ps256 := k.Token("PS256", hdr("PS256"), validPayload)
	ps384 := k.Token("PS384", hdr("PS384"), validPayload)
	pssSalt0 := resign(ps256, testkeys.SignPSS(k.RSA, crypto.SHA256, input(ps256), 0))
	pssSaltMax := resign(ps256, testkeys.SignPSS(k.RSA, crypto.SHA256, input(ps256), rsa.PSSSaltLengthAuto))
	pssSalt48 := resign(ps384, testkeys.SignPSS(k.RSA, crypto.SHA384, input(ps384), 32))
	pssSaltEq := resign(ps256, testkeys.SignPSS(k.RSA, crypto.SHA256, input(ps256), 32))
	es256DER := resign(es256, testkeys.SignDER(k.P256, "ES256", input(es256)))
	es384DER := func() string {
		tok := k.Token("ES384", hdr("ES384"), validPayload)
		return resign(tok, testkeys.SignDER(k.P384, "ES384", input(tok)))
	}()
	n := k.P256.Curve.Params().N

	tamperedPayload := replaceSegment(rs256, 1, enc(strings.Replace(validPayload, "alice", "admin", 1)))
	flipSig := func(tok string) string {
		sig := []byte(segment(tok, 2))
		if sig[5] == 'A' {
			sig[5] = 'B'
		} else {
			sig[5] = 'A'
		}
		return replaceSegment(tok, 2, string(sig))
	}

	tests := []struct {
		name string
		raw  string
		algs []string // allow-list; nil means all supported
		keys KeySource
		want error
	}{
		// Algorithm policy.
		{name: "alg none unsigned", raw: unsigned(`{"alg":"none"}`, validPayload, "AA"), want: ErrUnsupportedAlg},
		{name: "alg None", raw: unsigned(`{"alg":"None"}`, validPayload, "AA"), want: ErrUnsupportedAlg},
		{name: "alg none empty signature", raw: unsigned(`{"alg":"none"}`, validPayload, ""), want: ErrMalformed},
		{name: "alg empty", raw: unsigned(`{"alg":""}`, validPayload, "AA"), want: ErrUnsupportedAlg},
		{name: "alg lower case", raw: unsigned(`{"alg":"rs256"}`, validPayload, segment(rs256, 2)), want: ErrUnsupportedAlg},
		{name: "ES512 unsupported", raw: unsigned(`{"alg":"ES512"}`, validPayload, "AA"), want: ErrUnsupportedAlg},
		{name: "HS256 with RSA PEM as secret", raw: hmacToken(`{"alg":"HS256"}`, validPayload, pemKey), want: ErrUnsupportedAlg},
		{name: "HS256 with RSA DER as secret", raw: hmacToken(`{"alg":"HS256"}`, validPayload, der), want: ErrUnsupportedAlg},
		{name: "HS256 with RSA modulus as secret", raw: hmacToken(`{"alg":"HS256"}`, validPayload, rsaPub.N.Bytes()), want: ErrUnsupportedAlg},
		{name: "HS256 key source returns bytes", raw: hmacToken(`{"alg":"HS256"}`, validPayload, der), keys: pubKey(der), want: ErrUnsupportedAlg},
		{name: "alg not in allow-list", raw: es256, algs: []string{"RS256"}, want: ErrUnsupportedAlg},
		{name: "default allow-list is RS256", raw: ed, algs: []string{}, want: ErrUnsupportedAlg},
		{name: "swapped alg RS256 to PS256", raw: replaceSegment(rs256, 0, enc(hdr("PS256"))), want: ErrBadSignature},
		{name: "swapped alg RS256 to RS512", raw: replaceSegment(rs256, 0, enc(hdr("RS512"))), want: ErrBadSignature},

		// Key lookup and key fit.
		{name: "unknown kid", raw: k.Token("RS256", `{"alg":"RS256","kid":"unknown"}`, validPayload), want: ErrUnknownKID},
		{name: "key source wraps ErrUnknownKID", raw: rs256, keys: keySourceFunc(func(kid, _ string) (*Key, error) {
			return nil, fmt.Errorf("jwks: %w (kid %.8q)", ErrUnknownKID, kid)
		}), want: ErrUnknownKID},
		{name: "key source other error", raw: rs256, keys: keySourceFunc(func(string, string) (*Key, error) {
			return nil, errors.New("jwks not loaded")
		}), want: ErrUnknownKID},
		{name: "key source wraps another sentinel", raw: rs256, keys: keySourceFunc(func(string, string) (*Key, error) {
			return nil, fmt.Errorf("odd: %w", ErrMalformed)
		}), want: ErrUnknownKID},
		{name: "key source returns nil key", raw: rs256, keys: fixedKey(nil), want: ErrUnknownKID},
		{name: "nil key source", raw: rs256, keys: KeySource(nil), want: ErrUnknownKID},
		{name: "key with nil public", raw: rs256, keys: fixedKey(&Key{}), want: ErrUnknownKID},
		{name: "key alg mismatch", raw: rs256, keys: fixedKey(keyOf(&Key{Algorithm: "PS256"}, rsaPub)), want: ErrUnknownKID},
		{name: "key alg case mismatch", raw: rs256, keys: fixedKey(keyOf(&Key{Algorithm: "rs256"}, rsaPub)), want: ErrUnknownKID},
		{name: "key use enc", raw: rs256, keys: fixedKey(keyOf(&Key{Use: "enc"}, rsaPub)), want: ErrUnknownKID},
		{name: "RS256 with EC key", raw: rs256, keys: pubKey(&k.P256.PublicKey), want: ErrUnknownKID},
		{name: "RS256 with Ed25519 key", raw: rs256, keys: pubKey(k.Ed25519.Public()), want: ErrUnknownKID},
		{name: "RS256 with RSA private key", raw: rs256, keys: pubKey(k.RSA), want: ErrUnknownKID},
		{name: "RS256 with rsa.PublicKey value", raw: rs256, keys: pubKey(*rsaPub), want: ErrUnknownKID},
		{name: "RS256 with nil *rsa.PublicKey", raw: rs256, keys: pubKey((*rsa.PublicKey)(nil)), want: ErrUnknownKID},
		{name: "RS256 with empty rsa key", raw: rs256, keys: pubKey(&rsa.PublicKey{E: 65537}), want: ErrUnknownKID},
		{name: "ES256 with P-384 key", raw: es256, keys: pubKey(&k.P384.PublicKey), want: ErrUnknownKID},
		{name: "ES256 with RSA key", raw: es256, keys: pubKey(rsaPub), want: ErrUnknownKID},
		{name: "ES256 with incomplete EC key", raw: es256, keys: pubKey(&ecdsa.PublicKey{Curve: elliptic.P256()}), want: ErrUnknownKID},
		{name: "ES256 with curveless EC key", raw: es256, keys: pubKey(&ecdsa.PublicKey{X: big.NewInt(1), Y: big.NewInt(1)}), want: ErrUnknownKID},
		{name: "ES256 with point not on curve", raw: es256, keys: pubKey(&ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}), want: ErrBadSignature},
		{name: "EdDSA with RSA key", raw: ed, keys: pubKey(rsaPub), want: ErrUnknownKID},
		{name: "EdDSA with 31-byte key", raw: ed, keys: pubKey(ed25519.PublicKey(make([]byte, 31))), want: ErrUnknownKID},
		{name: "EdDSA with 33-byte key", raw: ed, keys: pubKey(ed25519.PublicKey(make([]byte, 33))), want: ErrUnknownKID},
		{name: "EdDSA with private key bytes", raw: ed, keys: pubKey(ed25519.PublicKey(k.Ed25519)), want: ErrUnknownKID},
		{name: "EdDSA with nil key", raw: ed, keys: pubKey(ed25519.PublicKey(nil)), want: ErrUnknownKID},
		{name: "EdDSA with *ed25519.PublicKey", raw: ed, keys: pubKey(new(ed25519.PublicKey)), want: ErrUnknownKID},
		{name: "RSA-1024 key refused", raw: testkeys.SignToken(k.RSA1024, "RS256", hdr("RS256"), validPayload), keys: pubKey(&k.RSA1024.PublicKey), want: ErrUnknownKID},
		{name: "RSA-1024 key refused for PS256", raw: testkeys.SignToken(k.RSA1024, "PS256", hdr("PS256"), validPayload), keys: pubKey(&k.RSA1024.PublicKey), want: ErrUnknownKID},

		// Signatures.
		{name: "tampered payload", raw: tamperedPayload, want: ErrBadSignature},
		{name: "tampered RSA signature", raw: flipSig(rs256), want: ErrBadSignature},
		{name: "tampered ECDSA signature", raw: flipSig(es256), want: ErrBadSignature},
		{name: "tampered Ed25519 signature", raw: flipSig(ed), want: ErrBadSignature},
		{name: "RSA signature truncated", raw: replaceSegment(rs256, 2, segment(rs256, 2)[:40]), want: ErrBadSignature},
		{name: "signature from other key", raw: replaceSegment(es256, 2, segment(k.Token("ES256", hdr("ES256"), claimsJSON(`"x":1`)), 2)), want: ErrBadSignature},
		{name: "PS256 salt length 0", raw: pssSalt0, want: ErrBadSignature},
		{name: "PS256 maximum salt length", raw: pssSaltMax, want: ErrBadSignature},
		{name: "PS384 salt length 32", raw: pssSalt48, want: ErrBadSignature},
		{name: "PS256 salt length 32 explicit", raw: pssSaltEq},
		{name: "RS256 signature as PS256", raw: replaceSegment(ps256, 2, segment(k.Token("RS256", hdr("PS256"), validPayload), 2)), want: ErrBadSignature},
		{name: "ES256 DER signature", raw: es256DER, want: ErrBadSignature},
		{name: "ES384 DER signature", raw: es384DER, want: ErrBadSignature},
		{name: "ES256 signature too short", raw: replaceSegment(es256, 2, testkeys.Encode(make([]byte, 63))), want: ErrBadSignature},
		{name: "ES256 signature too long", raw: replaceSegment(es256, 2, segment(es256, 2)+"AA"), want: ErrBadSignature},
		{name: "ES256 zero signature", raw: replaceSegment(es256, 2, testkeys.Encode(make([]byte, 64))), want: ErrBadSignature},
		{name: "ES256 r zero", raw: replaceSegment(es256, 2, ecSig(big.NewInt(0), big.NewInt(1), 32)), want: ErrBadSignature},
		{name: "ES256 r = N", raw: replaceSegment(es256, 2, ecSig(n, big.NewInt(1), 32)), want: ErrBadSignature},
		{name: "ES256 all ones", raw: replaceSegment(es256, 2, testkeys.Encode([]byte(strings.Repeat("\xff", 64)))), want: ErrBadSignature},
		{name: "EdDSA signature too short", raw: replaceSegment(ed, 2, segment(ed, 2)[:80]), want: ErrBadSignature},
		{name: "EdDSA signature too long", raw: replaceSegment(ed, 2, segment(ed, 2)+"AA"), want: ErrBadSignature},
		{name: "signature valid but claims bad", raw: k.Token("RS256", hdr("RS256"), rawClaims(`"exp":1`)), want: ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse(tc.raw, 0)
			if err != nil {
				checkErr(t, err, tc.want, tc.raw)
				return
			}
			v := newVerifier(t, func(o *Options) {
				if tc.algs != nil {
					o.Algorithms = tc.algs
				}
			})
			keys := tc.keys
			if keys == nil && !strings.HasPrefix(tc.name, "nil key source") {
				keys = defaultKeys()
			}
			_, err = v.Verify(tok, keys)
			checkErr(t, err, tc.want, tc.raw)
		})
	}
}

// TestVerifyOrder checks that claims are not judged before the signature and
// the signature not before the alg policy.
func TestVerifyOrder(t *testing.T) {
	k := testkeys.Get()
	expired := rawClaims(`"exp":1`)
	badSig := replaceSegment(k.Token("RS256", hdr("RS256"), expired), 2, segment(k.Token("RS256", hdr("RS256"), validPayload), 2))
	tok, err := Parse(badSig, 0)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	keys := keySourceFunc(func(kid, alg string) (*Key, error) {
		called = true
		return keyOf(&Key{}, &k.RSA.PublicKey), nil
	})
	_, err = newVerifier(t, nil).Verify(tok, keys)
	checkErr(t, err, ErrBadSignature, badSig)

	called = false
	_, err = newVerifier(t, func(o *Options) { o.Algorithms = []string{"ES256"} }).Verify(tok, keys)
	checkErr(t, err, ErrUnsupportedAlg, badSig)
	if called {
		t.Fatal("key source consulted for a disallowed alg")
	}

	if _, err := newVerifier(t, nil).Verify(nil, keys); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil token: %v", err)
	}
}

// TestVerifyConcurrent shares one Verifier and one Token between
// goroutines; run with -race.
func TestVerifyConcurrent(t *testing.T) {
	k := testkeys.Get()
	v := newVerifier(t, nil)
	tok, err := Parse(k.Token("ES256", hdr("ES256"), validPayload), 0)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			c, err := v.Verify(tok, defaultKeys())
			if err == nil && c.Get("sub").String() != "alice" {
				err = errors.New("wrong claims")
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeySourceArguments(t *testing.T) {
	k := testkeys.Get()
	var gotKid, gotAlg string
	keys := keySourceFunc(func(kid, alg string) (*Key, error) {
		gotKid, gotAlg = kid, alg
		return keyOf(&Key{}, k.Public(alg)), nil
	})
	v := newVerifier(t, nil)
	for _, tc := range []struct{ header, kid string }{
		{`{"alg":"ES384","kid":"abc"}`, "abc"},
		{`{"alg":"ES384"}`, ""},
		{`{"alg":"ES384","kid":""}`, ""},
	} {
		tok, err := Parse(k.Token("ES384", tc.header, validPayload), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok, keys); err != nil {
			t.Fatal(err)
		}
		if gotKid != tc.kid || gotAlg != "ES384" {
			t.Fatalf("Key(%q, %q), want (%q, ES384)", gotKid, gotAlg, tc.kid)
		}
	}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{name: "minimal", opts: Options{Issuer: "i"}},
		{name: "all algorithms", opts: Options{Issuer: "i", Algorithms: testkeys.Algorithms}},
		{name: "no issuer", opts: Options{}, wantErr: true},
		{name: "none", opts: Options{Issuer: "i", Algorithms: []string{"none"}}, wantErr: true},
		{name: "NONE", opts: Options{Issuer: "i", Algorithms: []string{"RS256", "NONE"}}, wantErr: true},
		{name: "HS256", opts: Options{Issuer: "i", Algorithms: []string{"HS256"}}, wantErr: true},
		{name: "HS384", opts: Options{Issuer: "i", Algorithms: []string{"HS384"}}, wantErr: true},
		{name: "hs512", opts: Options{Issuer: "i", Algorithms: []string{"hs512"}}, wantErr: true},
		{name: "unknown", opts: Options{Issuer: "i", Algorithms: []string{"ES512"}}, wantErr: true},
		{name: "wrong case", opts: Options{Issuer: "i", Algorithms: []string{"eddsa"}}, wantErr: true},
		{name: "empty name", opts: Options{Issuer: "i", Algorithms: []string{""}}, wantErr: true},
		{name: "negative skew", opts: Options{Issuer: "i", ClockSkew: -1}, wantErr: true},
		{name: "negative max lifetime", opts: Options{Issuer: "i", MaxLifetime: -1}, wantErr: true},
		{name: "empty audience", opts: Options{Issuer: "i", Audiences: []string{"a", ""}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.opts)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New error = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && v == nil {
				t.Fatal("nil Verifier")
			}
		})
	}
}

func TestNewCopiesAudiences(t *testing.T) {
	k := testkeys.Get()
	auds := []string{"api"}
	v, err := New(Options{Issuer: testIssuer, Audiences: auds, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	auds[0] = "other"
	tok, _ := Parse(k.Token("RS256", hdr("RS256"), validPayload), 0)
	if _, err := v.Verify(tok, defaultKeys()); err != nil {
		t.Fatalf("changing the caller's slice changed the Verifier: %v", err)
	}
}

func TestReason(t *testing.T) {
	for _, s := range sentinels {
		if got := Reason(s); got != s.Error() {
			t.Errorf("Reason(%v) = %q", s, got)
		}
		wrapped := fmt.Errorf("outer: %w", fmt.Errorf("%w: detail", s))
		if got := Reason(wrapped); got != s.Error() {
			t.Errorf("Reason(wrapped %v) = %q", s, got)
		}
		if len(s.Error()) > 40 || strings.ContainsAny(s.Error(), "\"\r\n") {
			t.Errorf("reason %q is not short and header-safe", s.Error())
		}
	}
	if got := Reason(errors.New("boom")); got != "invalid token" {
		t.Errorf("Reason(unknown) = %q", got)
	}
	if got := Reason(nil); got != "" {
		t.Errorf("Reason(nil) = %q", got)
	}
}

func TestSupportedAlgorithms(t *testing.T) {
	got := strings.Join(SupportedAlgorithms(), ",")
	want := strings.Join(testkeys.Algorithms, ",")
	if got != want {
		t.Fatalf("SupportedAlgorithms = %s, want %s", got, want)
	}
}

func mustParse(t *testing.T, raw string) *Token {
	t.Helper()
	tok, err := Parse(raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSignatureChecker(t *testing.T) {
	k := testkeys.Get()
	now := time.Unix(1_700_000_000, 0)
	payload := fmt.Sprintf(`{"iss":"iss","exp":%d}`, now.Add(time.Hour).Unix())
	good := mustParse(t, k.Token("RS256", `{"alg":"RS256","kid":"r"}`, payload))
	forged := mustParse(t, testkeys.SignToken(k.RSA1024, "RS256", `{"alg":"RS256","kid":"r"}`, payload))
	es := mustParse(t, k.Token("ES256", `{"alg":"ES256","kid":"e"}`, payload))
	keys := keySourceFunc(func(kid, _ string) (*Key, error) {
		if kid == "e" {
			return keyOf(&Key{ID: "e"}, k.Public("ES256")), nil
		}
		return keyOf(&Key{ID: "r"}, k.Public("RS256")), nil
	})
	tests := []struct {
		name      string
		tok       *Token
		valid     bool // what the checker says
		handled   bool
		wantErr   error
		wantCalls int
	}{
		{"host says valid", forged, true, true, nil, 1},
		{"host says invalid", good, false, true, ErrBadSignature, 1},
		{"host declines, Go verifies", good, false, false, nil, 1},
		{"host declines, Go refuses", forged, true, false, ErrBadSignature, 1},
		{"other algorithm still asked", es, false, false, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v, err := New(Options{Issuer: "iss", Algorithms: []string{"RS256", "ES256"}, Now: func() time.Time { return now },
				Signatures: func(alg string, key *Key, input, sig []byte) (bool, bool) {
					calls++
					if key == nil || len(input) == 0 || len(sig) == 0 {
						t.Errorf("checker called with key %v, %d input bytes, %d signature bytes", key, len(input), len(sig))
					}
					return tt.valid, tt.handled
				}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(tt.tok, keys)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("checker called %d times, want %d", calls, tt.wantCalls)
			}
		})
	}
}
