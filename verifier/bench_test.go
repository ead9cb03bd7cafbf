package verifier

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgejwt/edgejwt/internal/testkeys"
)

func benchToken(b *testing.B, alg string) string {
	b.Helper()
	return testkeys.Get().Token(alg, hdr(alg), claimsJSON(`"scope":"read write","realm_access":{"roles":["a","b"]}`))
}

func BenchmarkParse(b *testing.B) {
	raw := benchToken(b, "RS256")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkVerify(b *testing.B, alg string) {
	raw := benchToken(b, alg)
	v := newVerifier(b, nil)
	keys := fixedKey(keyOf(&Key{ID: "k1"}, testkeys.Get().Public(alg)))
	tok, err := Parse(raw, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok, keys); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, "RS256") }
func BenchmarkVerifyPS256(b *testing.B) { benchmarkVerify(b, "PS256") }
func BenchmarkVerifyES256(b *testing.B) { benchmarkVerify(b, "ES256") }
func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkVerify(b, "EdDSA") }

// BenchmarkParseVerifyRS256 is the whole request path for one token.
func BenchmarkParseVerifyRS256(b *testing.B) {
	raw := benchToken(b, "RS256")
	v := newVerifier(b, nil)
	keys := fixedKey(keyOf(&Key{}, testkeys.Get().Public("RS256")))
	b.ReportAllocs()
	for b.Loop() {
		tok, err := Parse(raw, 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.Verify(tok, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseGarbage measures how cheaply junk is turned away.
func BenchmarkParseGarbage(b *testing.B) {
	raw := benchToken(b, "RS256")
	junk := raw[:len(raw)/2] + "!" + raw[len(raw)/2:]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(junk, 0); err == nil {
			b.Fatal("accepted junk")
		}
	}
}

// BenchmarkParseHostile measures Parse on maximum-size payloads built to be
// slow: they are all handled before any signature check.
func BenchmarkParseHostile(b *testing.B) {
	fill := func(prefix, unit, suffix string) string {
		// Largest payload whose token fits in DefaultMaxSize.
		p := prefix
		for len(enc(`{"alg":"RS256"}`))+1+len(enc(p+unit+suffix))+1+4 <= DefaultMaxSize {
			p += unit
		}
		return unsigned(`{"alg":"RS256"}`, p+suffix, "c2ln")
	}
	members := func() string {
		p, i := `{"a":0`, 0
		for {
			next := p + fmt.Sprintf(`,"m%x":0`, i)
			if len(enc(`{"alg":"RS256"}`))+1+len(enc(next+"}"))+1+4 > DefaultMaxSize {
				return unsigned(`{"alg":"RS256"}`, p+"}", "c2ln")
			}
			p, i = next, i+1
		}
	}
	cases := []struct{ name, raw string }{
		{"many members", members()},
		{"deep nesting", fill(`{"a":`, "[", "")}, // refused by the depth limit
		{"repeated members at the depth limit", fill(`{"a":0`, `,"b":`+strings.Repeat("[", maxDepth-1)+strings.Repeat("]", maxDepth-1), "}")},
		{"escaped duplicate name", fill(`{"\u0061":0`, `,"\u0062\u0063":0`, "}")},
		{"long string", fill(`{"a":"`, `\u00e9`, `"}`)},
	}
	for _, c := range cases {
		if len(c.raw) > DefaultMaxSize {
			b.Fatalf("%s: %d bytes", c.name, len(c.raw))
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Parse(c.raw, 0)
			}
		})
	}
}
