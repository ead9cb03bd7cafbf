package verifier

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// The published examples of RFC 7515 (JWS) appendix A and RFC 7520 (JOSE
// Cookbook) section 4, as fixed vectors with the keys the RFCs give. Values
// are written as the RFCs print them, wrapped lines joined.
//
// RFC 7515 A.2 and A.3 are JWTs ({"iss":"joe","exp":1300819380,...}, with
// CRLF and spaces inside the JSON), so they go through Parse and Verify at a
// fixed time before their exp. The RFC 7520 payload is a quotation, not a
// JSON object, so Parse refuses those tokens as malformed; their signatures
// are checked one level down, with verifySignature, to show that the crypto
// accepts exactly what the RFC published.

// rfc7515Claims is BASE64URL of the payload of RFC 7515 A.1 to A.3, A.5.
const rfc7515Claims = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" +
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

// RFC 7515 A.2: RS256, and the RSA key of A.2.1 (public part).
const (
	rfc7515A2 = "eyJhbGciOiJSUzI1NiJ9." + rfc7515Claims + "." +
		"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7" +
		"AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4" +
		"BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K" +
		"0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv" +
		"hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB" +
		"p0igcN_IoypGlUPQGe77Rw"
	rfc7515A2N = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx" +
		"HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs" +
		"D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH" +
		"SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV" +
		"MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8" +
		"NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
	rfc7515A2E = "AQAB"
)

// RFC 7515 A.3: ES256, and the P-256 key of A.3.1 (public part).
const (
	rfc7515A3 = "eyJhbGciOiJFUzI1NiJ9." + rfc7515Claims + "." +
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	rfc7515A3X = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
	rfc7515A3Y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
)

// RFC 7515 A.4: ES512 over the payload "Payload", and its P-521 key.
const (
	rfc7515A4 = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA." +
		"AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZq" +
		"wqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp" +
		"EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
	rfc7515A4X = "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk"
	rfc7515A4Y = "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"
)

// RFC 7515 A.5: an Unsecured JWS ({"alg":"none"}, empty signature).
const rfc7515A5 = "eyJhbGciOiJub25lIn0." + rfc7515Claims + "."

// RFC 7520 section 4: the payload (Figure 8), the RSA key (Figure 3), the
// P-521 key (Figure 1), and the four compact serializations.
const (
	rfc7520Payload = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IH" +
		"lvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBk" +
		"b24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcm" +
		"UgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
	rfc7520N = "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT" +
		"-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqV" +
		"wGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-" +
		"oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde" +
		"3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuC" +
		"LqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5g" +
		"HdrNP5zw"
	rfc7520E    = "AQAB"
	rfc7520P521 = "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9" +
		"A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt"
	rfc7520P521Y = "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVy" +
		"SsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"

	// 4.1, Figure 13: RS256.
	rfc7520RS256 = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZX" +
		"hhbXBsZSJ9." + rfc7520Payload + "." +
		"MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmK" +
		"ZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4J" +
		"IwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8w" +
		"W1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluP" +
		"xUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_f" +
		"cIe8u9ipH84ogoree7vjbU5y18kDquDg"
	// 4.2, Figure 20: PS384.
	rfc7520PS384 = "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZX" +
		"hhbXBsZSJ9." + rfc7520Payload + "." +
		"cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2I" +
		"pN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXU" +
		"vdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRX" +
		"e8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT" +
		"0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a" +
		"6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw"
	// 4.3, Figure 27: ES512.
	rfc7520ES512 = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZX" +
		"hhbXBsZSJ9." + rfc7520Payload + "." +
		"AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvb" +
		"u9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kv" +
		"AD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2"
	// 4.4, Figure 34: HS256 with the symmetric key of Figure 5.
	rfc7520HS256 = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LW" +
		"VlZjMxNGJjNzAzNyJ9." + rfc7520Payload + "." +
		"s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
)

func b64int(t *testing.T, s string) *big.Int {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		t.Fatalf("%.20s...: %v", s, err)
	}
	return new(big.Int).SetBytes(b)
}

func rsaJWK(t *testing.T, n, e string) *rsa.PublicKey {
	t.Helper()
	return &rsa.PublicKey{N: b64int(t, n), E: int(b64int(t, e).Int64())}
}

func ecJWK(t *testing.T, c elliptic.Curve, x, y string) *ecdsa.PublicKey {
	t.Helper()
	pub := &ecdsa.PublicKey{Curve: c, X: b64int(t, x), Y: b64int(t, y)}
	if !c.IsOnCurve(pub.X, pub.Y) {
		t.Fatalf("RFC key not on %s", c.Params().Name)
	}
	return pub
}

// rfc7515Verifier verifies the RFC 7515 JWTs an hour before their exp.
func rfc7515Verifier(t *testing.T, alg string) *Verifier {
	t.Helper()
	v, err := New(Options{
		Issuer:            "joe",
		Algorithms:        []string{alg},
		RequireExpiration: true,
		Now:               func() time.Time { return time.Unix(1300819380, 0).Add(-time.Hour) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRFC7515Examples(t *testing.T) {
	rsaKey := keyOf(&Key{}, rsaJWK(t, rfc7515A2N, rfc7515A2E))
	ecKey := keyOf(&Key{}, ecJWK(t, elliptic.P256(), rfc7515A3X, rfc7515A3Y))
	p521 := keyOf(&Key{}, ecJWK(t, elliptic.P521(), rfc7515A4X, rfc7515A4Y))

	t.Run("A.2 RS256", func(t *testing.T) {
		tok, err := Parse(rfc7515A2, 0)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := rfc7515Verifier(t, "RS256").Verify(tok, fixedKey(rsaKey))
		if err != nil {
			t.Fatalf("the RFC's RS256 JWS is refused: %v", err)
		}
		if !claims.Get(`http://example\.com/is_root`).Bool() || claims.Get("iss").String() != "joe" {
			t.Errorf("claims %s", claims.JSON())
		}
		// The same token now: expired since 2011.
		v, _ := New(Options{Issuer: "joe", Algorithms: []string{"RS256"}, RequireExpiration: true})
		if _, err := v.Verify(tok, fixedKey(rsaKey)); !errors.Is(err, ErrExpired) {
			t.Errorf("at the real time: %v, want %v", err, ErrExpired)
		}
		// One bit of the signature changed.
		bad, err := Parse(flipSegmentBit(rfc7515A2, 2), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rfc7515Verifier(t, "RS256").Verify(bad, fixedKey(rsaKey)); !errors.Is(err, ErrBadSignature) {
			t.Errorf("altered signature: %v", err)
		}
	})

	t.Run("A.3 ES256", func(t *testing.T) {
		tok, err := Parse(rfc7515A3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rfc7515Verifier(t, "ES256").Verify(tok, fixedKey(ecKey)); err != nil {
			t.Fatalf("the RFC's ES256 JWS is refused: %v", err)
		}
		// The RS256 key for it: a key of the wrong type is no key.
		if _, err := rfc7515Verifier(t, "ES256").Verify(tok, fixedKey(rsaKey)); !errors.Is(err, ErrUnknownKID) {
			t.Errorf("RSA key for ES256: %v", err)
		}
	})

	t.Run("A.4 ES512 refused", func(t *testing.T) {
		// As published, the payload is the string "Payload": not a JWT.
		if _, err := Parse(rfc7515A4, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("A.4 as published: %v, want %v", err, ErrMalformed)
		}
		// Its header over a JWT payload: ES512 is not supported, whatever
		// the allow-list and before any key is looked up.
		tok, err := Parse(replaceSegment(rfc7515A4, 1, rfc7515Claims), 0)
		if err != nil {
			t.Fatal(err)
		}
		consulted := false
		keys := keySourceFunc(func(string, string) (*Key, error) { consulted = true; return p521, nil })
		if _, err := newVerifier(t, nil).Verify(tok, keys); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("ES512: %v, want %v", err, ErrUnsupportedAlg)
		}
		if consulted {
			t.Error("key source consulted for ES512")
		}
		if _, err := New(Options{Issuer: "joe", Algorithms: []string{"ES512"}}); err == nil {
			t.Error("ES512 accepted in the allow-list")
		}
	})

	t.Run("A.5 unsecured refused", func(t *testing.T) {
		if _, err := Parse(rfc7515A5, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("A.5 as published: %v, want %v", err, ErrMalformed)
		}
		tok, err := Parse(rfc7515A5+"c2ln", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rfc7515Verifier(t, "RS256").Verify(tok, fixedKey(rsaKey)); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("alg none with a signature: %v", err)
		}
	})
}

func TestRFC7520Examples(t *testing.T) {
	rsaPub := rsaJWK(t, rfc7520N, rfc7520E)
	p521 := ecJWK(t, elliptic.P521(), rfc7520P521, rfc7520P521Y)
	if rsaPub.N.BitLen() != 2048 {
		t.Fatalf("RFC 7520 RSA key has %d bits", rsaPub.N.BitLen())
	}
	split := func(tok string) (input, sig []byte) {
		i := strings.LastIndexByte(tok, '.')
		s, err := base64.RawURLEncoding.Strict().DecodeString(tok[i+1:])
		if err != nil {
			t.Fatal(err)
		}
		return []byte(tok[:i]), s
	}

	for _, tc := range []struct {
		name string
		tok  string
		alg  algorithm
	}{
		{"4.1 RS256", rfc7520RS256, algRS256},
		{"4.2 PS384", rfc7520PS384, algPS384},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input, sig := split(tc.tok)
			if err := checkKey(tc.alg, keyOf(&Key{}, rsaPub)); err != nil {
				t.Fatalf("the RFC key does not fit %v: %v", tc.alg, err)
			}
			if err := verifySignature(tc.alg, keyOf(&Key{}, rsaPub), input, sig); err != nil {
				t.Errorf("the RFC's %v signature is refused: %v", tc.alg, err)
			}
			input[len(input)-1] ^= 1
			if err := verifySignature(tc.alg, keyOf(&Key{}, rsaPub), input, sig); !errors.Is(err, ErrBadSignature) {
				t.Errorf("altered input: %v", err)
			}
			// The payload is a quotation, not a claims set: no JWT.
			if _, err := Parse(tc.tok, 0); !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse: %v, want %v", err, ErrMalformed)
			}
		})
	}

	t.Run("4.3 ES512 refused", func(t *testing.T) {
		if _, err := Parse(rfc7520ES512, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse: %v", err)
		}
		if lookupAlgorithm("ES512") != algUnknown {
			t.Error("ES512 is supported")
		}
		tok, err := Parse(replaceSegment(rfc7520ES512, 1, rfc7515Claims), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newVerifier(t, nil).Verify(tok, fixedKey(keyOf(&Key{}, p521))); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("ES512 header on a JWT: %v", err)
		}
	})

	t.Run("4.4 HS256 refused", func(t *testing.T) {
		if _, err := Parse(rfc7520HS256, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse: %v", err)
		}
		tok, err := Parse(replaceSegment(rfc7520HS256, 1, rfc7515Claims), 0)
		if err != nil {
			t.Fatal(err)
		}
		// Whatever key the source offers, even the RSA public key.
		if _, err := newVerifier(t, nil).Verify(tok, fixedKey(keyOf(&Key{}, rsaPub))); !errors.Is(err, ErrUnsupportedAlg) {
			t.Errorf("HS256 header on a JWT: %v", err)
		}
		if _, err := New(Options{Issuer: "joe", Algorithms: []string{"HS256"}}); err == nil {
			t.Error("HS256 accepted in the allow-list")
		}
	})
}

// flipSegmentBit flips the lowest bit of the first byte of segment i.
func flipSegmentBit(tok string, i int) string {
	seg := segment(tok, i)
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		panic(err)
	}
	b[0] ^= 1
	return replaceSegment(tok, i, base64.RawURLEncoding.EncodeToString(b))
}
